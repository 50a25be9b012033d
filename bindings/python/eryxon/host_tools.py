"""Host tools: Python functions registered as eryxon tools (eryxon.h "Host tools").

A host tool is called like a built-in one - by :meth:`eryxon.Store.call_tool`,
by MCP clients of the store's engine - after the same checks: key,
allow-list (``"*"`` keys include it), rate limits, quota, and validation of
the arguments against ``input_schema`` (a violation never reaches the
handler). Every call is audited. Registering or unregistering makes
initialized MCP sessions send ``notifications/tools/list_changed``::

    def recount(args, context, run):
        for i in range(args["steps"]):
            if run.cancelled:
                break
            run.progress(i + 1, args["steps"], f"step {i + 1}")
        return {"counted": args["steps"], "tenant": context["tenant_id"]}

    store.register_tool("recount", recount, {"type": "object",
        "properties": {"steps": {"type": "integer", "minimum": 1}},
        "required": ["steps"], "additionalProperties": False},
        description="Recounts stock in steps")

The handler gets ``(arguments, context, run)``: the validated arguments
(a dict), ``{"tenant_id", "key_id", "tool"}``, and a :class:`ToolRun`. It
returns the result's ``data`` (anything ``json.dumps`` takes). To fail the
call raise an :class:`~eryxon.EryxonError` subclass (e.g. ``NotFound``): the
caller sees its code and message. Any other exception is an
INTERNAL_ERROR whose message names the exception type only.

Threads: the handler runs on the thread that calls the tool (ctypes takes
the GIL for it), possibly on several at once.

One module-level C trampoline serves every tool: its payload is an integer
token naming the tool in ``_registry``, so the CFUNCTYPE object lives as
long as the process and no call can land on a freed thunk.
"""

from __future__ import annotations

import ctypes
import itertools
import json
import logging
import math
import threading
from typing import Any, Callable, Dict, Mapping, Optional

from . import _native
from ._errors import EryxonError, InvalidArgument, error_for_status

__all__ = ["ToolRun", "register_tool", "unregister_tool"]

logger = logging.getLogger("eryxon.host_tools")

Handler = Callable[[Dict[str, Any], Dict[str, Any], "ToolRun"], Any]

# The library frees what a handler returns with free(): allocate with the
# process's malloc.
_libc = ctypes.CDLL(None)
_libc.malloc.argtypes = [ctypes.c_size_t]
_libc.malloc.restype = ctypes.c_void_p


def _malloc_text(text: str) -> Optional[int]:
    data = text.encode("utf-8", "replace").replace(b"\0", b"")
    ptr = _libc.malloc(len(data) + 1)
    if ptr:
        ctypes.memmove(ptr, data + b"\0", len(data) + 1)
    return ptr


class ToolRun:
    """One running call, as its handler sees it (``eryxon_tool_run_t``).

    Valid only during the handler's call, on its thread."""

    def __init__(self, ptr: Any) -> None:
        self._ptr = ptr

    @property
    def cancelled(self) -> bool:
        """True once the caller cancelled (MCP ``notifications/cancelled``):
        stop and return; the result is discarded."""
        return bool(self._ptr) and _native.eryxon_tool_run_cancelled(self._ptr) == 1

    def progress(self, done: float, total: Optional[float] = None, message: Optional[str] = None) -> None:
        """Reports progress; an MCP client that sent a progressToken gets
        ``notifications/progress`` (only for increasing ``done``)."""
        if not self._ptr or not math.isfinite(done):
            return
        _native.eryxon_tool_run_progress(
            self._ptr,
            float(done),
            float(total) if total is not None else 0.0,
            message.encode("utf-8", "replace") if message else None,
        )


_registry: Dict[int, Handler] = {}
_registry_lock = threading.Lock()
_tokens = itertools.count(1)


