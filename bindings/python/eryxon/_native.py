"""Low-level ctypes declarations of eryxon.h (wasmtime-py ``_bindings`` style).

Every function of the C header is declared here with its ``argtypes`` and
``restype``; nothing else in the package calls the library without going
through these declarations. Strings the library hands over (``char **out``)
are declared as ``c_void_p`` so the exact pointer can be given back to
``eryxon_free`` (a ``c_char_p`` result would be copied and leaked).

The library is found, in order, at:

1. the path in the ``ERYXON_LIBRARY`` environment variable;
2. ``ctypes.util.find_library("eryxon")``;
3. the platform's usual file names (``liberyxon.so``, the soname
   ``liberyxon.so.0.1``: major.minor before 1.0, major from then on,
   ``liberyxon.dylib``, ``eryxon.dll``), next to this package first, then on
   the loader's search path.

At import the run-time version (``eryxon_version_number()``) is compared
with the version this binding was written for, as SQLite bindings compare
``sqlite3_libversion_number()`` with ``SQLITE_VERSION_NUMBER``: the major and
minor numbers must match (0.x releases may break the ABI at every minor
version), otherwise ImportError.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from ctypes import POINTER, c_char_p, c_int, c_size_t, c_void_p

__all__ = [
    "lib",
    "library_path",
    "EXPECTED_VERSION",
    "EXPECTED_VERSION_NUMBER",
    "eryxon_store_t",
    "ERYXON_OK",
    "ERYXON_EINVALID",
    "ERYXON_ENOTFOUND",
    "ERYXON_EDUPLICATE",
    "ERYXON_ESTATE",
    "ERYXON_EPERMISSION",
    "ERYXON_EAUTH",
    "ERYXON_ERATE_LIMITED",
    "ERYXON_EQUOTA",
    "ERYXON_ECONFLICT",
    "ERYXON_EDATABASE",
    "ERYXON_EINTERNAL",
    "ERYXON_EUNKNOWN_TOOL",
    "ERYXON_MAX_JSON_BYTES",
    "ERYXON_MAX_JSON_DEPTH",
]

#: The library version this binding was written against (eryxon/version.h).
EXPECTED_VERSION = (0, 1, 0)
EXPECTED_VERSION_NUMBER = EXPECTED_VERSION[0] * 1000000 + EXPECTED_VERSION[1] * 1000 + EXPECTED_VERSION[2]

#: Limits on JSON text in (eryxon.h ERYXON_MAX_JSON_BYTES, ERYXON_MAX_JSON_DEPTH):
#: longer or deeper text is refused with ERYXON_EINVALID before it is parsed.
ERYXON_MAX_JSON_BYTES = 16 * 1024 * 1024
ERYXON_MAX_JSON_DEPTH = 128

# enum eryxon_status
ERYXON_OK = 0
ERYXON_EINVALID = -1
ERYXON_ENOTFOUND = -2
ERYXON_EDUPLICATE = -3
ERYXON_ESTATE = -4
ERYXON_EPERMISSION = -5
ERYXON_EAUTH = -6
ERYXON_ERATE_LIMITED = -7
ERYXON_EQUOTA = -8
ERYXON_ECONFLICT = -9
ERYXON_EDATABASE = -10
ERYXON_EINTERNAL = -11
ERYXON_EUNKNOWN_TOOL = -12


class eryxon_store_t(ctypes.Structure):
    """Opaque ``eryxon_store_t``; only ever used through a pointer."""


def _candidates():
    env = os.environ.get("ERYXON_LIBRARY")
    if env:
        # An explicit choice: use it or fail, never fall back silently.
        return [env], True
    names = []
    found = ctypes.util.find_library("eryxon")
    if found:
        names.append(found)
    # The soname's version (CMakeLists.txt SOVERSION): major.minor before
    # 1.0, when every minor version may change the ABI; major from 1.0 on.
    major, minor = EXPECTED_VERSION[0], EXPECTED_VERSION[1]
    soversion = f"{major}.{minor}" if major == 0 else f"{major}"
    if sys.platform == "win32":
        files = ["eryxon.dll", "liberyxon.dll"]
    elif sys.platform == "darwin":
        files = ["liberyxon.dylib", f"liberyxon.{soversion}.dylib"]
    else:
        files = ["liberyxon.so", f"liberyxon.so.{soversion}"]
    here = os.path.dirname(os.path.abspath(__file__))
    names.extend(os.path.join(here, f) for f in files)
    names.extend(files)
    return names, False


def _load():
    names, explicit = _candidates()
    errors = []
    for name in names:
        try:
            return ctypes.CDLL(name), name
        except OSError as e:
            errors.append(f"{name}: {e}")
    if explicit:
        hint = "ERYXON_LIBRARY is set but the library could not be loaded"
    else:
        hint = "set ERYXON_LIBRARY to the path of liberyxon (the shared library)"
    raise ImportError(f"eryxon: cannot load the native library ({hint}):\n  " + "\n  ".join(errors))


lib, library_path = _load()

# Each declaration mirrors eryxon.h, in header order.
_store_pp = POINTER(POINTER(eryxon_store_t))
_store_p = POINTER(eryxon_store_t)
_out_str = POINTER(c_void_p)  # char **out: freed with eryxon_free

_PROTOTYPES = {
    # int eryxon_version_number(void);
    "eryxon_version_number": ([], c_int),
    # const char *eryxon_version_string(void);   static storage
    "eryxon_version_string": ([], c_char_p),
    # const char *eryxon_status_str(int status); static storage
    "eryxon_status_str": ([c_int], c_char_p),
    # const char *eryxon_error_last(void);       library-owned, thread-local
    "eryxon_error_last": ([], c_char_p),
    # void eryxon_free(void *ptr);
    "eryxon_free": ([c_void_p], None),
    # eryxon_status eryxon_store_open(eryxon_store_t **out, const char *path);
    "eryxon_store_open": ([_store_pp, c_char_p], c_int),
    # void eryxon_store_free(eryxon_store_t **store);
    "eryxon_store_free": ([_store_pp], None),
    # eryxon_status eryxon_tenant_create(char **out_json, eryxon_store_t *store,
    #                                    const char *name, const char *plan);
    "eryxon_tenant_create": ([_out_str, _store_p, c_char_p, c_char_p], c_int),
    # eryxon_status eryxon_key_create(char **out_key, eryxon_store_t *store,
    #     const char *tenant_id, const char *name, const char *allowed_tools_json,
    #     const char *environment);
    "eryxon_key_create": ([_out_str, _store_p, c_char_p, c_char_p, c_char_p, c_char_p], c_int),
    # eryxon_status eryxon_tool_call(char **out_json, eryxon_store_t *store,
    #     const char *api_key, const char *tool, const char *arguments_json);
    "eryxon_tool_call": ([_out_str, _store_p, c_char_p, c_char_p, c_char_p], c_int),
    # eryxon_status eryxon_key_list(char **out_json, eryxon_store_t *store,
    #     const char *tenant_id);
    "eryxon_key_list": ([_out_str, _store_p, c_char_p], c_int),
    # eryxon_status eryxon_key_stats(char **out_json, eryxon_store_t *store,
    #     const char *tenant_id, const char *key_row_id);
    "eryxon_key_stats": ([_out_str, _store_p, c_char_p, c_char_p], c_int),
    # eryxon_status eryxon_server_health(char **out_json, eryxon_store_t *store);
    "eryxon_server_health": ([_out_str, _store_p], c_int),
    # eryxon_status eryxon_seed_demo(eryxon_store_t *store, const char *tenant_id);
    "eryxon_seed_demo": ([_store_p, c_char_p], c_int),
    # eryxon_status eryxon_export_json(eryxon_store_t *store, const char *tenant_id,
    #     const char *path, int include_events);
    "eryxon_export_json": ([_store_p, c_char_p, c_char_p, c_int], c_int),
    # eryxon_status eryxon_export_zip(eryxon_store_t *store, const char *tenant_id,
    #     const char *path, int include_events);
    "eryxon_export_zip": ([_store_p, c_char_p, c_char_p, c_int], c_int),
    # eryxon_status eryxon_import_csv(char **out_json, eryxon_store_t *store,
    #     const char *tenant_id, const char *table, const char *csv, size_t csv_len,
    #     const char *options_json);
    "eryxon_import_csv": (
        [_out_str, _store_p, c_char_p, c_char_p, c_char_p, c_size_t, c_char_p],
        c_int,
    ),
}

def _declare(prototypes):
    """Sets argtypes/restype of each function in ``prototypes`` (name ->
    (argtypes, restype)) and exports it from this module."""
    for name, (args, res) in prototypes.items():
        try:
            fn = getattr(lib, name)
        except AttributeError as e:
            raise ImportError(f"eryxon: {library_path} does not export {name}") from e
        fn.argtypes = args
        fn.restype = res
        globals()[name] = fn
        __all__.append(name)


_declare(_PROTOTYPES)


def _check_version():
    number = lib.eryxon_version_number()
    major, minor, patch = number // 1000000, (number // 1000) % 1000, number % 1000
    if (major, minor) != EXPECTED_VERSION[:2]:
        want = ".".join(map(str, EXPECTED_VERSION))
        raise ImportError(
            f"eryxon: the binding expects library version {want} (major.minor "
            f"{EXPECTED_VERSION[0]}.{EXPECTED_VERSION[1]}), but {library_path} is "
            f"{major}.{minor}.{patch}"
        )
    return (major, minor, patch)


#: Version of the library actually loaded, as a (major, minor, patch) tuple.
library_version = _check_version()
__all__.append("library_version")


def take_string(ptr: c_void_p) -> bytes:
    """Copies the library-owned string at ``ptr`` and frees it (eryxon_free).

    ``ptr`` may be NULL (returns b"").
    """
    if not ptr.value:
        return b""
    try:
        return ctypes.string_at(ptr.value)
    finally:
        lib.eryxon_free(ptr)
        ptr.value = None


__all__.append("take_string")


# Webhook signatures (Standard Webhooks v1), the last section of eryxon.h.
from ctypes import c_int64  # noqa: E402

_WEBHOOK_PROTOTYPES = {
    # eryxon_status eryxon_webhook_secret_generate(char **out_secret, size_t bytes);
    "eryxon_webhook_secret_generate": ([_out_str, c_size_t], c_int),
    # eryxon_status eryxon_webhook_message_id(char **out_id);
    "eryxon_webhook_message_id": ([_out_str], c_int),
    # eryxon_status eryxon_webhook_sign(char **out_signature, const char *secrets,
    #     const char *msg_id, int64_t timestamp_s, const char *body, size_t body_len);
    "eryxon_webhook_sign": ([_out_str, c_char_p, c_char_p, c_int64, c_char_p, c_size_t], c_int),
    # eryxon_status eryxon_webhook_verify(const char *secrets, const char *msg_id,
    #     const char *timestamp, const char *signature_header, const char *body,
    #     size_t body_len, int64_t now_s, int64_t tolerance_s);
    "eryxon_webhook_verify": (
        [c_char_p, c_char_p, c_char_p, c_char_p, c_char_p, c_size_t, c_int64, c_int64],
        c_int,
    ),
}

_declare(_WEBHOOK_PROTOTYPES)


# Events: the outbox dispatcher, endpoints and subscriptions, the last
# section of eryxon.h.
from ctypes import CFUNCTYPE, c_uint64  # noqa: E402


class eryxon_dispatcher_t(ctypes.Structure):
    """Opaque ``eryxon_dispatcher_t``; only ever used through a pointer."""


#: ``typedef int (*eryxon_event_cb)(const char *event_json, void *payload);``
#: The library calls it on its own threads; ctypes takes the GIL for the
#: call. event_json arrives as bytes (a copy: the C string is borrowed).
eryxon_event_cb = CFUNCTYPE(c_int, c_char_p, c_void_p)

_dispatcher_p = POINTER(eryxon_dispatcher_t)
_u64_p = POINTER(c_uint64)

_EVENT_PROTOTYPES = {
    # eryxon_status eryxon_dispatcher_create(eryxon_dispatcher_t **out,
    #     eryxon_store_t *store, const char *options_json);
    "eryxon_dispatcher_create": ([POINTER(_dispatcher_p), _store_p, c_char_p], c_int),
    # void eryxon_dispatcher_free(eryxon_dispatcher_t **dispatcher);
    "eryxon_dispatcher_free": ([POINTER(_dispatcher_p)], None),
    # eryxon_status eryxon_dispatcher_start(eryxon_dispatcher_t *dispatcher);
    "eryxon_dispatcher_start": ([_dispatcher_p], c_int),
    # eryxon_status eryxon_dispatcher_stop(eryxon_dispatcher_t *dispatcher);
    "eryxon_dispatcher_stop": ([_dispatcher_p], c_int),
    # eryxon_status eryxon_dispatcher_notify(eryxon_dispatcher_t *dispatcher);
    "eryxon_dispatcher_notify": ([_dispatcher_p], c_int),
    # eryxon_status eryxon_dispatcher_run_once(uint64_t *out_attempts,
    #     eryxon_dispatcher_t *dispatcher);
    "eryxon_dispatcher_run_once": ([_u64_p, _dispatcher_p], c_int),
    # eryxon_status eryxon_dispatcher_add_endpoint(char **out_endpoint_id,
    #     eryxon_dispatcher_t *dispatcher, const char *tenant_id, const char *endpoint_json);
    "eryxon_dispatcher_add_endpoint": ([_out_str, _dispatcher_p, c_char_p, c_char_p], c_int),
    # eryxon_status eryxon_dispatcher_remove_endpoint(eryxon_dispatcher_t *dispatcher,
    #     const char *tenant_id, const char *endpoint_id);
    "eryxon_dispatcher_remove_endpoint": ([_dispatcher_p, c_char_p, c_char_p], c_int),
    # eryxon_status eryxon_dispatcher_enable_endpoint(eryxon_dispatcher_t *dispatcher,
    #     const char *tenant_id, const char *endpoint_id);
    "eryxon_dispatcher_enable_endpoint": ([_dispatcher_p, c_char_p, c_char_p], c_int),
    # eryxon_status eryxon_dispatcher_replay(uint64_t *out_count,
    #     eryxon_dispatcher_t *dispatcher, const char *tenant_id,
    #     const char *endpoint_id, int64_t from_seq);
    "eryxon_dispatcher_replay": ([_u64_p, _dispatcher_p, c_char_p, c_char_p, c_int64], c_int),
    # eryxon_status eryxon_dispatcher_endpoint_state(char **out_json,
    #     eryxon_dispatcher_t *dispatcher, const char *tenant_id, const char *endpoint_id);
    "eryxon_dispatcher_endpoint_state": ([_out_str, _dispatcher_p, c_char_p, c_char_p], c_int),
    # eryxon_status eryxon_dispatcher_deliveries(char **out_json,
    #     eryxon_dispatcher_t *dispatcher, const char *tenant_id,
    #     const char *endpoint_id, const char *status, int64_t limit);
    "eryxon_dispatcher_deliveries": (
        [_out_str, _dispatcher_p, c_char_p, c_char_p, c_char_p, c_int64],
        c_int,
    ),
    # eryxon_status eryxon_dispatcher_delivery_log(char **out_json,
    #     eryxon_dispatcher_t *dispatcher, const char *tenant_id,
    #     const char *endpoint_id, int64_t limit);
    "eryxon_dispatcher_delivery_log": ([_out_str, _dispatcher_p, c_char_p, c_char_p, c_int64], c_int),
    # eryxon_status eryxon_dispatcher_subscribe(uint64_t *out_subscription_id,
    #     eryxon_dispatcher_t *dispatcher, const char *tenant_id,
    #     const char *filter_json, eryxon_event_cb callback, void *payload);
    "eryxon_dispatcher_subscribe": (
        [_u64_p, _dispatcher_p, c_char_p, c_char_p, eryxon_event_cb, c_void_p],
        c_int,
    ),
    # eryxon_status eryxon_dispatcher_unsubscribe(eryxon_dispatcher_t *dispatcher,
    #     uint64_t subscription_id);
    "eryxon_dispatcher_unsubscribe": ([_dispatcher_p, c_uint64], c_int),
    # eryxon_status eryxon_dispatcher_subscription_stats(char **out_json,
    #     eryxon_dispatcher_t *dispatcher, uint64_t subscription_id);
    "eryxon_dispatcher_subscription_stats": ([_out_str, _dispatcher_p, c_uint64], c_int),
}

_declare(_EVENT_PROTOTYPES)
__all__.extend(["eryxon_dispatcher_t", "eryxon_event_cb"])


# Host tools: tools the host registers with a handler, the last section of
# eryxon.h.
from ctypes import c_double  # noqa: E402


class eryxon_tool_run_t(ctypes.Structure):
    """Opaque ``eryxon_tool_run_t``; only ever used through a pointer."""


_run_p = POINTER(eryxon_tool_run_t)

#: ``typedef int (*eryxon_tool_handler)(char **out_json, eryxon_tool_run_t *run,
#: const char *arguments_json, const char *context_json, void *payload);``
#: out_json is declared as ``void **`` so the handler can store a malloc'ed
#: pointer the library frees.
eryxon_tool_handler = CFUNCTYPE(c_int, POINTER(c_void_p), _run_p, c_char_p, c_char_p, c_void_p)

_HOST_TOOL_PROTOTYPES = {
    # eryxon_status eryxon_tool_register(eryxon_store_t *store, const char *name,
    #     const char *description, const char *input_schema_json,
    #     const char *annotations_json, eryxon_tool_handler handler, void *payload);
    "eryxon_tool_register": (
        [_store_p, c_char_p, c_char_p, c_char_p, c_char_p, eryxon_tool_handler, c_void_p],
        c_int,
    ),
    # eryxon_status eryxon_tool_unregister(eryxon_store_t *store, const char *name);
    "eryxon_tool_unregister": ([_store_p, c_char_p], c_int),
    # int eryxon_tool_run_cancelled(const eryxon_tool_run_t *run);
    "eryxon_tool_run_cancelled": ([_run_p], c_int),
    # eryxon_status eryxon_tool_run_progress(eryxon_tool_run_t *run, double progress,
    #     double total, const char *message);
    "eryxon_tool_run_progress": ([_run_p, c_double, c_double, c_char_p], c_int),
}

_declare(_HOST_TOOL_PROTOTYPES)
__all__.extend(["eryxon_tool_run_t", "eryxon_tool_handler"])


# Domain actions, limits, REST and MCP sessions for hosts (eryxon.h, after
# the host tools).


class eryxon_mcp_session_t(ctypes.Structure):
    """Opaque ``eryxon_mcp_session_t``; only ever used through a pointer."""


_session_p = POINTER(eryxon_mcp_session_t)
_session_pp = POINTER(_session_p)

#: ``typedef void (*eryxon_mcp_message_cb)(const char *message, void *payload);``
eryxon_mcp_message_cb = CFUNCTYPE(None, c_char_p, c_void_p)

_HOST_PROTOTYPES = {
    # eryxon_status eryxon_shop_action(char **out_json, eryxon_store_t *store,
    #     const char *tenant_id, const char *action, const char *arguments_json);
    "eryxon_shop_action": ([_out_str, _store_p, c_char_p, c_char_p, c_char_p], c_int),
    # eryxon_status eryxon_shop_actions(char **out_json, eryxon_store_t *store);
    "eryxon_shop_actions": ([_out_str, _store_p], c_int),
    # eryxon_status eryxon_rate_limit_check(char **out_json, eryxon_store_t *store,
    #     const char *key, int64_t requests_per_minute, int64_t burst, int64_t cost);
    "eryxon_rate_limit_check": ([_out_str, _store_p, c_char_p, c_int64, c_int64, c_int64], c_int),
    # eryxon_status eryxon_quota_check(char **out_json, eryxon_store_t *store,
    #     const char *tenant_id, int64_t cost, int consume);
    "eryxon_quota_check": ([_out_str, _store_p, c_char_p, c_int64, c_int], c_int),
    # eryxon_status eryxon_rest_handle(char **out_json, eryxon_store_t *store,
    #     const char *request_json);
    "eryxon_rest_handle": ([_out_str, _store_p, c_char_p], c_int),
    # eryxon_status eryxon_mcp_session_create(eryxon_mcp_session_t **out,
    #     eryxon_store_t *store, const char *options_json,
    #     eryxon_mcp_message_cb on_message, void *payload);
    "eryxon_mcp_session_create": (
        [_session_pp, _store_p, c_char_p, eryxon_mcp_message_cb, c_void_p],
        c_int,
    ),
    # eryxon_status eryxon_mcp_session_handle(char **out_reply,
    #     eryxon_mcp_session_t *session, const char *message);
    "eryxon_mcp_session_handle": ([_out_str, _session_p, c_char_p], c_int),
    # void eryxon_mcp_session_free(eryxon_mcp_session_t **session);
    "eryxon_mcp_session_free": ([_session_pp], None),
}

# Key lifecycle and tenant reads.
_HOST_PROTOTYPES.update({
    # eryxon_status eryxon_key_create_ex(char **out_json, eryxon_store_t *store,
    #     const char *tenant_id, const char *options_json);
    "eryxon_key_create_ex": ([_out_str, _store_p, c_char_p, c_char_p], c_int),
    # eryxon_status eryxon_key_set_enabled(char **out_json, eryxon_store_t *store,
    #     const char *tenant_id, const char *key_row_id, int enabled);
    "eryxon_key_set_enabled": ([_out_str, _store_p, c_char_p, c_char_p, c_int], c_int),
    # eryxon_status eryxon_key_rotate(char **out_json, eryxon_store_t *store,
    #     const char *tenant_id, const char *key_row_id, int64_t grace_seconds);
    "eryxon_key_rotate": ([_out_str, _store_p, c_char_p, c_char_p, c_int64], c_int),
    # eryxon_status eryxon_key_delete(eryxon_store_t *store, const char *tenant_id,
    #     const char *key_row_id);
    "eryxon_key_delete": ([_store_p, c_char_p, c_char_p], c_int),
    # eryxon_status eryxon_tenant_get(char **out_json, eryxon_store_t *store,
    #     const char *tenant_id);
    "eryxon_tenant_get": ([_out_str, _store_p, c_char_p], c_int),
    # eryxon_status eryxon_tenant_list(char **out_json, eryxon_store_t *store);
    "eryxon_tenant_list": ([_out_str, _store_p], c_int),
})
# Static MCP resources and prompts of a store.
_HOST_PROTOTYPES.update({
    # eryxon_status eryxon_mcp_resource_add(eryxon_store_t *store, const char *resource_json);
    "eryxon_mcp_resource_add": ([_store_p, c_char_p], c_int),
    # eryxon_status eryxon_mcp_prompt_add(eryxon_store_t *store, const char *prompt_json);
    "eryxon_mcp_prompt_add": ([_store_p, c_char_p], c_int),
    # eryxon_status eryxon_mcp_catalog_remove(eryxon_store_t *store, const char *kind,
    #     const char *id);
    "eryxon_mcp_catalog_remove": ([_store_p, c_char_p, c_char_p], c_int),
})
_declare(_HOST_PROTOTYPES)
__all__.extend(["eryxon_mcp_session_t", "eryxon_mcp_message_cb"])
