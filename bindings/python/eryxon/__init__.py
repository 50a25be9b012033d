"""Python binding of eryxon, the embeddable MES/ERP connectivity core.

A thin ctypes layer over the C ABI (``eryxon/eryxon.h``)::

    import eryxon

    with eryxon.Store.open() as store:          # in memory; or a SQLite path
        tenant = store.create_tenant("Acme Sheet Metal", plan="pro")
        store.seed_demo(tenant["id"])
        key = store.create_key(tenant["id"], "agent")
        result = store.call_tool(key, "fetch_jobs", {"status": "in_progress"})
        print(result["pagination"]["total"])

Failures raise a subclass of :class:`EryxonError` (see ``_errors``); a tool
that ran and failed also carries its parsed result in ``.result``.

Events: ``eryxon.Dispatcher(store)`` delivers the store's domain events to
webhook and MQTT endpoints and to in-process subscriptions (see ``events``).

Thread safety: a Store may be used from several threads at once (ctypes
releases the GIL during calls). ``close()`` waits for calls in flight.
"""

from __future__ import annotations

import json
import os
import weakref
from ctypes import POINTER, byref, c_void_p
from typing import Any, Dict, Iterable, Mapping, Optional, Union

from . import _native
from ._handle import HandleLease
from ._errors import (
    AuthenticationError,
    Conflict,
    DatabaseError,
    Duplicate,
    EryxonError,
    InternalError,
    InvalidArgument,
    InvalidStateTransition,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    UnknownTool,
    error_for_status,
    status_name,
)

__version__ = "0.1.0"

#: Version of the loaded native library as (major, minor, patch).
library_version = _native.library_version

__all__ = [
    "Store",
    "EryxonError",
    "InvalidArgument",
    "NotFound",
    "Duplicate",
    "InvalidStateTransition",
    "PermissionDenied",
    "AuthenticationError",
    "RateLimited",
    "QuotaExceeded",
    "Conflict",
    "DatabaseError",
    "InternalError",
    "UnknownTool",
    "status_name",
    "library_version",
    "__version__",
]

Json = Dict[str, Any]
PathArg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]", None]