def _trampoline(out_json: Any, run: Any, arguments_json: Optional[bytes],
                context_json: Optional[bytes], payload: Optional[int]) -> int:
    try:
        with _registry_lock:
            handler = _registry.get(payload or 0)
        if handler is None:
            out_json[0] = _malloc_text("the tool's Python handler is gone")
            return _native.ERYXON_ENOTFOUND
        try:
            args = json.loads(arguments_json or b"{}")
            context = json.loads(context_json or b"{}")
            data = handler(args, context, ToolRun(run))
            out_json[0] = _malloc_text(json.dumps(data, ensure_ascii=False, allow_nan=False))
            return _native.ERYXON_OK
        except EryxonError as e:
            out_json[0] = _malloc_text(e.message or type(e).__name__)
            return e.status if e.status < 0 else _native.ERYXON_EINTERNAL
        except Exception as e:  # noqa: BLE001 - reported to the caller, logged here
            logger.exception("eryxon: host tool handler raised")
            out_json[0] = _malloc_text(f"the tool's handler raised {type(e).__name__}")
            return _native.ERYXON_EINTERNAL
    except BaseException:  # never unwind into C
        return _native.ERYXON_EINTERNAL


_TRAMPOLINE = _native.eryxon_tool_handler(_trampoline)


class _StoreTools:
    """The host tools of one Store: closed (unregistered) before the store."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.tokens: Dict[str, int] = {}
        self.lock = threading.Lock()

    def close(self) -> None:
        with self.lock:
            names = list(self.tokens)
        for name in names:
            try:
                unregister_tool(self.store, name)
            except EryxonError:
                pass


def _tools_of(store: Any) -> _StoreTools:
    state = getattr(store, "_host_tools", None)
    if state is None:
        state = _StoreTools(store)
        store._host_tools = state  # strong reference
        store._dependents.add(state)  # closed before the store
    return state


def _text(value: Optional[str], what: str) -> Optional[bytes]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    data = value.encode("utf-8")
    if b"\0" in data:
        raise InvalidArgument(f"{what} must not contain NUL characters")
    return data


def register_tool(
    store: Any,
    name: str,
    handler: Handler,
    input_schema: Optional[Mapping[str, Any]] = None,
    description: str = "",
    annotations: Optional[Mapping[str, Any]] = None,
) -> None:
    """Registers ``handler`` as tool ``name`` of ``store`` (see the module
    documentation). ``input_schema`` defaults to ``{"type": "object"}``;
    ``annotations`` takes ``title``, ``readOnlyHint``, ``destructiveHint``,
    ``idempotentHint``, ``openWorldHint``. Raises InvalidArgument (bad name,
    schema or annotations) or Duplicate (name taken)."""
    if not callable(handler):
        raise TypeError("handler must be callable")
    schema = None if input_schema is None else json.dumps(dict(input_schema)).encode("utf-8")
    ann = None if annotations is None else json.dumps(dict(annotations)).encode("utf-8")
    state = _tools_of(store)
    token = next(_tokens)
    with _registry_lock:
        _registry[token] = handler
    with store._handle() as ptr:
        status = _native.eryxon_tool_register(
            ptr, _text(name, "name"), _text(description, "description"), schema, ann,
            _TRAMPOLINE, token,
        )
        message = _native.eryxon_error_last().decode("utf-8", "replace") if status else ""
    if status != _native.ERYXON_OK:
        with _registry_lock:
            _registry.pop(token, None)
        raise error_for_status(status, message)
    with state.lock:
        state.tokens[name] = token


def unregister_tool(store: Any, name: str) -> None:
    """Removes tool ``name`` (a host tool or a built-in). Waits for calls of
    it running on other threads. Raises NotFound when there is none."""
    with store._handle() as ptr:
        status = _native.eryxon_tool_unregister(ptr, _text(name, "name"))
        message = _native.eryxon_error_last().decode("utf-8", "replace") if status else ""
    state = _tools_of(store)
    with state.lock:
        token = state.tokens.pop(name, None)
    if token is not None:
        with _registry_lock:
            _registry.pop(token, None)
    if status != _native.ERYXON_OK:
        raise error_for_status(status, message)
