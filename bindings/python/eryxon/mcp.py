"""MCP sessions for hosts with their own transport (``eryxon_mcp_session_*``).

A session speaks the Model Context Protocol (JSON-RPC 2.0, revision
2025-11-25) for one client. Feed it each message the client sends and send
back what :meth:`McpSession.handle` returns; messages the session sends on
its own (``notifications/tools/list_changed``, ``notifications/message``,
``notifications/progress``) reach ``on_message``::

    with eryxon.Store.open("shop.db") as store:
        with store.mcp_session(default_api_key=key, on_message=ws.send) as session:
            for message in ws:                      # your transport
                reply = session.handle(message)     # a str, or None
                if reply is not None:
                    ws.send(reply)

``on_message(text)`` runs on whichever thread produced the message
(the caller of handle(), or a thread that changed the tool registry), one
call at a time; exceptions it raises are logged on ``eryxon.mcp`` and never
reach the library. A session is closed before its store (the store's
``close()`` closes it first). Thread safety: handle() may be called from
several threads at once; close() waits for calls in flight.
"""

from __future__ import annotations

import json
import logging
from ctypes import POINTER, byref, c_void_p
from typing import Any, Callable, Dict, Mapping, Optional, Union

from . import _native
from ._errors import InvalidArgument, error_for_status
from ._handle import HandleLease

__all__ = ["McpSession", "logger"]

#: Where exceptions raised by ``on_message`` are logged.
logger = logging.getLogger("eryxon.mcp")


def _last_error() -> str:
    raw = _native.eryxon_error_last()
    return raw.decode("utf-8", "replace") if raw else ""


class McpSession(HandleLease):
    """One MCP session on a :class:`~eryxon.Store` (``eryxon_mcp_session_t``).

    Options (None = the library's default): ``default_api_key`` (used for
    tools/call without ``params._meta.apiKey``), ``environments``
    ("live,test"), ``server_name``, ``page_size`` (tools per tools/list
    page, 100), ``log_level`` ("warning"; "off" for none).
    """

    _closed_message = "the MCP session is closed"

    def __init__(
        self,
        store: Any,
        *,
        default_api_key: Optional[str] = None,
        environments: Optional[str] = None,
        server_name: Optional[str] = None,
        page_size: Optional[int] = None,
        log_level: Optional[str] = None,
        on_message: Optional[Callable[[str], Any]] = None,
    ) -> None:
        self._init_lease()
        options: Dict[str, Any] = {}
        for name, value in (
            ("default_api_key", default_api_key),
            ("environments", environments),
            ("server_name", server_name),
            ("page_size", page_size),
            ("log_level", log_level),
        ):
            if value is not None:
                options[name] = value
        self._on_message = on_message

        def deliver(message: bytes, _payload: Any) -> None:
            callback = self._on_message
            if callback is None:
                return
            try:
                callback(message.decode("utf-8", "replace"))
            except BaseException:  # never into C
                logger.exception("on_message raised")

        # Kept alive as long as the session: the library holds the pointer.
        self._callback = _native.eryxon_mcp_message_cb(deliver)
        ptr = POINTER(_native.eryxon_mcp_session_t)()
        with store._handle() as store_ptr:
            status = _native.eryxon_mcp_session_create(
                byref(ptr),
                store_ptr,
                json.dumps(options).encode("utf-8"),
                self._callback,
                None,
            )
            message = _last_error() if status != _native.ERYXON_OK else ""
            if status != _native.ERYXON_OK:
                raise error_for_status(status, message)
            self._ptr = ptr
            self.store = store
            store._dependents.add(self)

    def close(self) -> None:
        """Frees the session (waits for calls in flight on other threads).
        Idempotent; no on_message call happens after it returns."""
        ptr = self._take_handle()
        if ptr is not None:
            _native.eryxon_mcp_session_free(byref(ptr))

    def handle(self, message: Union[str, bytes, Mapping[str, Any]]) -> Optional[str]:
        """Runs one incoming JSON-RPC message (text, or a mapping that is
        serialised) on this thread, ``tools/call`` included, and returns the
        reply text, or None when the message needs none (notifications).
        Malformed messages get JSON-RPC error replies, not exceptions."""
        if isinstance(message, Mapping):
            data = json.dumps(dict(message), ensure_ascii=False).encode("utf-8")
        elif isinstance(message, str):
            data = message.encode("utf-8")
        elif isinstance(message, bytes):
            data = message
        else:
            raise TypeError(f"message must be str, bytes or a mapping, not {type(message).__name__}")
        if b"\0" in data:
            raise InvalidArgument("message must not contain NUL characters")
        out = c_void_p()
        with self._handle() as ptr:
            status = _native.eryxon_mcp_session_handle(byref(out), ptr, data)
            error = _last_error() if status != _native.ERYXON_OK else ""
        text = _native.take_string(out)
        if status != _native.ERYXON_OK:
            raise error_for_status(status, error)
        return text.decode("utf-8") if text else None

    def request(self, method: str, params: Optional[Mapping[str, Any]] = None, id: Any = 1) -> Any:
        """Sends a request and returns its parsed reply (a dict with
        ``result`` or ``error``): a convenience over :meth:`handle`."""
        message: Dict[str, Any] = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            message["params"] = dict(params)
        reply = self.handle(message)
        return json.loads(reply) if reply is not None else None
