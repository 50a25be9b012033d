"""Standard Webhooks v1 signatures (the webhook sink of SPEC "Events").

A thin layer over the ``eryxon_webhook_*`` functions of ``eryxon.h``; the
scheme is Standard Webhooks 1.0.0 (github.com/standard-webhooks/
standard-webhooks, ``spec/standard-webhooks.md``)::

    from eryxon import webhooks

    secret = webhooks.generate_secret()              # "whsec_..." (32 bytes)
    msg_id = webhooks.new_message_id()               # "msg_..."
    headers = webhooks.signed_headers(secret, msg_id, int(time.time()), body)
    # ... POST body with headers; on the receiving side:
    webhooks.verify(secret, request_headers, body)   # raises on failure

A webhook carries ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and
``webhook-signature``: a space-separated list of
``v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>``.

``secret`` arguments take one secret (``"whsec_" + base64`` of 24..64 bytes,
or the bare base64) or an iterable of them, e.g. the new and the old secret
during a rotation. ``body`` is the exact request body: bytes, or str (sent as
UTF-8).

Errors: :class:`~eryxon.InvalidArgument` for malformed input (missing or
empty header, bad secret, id containing ``.``, non-numeric timestamp,
signature list entry without ``version,``); :class:`~eryxon.AuthenticationError`
when a well-formed webhook does not verify (timestamp more than ``tolerance``
seconds from now, no matching ``v1`` signature). Messages never quote a
secret.

Thread safety: every function is stateless and may be called from any thread.
"""

from __future__ import annotations

import time
from ctypes import byref, c_void_p
from typing import Iterable, Mapping, Optional, Union

from . import _native
from ._errors import InvalidArgument, error_for_status

__all__ = [
    "DEFAULT_TOLERANCE",
    "generate_secret",
    "new_message_id",
    "sign",
    "signed_headers",
    "verify",
]

#: Seconds webhook-timestamp may lie before or after now (the spec's
#: reference libraries use 5 minutes).
DEFAULT_TOLERANCE = 300

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

Secrets = Union[str, bytes, Iterable[Union[str, bytes]]]
Body = Union[bytes, bytearray, memoryview, str]


def _last_error() -> str:
    raw = _native.eryxon_error_last()
    return raw.decode("utf-8", "replace") if raw else ""


def _raise_for(status: int) -> None:
    if status != _native.ERYXON_OK:
        raise error_for_status(status, _last_error())


def _c_text(value: Union[str, bytes], what: str) -> bytes:
    if isinstance(value, str):
        data = value.encode("utf-8")
    elif isinstance(value, bytes):
        data = value
    else:
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    if b"\0" in data:
        raise InvalidArgument(f"{what} must not contain NUL characters")
    return data


def _secrets(secret: Secrets) -> bytes:
    """The space-separated list the C ABI takes."""
    items = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    if not items:
        raise InvalidArgument("at least one webhook secret is required")
    out = []
    for item in items:
        data = _c_text(item, "secret")
        if not data or any(c in data for c in b" \t\r\n"):
            raise InvalidArgument("each webhook secret must be non-empty and free of whitespace")
        out.append(data)
    return b" ".join(out)


def _body(body: Body) -> bytes:
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise TypeError(f"body must be bytes or str, not {type(body).__name__}")


def _int64(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be int (seconds), not {type(value).__name__}")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise InvalidArgument(f"{what} is out of range")
    return value


def _take(fn, *args) -> str:
    out = c_void_p()
    status = fn(byref(out), *args)
    message = _last_error() if status != _native.ERYXON_OK else ""
    text = _native.take_string(out)
    if status != _native.ERYXON_OK:
        raise error_for_status(status, message)
    return text.decode("utf-8")


def generate_secret(num_bytes: int = 32) -> str:
    """A new signing secret, ``"whsec_" + base64`` of ``num_bytes`` (24..64)
    random bytes from libsodium."""
    if isinstance(num_bytes, bool) or not isinstance(num_bytes, int):
        raise TypeError("num_bytes must be int")
    if not 24 <= num_bytes <= 64:
        raise InvalidArgument("a webhook secret must be 24..64 bytes")
    return _take(_native.eryxon_webhook_secret_generate, num_bytes)


def new_message_id() -> str:
    """A new webhook-id: ``"msg_"`` + 26 Crockford base32 characters (128
    random bits)."""
    return _take(_native.eryxon_webhook_message_id)


def sign(secret: Secrets, msg_id: str, timestamp: int, body: Body) -> str:
    """The webhook-signature header value for ``body`` sent as ``msg_id`` at
    ``timestamp`` (Unix seconds, int): ``"v1,<base64>"`` per secret, in the
    order given, separated by spaces.

    ``msg_id``: 1..255 visible ASCII characters without ``.``.
    """
    data = _body(body)
    return _take(
        _native.eryxon_webhook_sign,
        _secrets(secret),
        _c_text(msg_id, "msg_id"),
        _int64(timestamp, "timestamp"),
        data,
        len(data),
    )


def signed_headers(secret: Secrets, msg_id: str, timestamp: int, body: Body) -> dict:
    """The three request headers: ``{"webhook-id": msg_id, "webhook-timestamp":
    str(timestamp), "webhook-signature": sign(...)}``."""
    signature = sign(secret, msg_id, timestamp, body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def _header(headers: Mapping[str, str], name: str) -> bytes:
    found = [v for k, v in headers.items() if isinstance(k, str) and k.lower() == name]
    if not found:
        raise InvalidArgument(f"missing {name} header")
    if len(found) > 1:
        raise InvalidArgument(f"duplicate {name} header")
    return _c_text(found[0], name)


def verify(
    secret: Secrets,
    headers: Mapping[str, str],
    body: Body,
    *,
    now: Optional[int] = None,
    tolerance: int = DEFAULT_TOLERANCE,
) -> None:
    """Verifies a received webhook; returns None or raises.

    ``headers``: the request headers (names matched case-insensitively; only
    webhook-id, webhook-timestamp and webhook-signature are read). ``body``:
    the raw request body. ``now``: Unix seconds, default the system clock.
    ``tolerance``: seconds, >= 0.

    Raises InvalidArgument for a missing, duplicate or malformed header or
    secret, AuthenticationError when the timestamp is outside ``now`` +-
    ``tolerance`` or no ``v1`` signature matches under any of the secrets.
    """
    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signature = _header(headers, "webhook-signature")
    data = _body(body)
    now_s = int(time.time()) if now is None else _int64(now, "now")
    status = _native.eryxon_webhook_verify(
        _secrets(secret),
        msg_id,
        timestamp,
        signature,
        data,
        len(data),
        now_s,
        _int64(tolerance, "tolerance"),
    )
    _raise_for(status)
