"""The live-handle lease shared by Store and Dispatcher (internal).

A wrapped C handle may be used by several Python threads at once while
another thread closes it. Each call leases the handle with ``_handle()``;
``close()`` takes ``_ptr`` away under ``_cond`` and waits until ``_active``
is 0 before freeing it, so no call ever passes a freed handle to C.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Iterator

from . import _native
from ._errors import InvalidArgument


class HandleLease:
    """Mixin: ``_ptr`` (the handle or None), ``_cond`` and ``_active``.

    Subclasses set ``_closed_message`` and call ``_init_lease()`` first in
    ``__init__``.
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
