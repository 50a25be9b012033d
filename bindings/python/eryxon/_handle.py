"""The live-handle lease shared by Store, Dispatcher and McpSession (internal).

A wrapped C handle may be used by several Python threads at once while
another thread closes it. Each call leases the handle with ``_handle()``;
``close()`` takes ``_ptr`` away under ``_cond`` and waits until ``_active``
is 0 before freeing it, so no call ever passes a freed handle to C.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Iterator, TypeVar

from . import _native
from ._errors import InvalidArgument


_Self = TypeVar("_Self", bound="HandleLease")


class HandleLease:
    """Mixin: ``_ptr`` (the handle or None), ``_cond`` and ``_active``.

    Subclasses set ``_closed_message``, call ``_init_lease()`` first in
    ``__init__`` and define ``close()`` around ``_take_handle()``; the mixin
    gives them ``closed``, the context-manager protocol and a ``__del__``
    that closes.
    """

    _closed_message = "the handle is closed"

    def _init_lease(self) -> None:
        self._ptr = None  # set first: __del__ may run after a failed create
        self._cond = threading.Condition()
        self._active = 0

    def _handle_check(self) -> None:
        if self._ptr is None:
            raise InvalidArgument(self._closed_message, status=_native.ERYXON_EINVALID)

    @contextmanager
    def _handle(self) -> Iterator[Any]:
        """The live handle for one call; close() waits until it is returned."""
        with self._cond:
            self._handle_check()
            self._active += 1
            ptr = self._ptr
        try:
            yield ptr
        finally:
            with self._cond:
                self._active -= 1
                if not self._active:
                    self._cond.notify_all()

    def _take_handle(self) -> Any:
        """Takes the handle away (later calls fail with the closed message)
        and waits until no call holds it. Returns it for the caller to free,
        or None when it was already closed or never created."""
        cond = getattr(self, "_cond", None)
        if cond is None:  # __init__ failed before _init_lease()
            return None
        with cond:
            ptr, self._ptr = self._ptr, None
            while self._active:
                cond.wait()
        return ptr

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _Self) -> _Self:
        self._handle_check()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown, or a callback thread
            pass