def _text(value: Optional[str], what: str) -> Optional[bytes]:
    """A C string argument: UTF-8 without NUL bytes (None stays NULL)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        data = value
    elif isinstance(value, str):
        data = value.encode("utf-8")
    else:
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    if b"\0" in data:
        raise InvalidArgument(f"{what} must not contain NUL characters")
    return data


def _json_arguments(arguments: Any) -> Optional[bytes]:
    """Tool or action arguments as C JSON text: a mapping (serialised), a
    JSON object text, or None (NULL: ``{}``)."""
    if arguments is None:
        return None
    if isinstance(arguments, (str, bytes)):
        return _text(arguments, "arguments")
    if isinstance(arguments, Mapping):
        try:
            return json.dumps(dict(arguments), ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as e:
            raise InvalidArgument(f"arguments are not JSON-serialisable: {e}") from e
    raise TypeError(
        f"arguments must be a mapping, a JSON string or None, not {type(arguments).__name__}"
    )


def _last_error() -> str:
    raw = _native.eryxon_error_last()
    return raw.decode("utf-8", "replace") if raw else ""


class Store(HandleLease):
    """An open eryxon store (``eryxon_store_t``): a database plus its services.

    ``Store(path)`` or ``Store.open(path)``: ``path`` is a SQLite file (created
    and migrated when new; key hashes use the pepper in ``ERYXON_PEPPER`` or
    ``<path>.pepper``), a PostgreSQL URL (``postgresql://...`` or
    ``postgres://...``, schema made by ``eryxon init``; pepper from
    ``ERYXON_PEPPER`` or the file in ``ERYXON_PEPPER_FILE``; see
    docs/storage.md), or ``None`` / ``":memory:"`` for an in-memory store
    whose data dies with it.

    Use it as a context manager or call :meth:`close`; any call after close
    raises :class:`InvalidArgument`.
    """

    _closed_message = "the store is closed"

    def __init__(self, path: PathArg = None) -> None:
        self._init_lease()
        # Dispatchers on this store (eryxon.events): closed before it.
        self._dependents: "weakref.WeakSet[Any]" = weakref.WeakSet()
        if path is None:
            cpath = None
        else:
            cpath = os.fsencode(path)
            if b"\0" in cpath:
                raise InvalidArgument("path must not contain NUL characters")
        ptr = POINTER(_native.eryxon_store_t)()
        status = _native.eryxon_store_open(byref(ptr), cpath)
        if status != _native.ERYXON_OK:
            raise error_for_status(status, _last_error())
        self._ptr = ptr
        self.path = None if path is None else os.fsdecode(path)

    @classmethod
    def open(cls, path: PathArg = None) -> "Store":
        """Opens a store; see the class documentation."""
        return cls(path)

    # -- lifecycle -------------------------------------------------------

    def close(self) -> None:
        """Closes the store (flushing buffered key usage). Idempotent.

        Closes the store's dispatchers (eryxon.events) and MCP sessions
        first, then waits for calls running on other threads to finish.
        """
        for dependent in list(getattr(self, "_dependents", ())):
            dependent.close()
        ptr = self._take_handle()
        if ptr is not None:
            _native.eryxon_store_free(byref(ptr))

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        where = self.path if self.path is not None else ":memory:"
        return f"<eryxon.Store {where!r} {state}>"


    # -- calls -----------------------------------------------------------

    def _call_string(self, fn: Any, *args: Any) -> bytes:
        """Calls ``fn(&out, store, *args)``; returns the text, raises on error."""
        out = c_void_p()
        with self._handle() as ptr:
            status = fn(byref(out), ptr, *args)
            message = _last_error() if status != _native.ERYXON_OK else ""
        text = _native.take_string(out)
        if status != _native.ERYXON_OK:
            raise error_for_status(status, message)
        return text

    def create_tenant(self, name: str, plan: str = "free") -> Json:
        """Creates a tenant; returns its row (``id``, ``name``, ``plan``...).

        ``plan``: "free", "pro", "premium" or "enterprise".
        """
        text = self._call_string(
            _native.eryxon_tenant_create, _text(name, "name"), _text(plan, "plan")
        )
        return json.loads(text)

    def create_key(
        self,
        tenant_id: str,
        name: str,
        tools: Iterable[str] = ("*",),
        environment: str = "live",
    ) -> str:
        """Mints an MCP key and returns its plaintext (shown once).

        ``tools``: the tool names the key may call, ``("*",)`` for all.
        ``environment``: "live" or "test".
        """
        if isinstance(tools, (str, bytes)):
            tools = (tools,)  # one tool name, not its characters
        tool_list = [t.decode("utf-8") if isinstance(t, bytes) else t for t in tools]
        if not all(isinstance(t, str) for t in tool_list):
            raise InvalidArgument("tools must be tool names (str)")
        text = self._call_string(
            _native.eryxon_key_create,
            _text(tenant_id, "tenant_id"),
            _text(name, "name"),
            json.dumps(tool_list).encode("utf-8"),
            _text(environment, "environment"),
        )
        return text.decode("utf-8")

    def create_api_key(
        self,
        tenant_id: str,
        name: str,
        *,
        family: str = "mcp",
        environment: str = "live",
        tools: Iterable[str] = ("*",),
        rate_limit: Optional[int] = None,
        expires_at: Optional[str] = None,
        description: Optional[str] = None,
    ) -> Json:
        """Mints a key of either family (``"mcp"`` -> mcp_live_..., ``"rest"``
        -> ery_live_...) with every option; returns ``{"key": plaintext
        (shown once), "record": its public row}``. ``rate_limit`` is
        requests per minute, ``expires_at`` RFC 3339."""
        options: Json = {"name": name, "family": family, "environment": environment,
                         "allowed_tools": [tools] if isinstance(tools, str) else list(tools)}
        for key, value in (("rate_limit", rate_limit), ("expires_at", expires_at),
                           ("description", description)):
            if value is not None:
                options[key] = value
        return json.loads(self._call_string(
            _native.eryxon_key_create_ex, _text(tenant_id, "tenant_id"),
            json.dumps(options).encode("utf-8")))

    def set_key_enabled(self, tenant_id: str, key_row_id: str, enabled: bool) -> Json:
        """Enables or disables a key; returns its public row."""
        return json.loads(self._call_string(
            _native.eryxon_key_set_enabled, _text(tenant_id, "tenant_id"),
            _text(key_row_id, "key_row_id"), 1 if enabled else 0))

    def rotate_key(self, tenant_id: str, key_row_id: str, grace_seconds: int = 86400) -> Json:
        """Mints the key's successor (same permissions); the old key expires
        after ``grace_seconds``. Returns ``{"key", "record"}`` of the new one."""
        return json.loads(self._call_string(
            _native.eryxon_key_rotate, _text(tenant_id, "tenant_id"),
            _text(key_row_id, "key_row_id"), int(grace_seconds)))

    def delete_key(self, tenant_id: str, key_row_id: str) -> None:
        """Deletes a key for good (NotFound when the tenant has no such key)."""
        with self._handle() as ptr:
            status = _native.eryxon_key_delete(
                ptr, _text(tenant_id, "tenant_id"), _text(key_row_id, "key_row_id"))
            message = _last_error() if status != _native.ERYXON_OK else ""
        if status != _native.ERYXON_OK:
            raise error_for_status(status, message)

    def get_tenant(self, tenant_id: str) -> Json:
        """The tenant's row (``id``, ``name``, ``plan``, ``status``, ``timezone``...)."""
        return json.loads(self._call_string(_native.eryxon_tenant_get, _text(tenant_id, "tenant_id")))

    def list_tenants(self) -> list:
        """Every tenant of the store (host/admin use)."""
        return json.loads(self._call_string(_native.eryxon_tenant_list))

    def list_keys(self, tenant_id: str) -> list:
        """The tenant's keys (both families) as dicts, without secrets.

        Each has ``id``, ``name``, ``family``, ``environment``, ``prefix``,
        ``allowed_tools``, ``rate_limit`` (requests per minute or None),
        ``enabled``, ``expires_at``, ``last_used_at``, ``usage_count``...
        Raises NotFound for an unknown tenant.
        """
        return json.loads(self._call_string(_native.eryxon_key_list, _text(tenant_id, "tenant_id")))

    def key_stats(self, tenant_id: str, key_row_id: str) -> Json:
        """Usage statistics of one key from the audit log: ``total``,
        ``successful``, ``failed``, ``avg_response_time_ms`` (ms),
        ``last_24h_requests``, ``top_tools`` (up to 5 ``{"tool", "count"}``)
        and ``last_used_at``. ``key_row_id`` is a key's ``id`` from
        list_keys(); another tenant's key reads as zeros."""
        text = self._call_string(
            _native.eryxon_key_stats, _text(tenant_id, "tenant_id"), _text(key_row_id, "key_row_id")
        )
        return json.loads(text)

    def health(self) -> Json:
        """Server health from the last up to 100 logged calls: ``status`` is
        "unknown", "offline", "degraded" or "online" (see eryxon.h)."""
        return json.loads(self._call_string(_native.eryxon_server_health))

    def seed_demo(self, tenant_id: str) -> None:
        """Fills the tenant with the demo sheet-metal shop (once per tenant)."""
        with self._handle() as ptr:
            status = _native.eryxon_seed_demo(ptr, _text(tenant_id, "tenant_id"))
            message = _last_error() if status != _native.ERYXON_OK else ""
        if status != _native.ERYXON_OK:
            raise error_for_status(status, message)

    # -- data portability (docs/portability.md) ----------------------------

    def _export(self, fn: Any, tenant_id: str, path: PathArg, include_events: bool) -> None:
        cpath = os.fsencode(path)
        if b"\0" in cpath:
            raise InvalidArgument("path must not contain NUL characters")
        with self._handle() as ptr:
            status = fn(ptr, _text(tenant_id, "tenant_id"), cpath, 1 if include_events else 0)
            message = _last_error() if status != _native.ERYXON_OK else ""
        if status != _native.ERYXON_OK:
            raise error_for_status(status, message)

    def export_json(self, tenant_id: str, path: PathArg, include_events: bool = False) -> None:
        """Writes all of the tenant's data as one JSON document to ``path``:
        ``{table: [rows], ..., "_metadata": {exported_at, tenant_id,
        schema_version, tables: [{name, count}]}}``; ``include_events`` adds
        the event outbox as ``events``. Never writes secrets (key hashes,
        webhook secrets, peppers). Raises NotFound for an unknown tenant."""
        self._export(_native.eryxon_export_json, tenant_id, path, include_events)

    def export_zip(self, tenant_id: str, path: PathArg, include_events: bool = False) -> None:
        """Writes the same data as :meth:`export_json` as a ZIP at ``path``:
        one ``<table>.csv`` per table plus ``_metadata.json``."""
        self._export(_native.eryxon_export_zip, tenant_id, path, include_events)

    def import_csv(
        self,
        tenant_id: str,
        table: str,
        csv: Union[str, bytes],
        dry_run: bool = False,
        partial: bool = False,
        source: Optional[str] = None,
    ) -> Json:
        """Upserts rows of ``table`` ("jobs", "parts", "operations", "cells"
        or "resources") from CSV text (str, or bytes as read from a file).

        Returns ``{created, updated, unchanged, failed, errors: [{line,
        column?, message}], committed, dry_run, batch_id}``. Problems in the
        file are reported there, not raised; without ``partial`` any error
        means nothing was written. ``dry_run`` validates and writes nothing.
        ``source`` is the external_source of rows that name none.
        """
        data = csv.encode("utf-8") if isinstance(csv, str) else bytes(csv)
        options: Json = {"dry_run": bool(dry_run), "partial": bool(partial)}
        if source is not None:
            options["source"] = source
        text = self._call_string(
            _native.eryxon_import_csv,
            _text(tenant_id, "tenant_id"),
            _text(table, "table"),
            data,
            len(data),
            json.dumps(options).encode("utf-8"),
        )
        return json.loads(text)

    def call_tool(
        self,
        api_key: str,
        tool: str,
        arguments: Union[Mapping[str, Any], str, bytes, None] = None,
    ) -> Json:
        """Calls ``tool`` as the holder of ``api_key``.

        ``arguments``: a mapping (serialised to JSON), a JSON object text, or
        None for ``{}``. Returns the tool result,
        ``{"success": True, "data": ..., "pagination": {...}}``.

        Raises the status's exception: a tool that ran and failed sets
        ``.result`` to its ``{"success": False, "error": {...}}``; refusals
        before the tool runs (AuthenticationError, PermissionDenied,
        UnknownTool) and malformed arguments have ``.result`` None.
        """
        args = _json_arguments(arguments)

        out = c_void_p()
        with self._handle() as ptr:
            status = _native.eryxon_tool_call(
                byref(out), ptr, _text(api_key, "api_key"), _text(tool, "tool"), args
            )
            message = _last_error() if status != _native.ERYXON_OK else ""
        text = _native.take_string(out)
        result = json.loads(text) if text else None
        if status != _native.ERYXON_OK:
            raise error_for_status(status, message, result)
        if result is None:
            raise InternalError("the library returned no result", status=_native.ERYXON_EINTERNAL)
        return result

    # -- the host's own authority -------------------------------------------

    def action(
        self,
        tenant_id: str,
        action: str,
        arguments: Union[Mapping[str, Any], str, bytes, None] = None,
    ) -> Json:
        """Runs a domain action for ``tenant_id`` as the host application:
        a host action (create_cell, create_part, create_operation,
        record_quantity, ...) or any tool (fetch_jobs, start_operation, ...);
        :meth:`actions` lists them with their schemas. No key, rate limit,
        quota or audit entry: the trusted in-process path, never for
        untrusted callers. Returns ``{"success": True, "data": ...}``;
        raises the error's exception with ``.result`` set to the failed
        result (InvalidArgument for arguments that break the schema,
        NotFound for another tenant's ids), UnknownTool for an unknown
        action."""
        args = _json_arguments(arguments)
        out = c_void_p()
        with self._handle() as ptr:
            status = _native.eryxon_shop_action(
                byref(out), ptr, _text(tenant_id, "tenant_id"), _text(action, "action"), args
            )
            message = _last_error() if status != _native.ERYXON_OK else ""
        text = _native.take_string(out)
        result = json.loads(text) if text else None
        if status != _native.ERYXON_OK:
            raise error_for_status(status, message, result)
        return result

    def actions(self) -> Json:
        """``{"host_actions": [...], "tools": [...]}``: every action
        :meth:`action` accepts, as MCP Tool objects (name, description,
        inputSchema, outputSchema, annotations)."""
        return json.loads(self._call_string(_native.eryxon_shop_actions))

    def rate_limit_check(
        self, key: str, requests_per_minute: int, burst: int = 1, cost: int = 1
    ) -> Json:
        """One GCRA check of the bucket ``key`` (kept apart from the
        library's own key buckets): ``{"allowed", "limit", "remaining",
        "reset_ms", "retry_after_ms"}`` (ms). A refused request spends
        nothing."""
        return json.loads(
            self._call_string(
                _native.eryxon_rate_limit_check,
                _text(key, "key"),
                int(requests_per_minute),
                int(burst),
                int(cost),
            )
        )

    def quota_check(self, tenant_id: str, cost: int = 1, consume: bool = True) -> Json:
        """Counts ``cost`` requests against the tenant's daily plan quota
        (or only reads it with ``consume=False``): ``{"allowed", "limit"
        (None = unlimited), "used", "remaining", "reset_ms", "day"}``."""
        return json.loads(
            self._call_string(
                _native.eryxon_quota_check, _text(tenant_id, "tenant_id"), int(cost), 1 if consume else 0
            )
        )

    def rest(
        self,
        method: str,
        target: str,
        headers: Union[Mapping[str, str], Iterable[Any], None] = None,
        body: Union[str, bytes, None] = None,
        remote_addr: Optional[str] = None,
    ) -> Json:
        """Answers one REST request (``/api/v1/...``, ``Authorization:
        Bearer ery_live_...``) arriving through the host's own HTTP server:
        ``{"status": 200, "headers": [[name, value], ...], "body": "..."}``.
        The HTTP status is data; only a malformed request raises."""
        request: Json = {"method": method, "target": target}
        if headers is not None:
            request["headers"] = dict(headers) if isinstance(headers, Mapping) else [list(h) for h in headers]
        if body is not None:
            request["body"] = body.decode("utf-8") if isinstance(body, bytes) else body
        if remote_addr is not None:
            request["remote_addr"] = remote_addr
        text = self._call_string(
            _native.eryxon_rest_handle, json.dumps(request, ensure_ascii=False).encode("utf-8")
        )
        return json.loads(text)

    def tenant(self, tenant_id: str) -> "shop.TenantShop":
        """One tenant's actions as Python methods returning rows and pages;
        see :mod:`eryxon.shop`."""
        return shop.TenantShop(self, tenant_id)

    def _call_status(self, fn: Any, *args: Any) -> None:
        with self._handle() as ptr:
            status = fn(ptr, *args)
            message = _last_error() if status != _native.ERYXON_OK else ""
        if status != _native.ERYXON_OK:
            raise error_for_status(status, message)

    def add_resource(
        self,
        uri: str,
        name: str,
        *,
        text: Optional[str] = None,
        blob: Optional[bytes] = None,
        mime_type: Optional[str] = None,
        title: Optional[str] = None,
        description: Optional[str] = None,
    ) -> None:
        """Adds a static MCP resource (exactly one of ``text`` and ``blob``)
        served by sessions created afterwards (:meth:`mcp_session`)."""
        import base64

        spec: Json = {"uri": uri, "name": name}
        if text is not None:
            spec["text"] = text
        if blob is not None:
            spec["blob"] = base64.b64encode(blob).decode("ascii")
        for key, value in (("mimeType", mime_type), ("title", title), ("description", description)):
            if value is not None:
                spec[key] = value
        self._call_status(_native.eryxon_mcp_resource_add, json.dumps(spec).encode("utf-8"))

    def add_prompt(
        self,
        name: str,
        messages: Iterable[Mapping[str, str]],
        *,
        arguments: Iterable[Mapping[str, Any]] = (),
        title: Optional[str] = None,
        description: Optional[str] = None,
    ) -> None:
        """Adds an MCP prompt template: ``messages`` are ``{"role": "user" |
        "assistant", "text": "... {{argument}} ..."}``; ``arguments`` are
        ``{"name", "description"?, "required"?}``."""
        spec: Json = {"name": name, "messages": [dict(m) for m in messages],
                      "arguments": [dict(a) for a in arguments]}
        for key, value in (("title", title), ("description", description)):
            if value is not None:
                spec[key] = value
        self._call_status(_native.eryxon_mcp_prompt_add, json.dumps(spec).encode("utf-8"))

    def remove_resource(self, uri: str) -> None:
        """Removes a resource added with :meth:`add_resource` (NotFound otherwise)."""
        self._call_status(_native.eryxon_mcp_catalog_remove, b"resource", _text(uri, "uri"))

    def remove_prompt(self, name: str) -> None:
        """Removes a prompt added with :meth:`add_prompt` (NotFound otherwise)."""
        self._call_status(_native.eryxon_mcp_catalog_remove, b"prompt", _text(name, "name"))

    def mcp_session(self, **options: Any) -> "mcp.McpSession":
        """An MCP session on this store for your own transport; see
        :class:`eryxon.mcp.McpSession`."""
        return mcp.McpSession(self, **options)

    def register_tool(
        self,
        name: str,
        handler: Any,
        input_schema: Optional[Mapping[str, Any]] = None,
        description: str = "",
        annotations: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """Registers a Python function as a tool of this store; see
        :mod:`eryxon.host_tools`. ``handler(arguments, context, run)``
        returns the result's data or raises an EryxonError subclass."""
        host_tools.register_tool(self, name, handler, input_schema, description, annotations)

    def unregister_tool(self, name: str) -> None:
        """Removes a tool (waits for its calls in progress); see
        :mod:`eryxon.host_tools`."""
        host_tools.unregister_tool(self, name)


# Standard Webhooks v1 signatures: eryxon.webhooks.sign / verify / ...
from . import webhooks  # noqa: E402

__all__.append("webhooks")

# The outbox dispatcher and live subscriptions: eryxon.Dispatcher.
from . import events  # noqa: E402
from .events import Dispatcher, Subscription  # noqa: E402

__all__.extend(["events", "Dispatcher", "Subscription"])

# Host tools: Store.register_tool / unregister_tool.
from . import host_tools  # noqa: E402
from .host_tools import ToolRun  # noqa: E402

__all__.extend(["host_tools", "ToolRun"])

# MCP sessions on the host's own transport: eryxon.mcp.McpSession.
from . import mcp  # noqa: E402
from .mcp import McpSession  # noqa: E402

__all__.extend(["mcp", "McpSession"])

# One tenant's actions as methods: Store.tenant(tenant_id).
from . import shop  # noqa: E402
from .shop import Page, Row, TenantShop  # noqa: E402

__all__.extend(["shop", "TenantShop", "Row", "Page"])
