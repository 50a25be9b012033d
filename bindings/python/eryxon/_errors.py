"""The exception hierarchy: one class per eryxon_status.

Every failure of the library is an :class:`EryxonError` carrying

* ``status``: the negative ``eryxon_status`` code (e.g. ``-2``);
* ``message``: ``eryxon_error_last()`` of the failing call;
* ``result``: for a tool that ran and failed, the parsed tool result
  (``{"success": False, "error": {"code": ..., "message": ..., "context": ...}}``),
  else ``None``.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Type

from . import _native

__all__ = [
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
    "error_for_status",
    "status_name",
]


def status_name(status: int) -> str:
    """``eryxon_status_str``: e.g. ``"ERYXON_ENOTFOUND"``."""
    return _native.eryxon_status_str(status).decode("ascii", "replace")


class EryxonError(Exception):
    """Base class of every error raised by the eryxon binding."""

    #: The eryxon_status of this class (subclasses override it).
    status: int = _native.ERYXON_EINTERNAL

    def __init__(
        self,
        message: str = "",
        status: Optional[int] = None,
        result: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.message = message
        self.result = result

    @property
    def code(self) -> Optional[str]:
        """The tool error's wire code (``"NOT_FOUND"``...) when a tool ran."""
        if isinstance(self.result, dict):
            error = self.result.get("error")
            if isinstance(error, dict):
                code = error.get("code")
                return code if isinstance(code, str) else None
        return None

    def __str__(self) -> str:
        return f"{status_name(self.status)}: {self.message}" if self.message else status_name(self.status)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(message={self.message!r}, status={self.status})"


class InvalidArgument(EryxonError, ValueError):
    """ERYXON_EINVALID (VALIDATION_ERROR): bad argument, JSON or input."""

    status = _native.ERYXON_EINVALID


class NotFound(EryxonError, LookupError):
    """ERYXON_ENOTFOUND (NOT_FOUND): no such row in the caller's tenant."""

    status = _native.ERYXON_ENOTFOUND


class Duplicate(EryxonError):
    """ERYXON_EDUPLICATE (DUPLICATE_ENTRY): a unique name or number is taken."""

    status = _native.ERYXON_EDUPLICATE


class InvalidStateTransition(EryxonError):
    """ERYXON_ESTATE (INVALID_STATE_TRANSITION): the status machine refused."""

    status = _native.ERYXON_ESTATE


class PermissionDenied(EryxonError):
    """ERYXON_EPERMISSION (INSUFFICIENT_PERMISSIONS): tool not allowed for the key."""

    status = _native.ERYXON_EPERMISSION


class AuthenticationError(EryxonError):
    """ERYXON_EAUTH (AUTHENTICATION_ERROR): key malformed, unknown or disabled."""

    status = _native.ERYXON_EAUTH


class RateLimited(EryxonError):
    """ERYXON_ERATE_LIMITED (RATE_LIMITED): too many requests for the key."""

    status = _native.ERYXON_ERATE_LIMITED


class QuotaExceeded(EryxonError):
    """ERYXON_EQUOTA (QUOTA_EXCEEDED): the tenant's plan quota is used up."""

    status = _native.ERYXON_EQUOTA


class Conflict(EryxonError):
    """ERYXON_ECONFLICT (CONFLICT): the row changed concurrently; retry."""

    status = _native.ERYXON_ECONFLICT


class DatabaseError(EryxonError):
    """ERYXON_EDATABASE (DATABASE_ERROR): the storage engine failed."""

    status = _native.ERYXON_EDATABASE


class InternalError(EryxonError):
    """ERYXON_EINTERNAL (INTERNAL_ERROR): a bug or out of memory."""

    status = _native.ERYXON_EINTERNAL


class UnknownTool(EryxonError):
    """ERYXON_EUNKNOWN_TOOL: no tool of that name."""

    status = _native.ERYXON_EUNKNOWN_TOOL


_BY_STATUS: Dict[int, Type[EryxonError]] = {
    cls.status: cls
    for cls in (
        InvalidArgument,
        NotFound,
        Duplicate,
        InvalidStateTransition,
        PermissionDenied,
        AuthenticationError,
        RateLimited,
        QuotaExceeded,
        Conflict,
        DatabaseError,
        InternalError,
        UnknownTool,
    )
}


def error_for_status(
    status: int, message: str = "", result: Optional[Dict[str, Any]] = None
) -> EryxonError:
    """The exception for a failed call (EryxonError itself for unknown codes)."""
    cls = _BY_STATUS.get(status, EryxonError)
    return cls(message, status=status, result=result)
