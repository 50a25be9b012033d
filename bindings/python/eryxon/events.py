"""Events: the outbox dispatcher, delivery endpoints and live subscriptions.

A thin layer over the ``eryxon_dispatcher_*`` functions of ``eryxon.h``.
Every domain action (a tool call such as ``create_job``) writes an event to
the store's outbox; a :class:`Dispatcher` reads it in rounds and delivers
each event to the tenant's endpoints (signed webhooks, MQTT publishers: at
least once, retried, logged) and to live in-process subscriptions::

    import eryxon

    with eryxon.Store.open("shop.db") as store, eryxon.Dispatcher(store) as dispatcher:
        dispatcher.start()                               # background rounds
        hook = dispatcher.add_webhook(tenant_id, "https://erp.example/hooks",
                                      secret, event_types=["job.*"])

        def on_event(event):                             # on the subscription's thread
            print(event["event"], event["entity_id"])

        with dispatcher.subscribe(tenant_id, on_event, table="jobs"):
            store.call_tool(key, "create_job", {"job_number": "J-1", "customer": "Acme"})
            ...

An event is a dict: ``id`` ("evt_...", stable across deliveries),
``seq``, ``tenant_id``, ``event`` (e.g. "job.created"), ``entity_type``
(the table), ``entity_id``, ``cell_name``, ``occurred_at`` (RFC 3339 UTC),
``occurred_at_ms`` (epoch ms) and ``data`` (``{"previous", "current", ...}``).

Callbacks run on the subscription's own thread (one per subscription, one
call at a time, in outbox order), never on the thread that subscribed. An
exception raised by a callback is caught here, logged on the
``eryxon.events`` logger and counted as ``failed`` in :meth:`Subscription.stats`;
it never reaches the library. A slow callback delays only its own
subscription, whose queue (``queue_capacity`` events) then drops new events.

Lifetime: a subscription lives until :meth:`Subscription.close`, the end of
its ``with`` block, or :meth:`Dispatcher.close`; dropping the Python object
does not end it. After ``close()`` returns its callback is not running and
is never called again (closing from inside the callback itself returns at
once; that call is the last). A dispatcher is closed before its store: a
store's ``close()`` closes its dispatchers first, and live dispatchers are
closed at interpreter exit. Neither may be closed from one of the
dispatcher's callbacks.

Thread safety: every method may be called from any thread (ctypes releases
the GIL during calls); ``close()`` waits for calls in flight.
"""

from __future__ import annotations

import atexit
import itertools
import json
import logging
import threading
import weakref
from ctypes import POINTER, byref, c_uint64, c_void_p
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Union

from . import _native
from ._handle import HandleLease
from ._errors import InvalidArgument, error_for_status

__all__ = ["Dispatcher", "Subscription", "logger"]

#: Where callback exceptions are logged (``logger.exception``).
logger = logging.getLogger("eryxon.events")

Json = Dict[str, Any]
Patterns = Union[str, Iterable[str]]


def _last_error() -> str:
    raw = _native.eryxon_error_last()
    return raw.decode("utf-8", "replace") if raw else ""


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


def _json_arg(value: Mapping[str, Any], what: str) -> bytes:
    try:
        return json.dumps(dict(value), ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as e:
        raise InvalidArgument(f"{what} is not JSON-serialisable: {e}") from e


def _patterns(value: Patterns, what: str) -> List[str]:
    items = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(p, str) for p in items):
        raise TypeError(f"{what} must be event type patterns (str)")
    return items


def _check(status: int, message: str) -> None:
    if status != _native.ERYXON_OK:
        raise error_for_status(status, message)


# -- the one C callback ------------------------------------------------------
#
# Every Python subscription goes through one module-level trampoline: its
# payload is an integer token that names the subscription in _registry.
# The CFUNCTYPE object lives as long as the module (the process), so no call
# can ever land on a freed thunk, even one still returning from a callback
# that ended its own subscription.

_registry: Dict[int, "Subscription"] = {}
_registry_lock = threading.Lock()
_tokens = itertools.count(1)
_in_callback = threading.local()  # .dispatcher while a callback runs on this thread


def _trampoline(event_json: Optional[bytes], payload: Optional[int]) -> int:
    try:
        with _registry_lock:
            subscription = _registry.get(payload or 0)
        if subscription is None:  # closed meanwhile: nothing to call
            return 0
        return subscription._deliver(event_json or b"{}")
    except BaseException:  # never unwind into C
        try:
            logger.exception("eryxon: subscription callback dispatch failed")
        except BaseException:
            pass
        return 1


_TRAMPOLINE = _native.eryxon_event_cb(_trampoline)


class Subscription:
    """A live subscription made by :meth:`Dispatcher.subscribe`.

    ``id`` is the library's subscription id; ``tenant_id`` and ``callback``
    are as given. Use it as a context manager or call :meth:`close`.
    """

    def __init__(self, dispatcher: "Dispatcher", tenant_id: str, callback: Callable[[Json], Any]) -> None:
        self.dispatcher = dispatcher
        self.tenant_id = tenant_id
        self.callback = callback
        self.id = 0
        self._token = next(_tokens)
        self._closed = False
        self._lock = threading.Lock()

    def _deliver(self, event_json: bytes) -> int:
        """Runs the callback for one event; 0 when it returned, 1 when it raised."""
        previous = getattr(_in_callback, "dispatcher", None)
        _in_callback.dispatcher = self.dispatcher
        try:
            self.callback(json.loads(event_json))
            return 0
        except Exception:
            logger.exception("eryxon: callback of subscription %d raised", self.id)
            return 1
        finally:
            _in_callback.dispatcher = previous

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Ends the subscription; idempotent. When it returns the callback is
        not running and is never called again (called from the callback
        itself, it returns at once and the current call is the last)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self.dispatcher._unsubscribe(self)
        finally:
            with _registry_lock:
                _registry.pop(self._token, None)

    def stats(self) -> Json:
        """``{"delivered", "failed", "dropped"}``: callbacks that returned,
        callbacks that raised, events dropped because the queue was full.
        Raises NotFound once the subscription has ended."""
        return self.dispatcher._subscription_stats(self.id)

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "live"
        return f"<eryxon.Subscription {self.id} of {self.tenant_id!r} {state}>"


# Dispatchers still open, closed at interpreter exit (before the threads
# that call into Python could outlive it).
_live: "weakref.WeakSet[Dispatcher]" = weakref.WeakSet()


@atexit.register
def _close_live_dispatchers() -> None:
    for dispatcher in list(_live):
        try:
            dispatcher.close()
        except Exception:
            pass


class Dispatcher(HandleLease):
    """The outbox dispatcher of a :class:`~eryxon.Store` (``eryxon_dispatcher_t``).

    Options (None = the library's default): ``poll_interval_ms`` (100),
    ``batch`` (500), ``retry_delays_ms`` (wait after each failed attempt,
    ms; default 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; ``[]`` = one
    attempt only), ``retry_jitter`` (0.2). Nothing runs until :meth:`start`
    or :meth:`run_once`.
    """

    _closed_message = "the dispatcher is closed"

    def __init__(
        self,
        store: Any,
        *,
        poll_interval_ms: Optional[int] = None,
        batch: Optional[int] = None,
        retry_delays_ms: Optional[Iterable[int]] = None,
        retry_jitter: Optional[float] = None,
    ) -> None:
        self._init_lease()
        self._subscriptions: Dict[int, Subscription] = {}
        options: Json = {}
        if poll_interval_ms is not None:
            options["poll_interval_ms"] = poll_interval_ms
        if batch is not None:
            options["batch"] = batch
        if retry_delays_ms is not None:
            options["retry_delays_ms"] = list(retry_delays_ms)
        if retry_jitter is not None:
            options["retry_jitter"] = retry_jitter
        ptr = POINTER(_native.eryxon_dispatcher_t)()
        with store._handle() as store_ptr:
            status = _native.eryxon_dispatcher_create(
                byref(ptr), store_ptr, _json_arg(options, "options")
            )
            message = _last_error() if status != _native.ERYXON_OK else ""
            _check(status, message)
            self._ptr = ptr
            self.store = store
            store._dependents.add(self)
        _live.add(self)

    # -- lifecycle -------------------------------------------------------

    def close(self) -> None:
        """Stops the background thread, ends every subscription (waiting for
        running callbacks) and frees the dispatcher. Idempotent. Waits for
        calls running on other threads first. Raises InvalidArgument when
        called from one of this dispatcher's callbacks."""
        if getattr(_in_callback, "dispatcher", None) is self:
            raise InvalidArgument("a dispatcher cannot be closed from one of its own callbacks")
        ptr = self._take_handle()
        if ptr is None:
            return
        _native.eryxon_dispatcher_free(byref(ptr))
        # No callback runs any more: forget the subscriptions.
        with self._cond:
            subscriptions, self._subscriptions = list(self._subscriptions.values()), {}
        for s in subscriptions:
            s._closed = True
            with _registry_lock:
                _registry.pop(s._token, None)
        _live.discard(self)

    def __repr__(self) -> str:
        return f"<eryxon.Dispatcher {'closed' if self.closed else 'open'}>"


    def _call(self, fn: Any, *args: Any) -> None:
        with self._handle() as ptr:
            status = fn(ptr, *args)
            message = _last_error() if status != _native.ERYXON_OK else ""
        _check(status, message)

    def _call_count(self, fn: Any, *args: Any) -> int:
        out = c_uint64(0)
        with self._handle() as ptr:
            status = fn(byref(out), ptr, *args)
            message = _last_error() if status != _native.ERYXON_OK else ""
        _check(status, message)
        return out.value

    def _call_json(self, fn: Any, *args: Any) -> Any:
        out = c_void_p()
        with self._handle() as ptr:
            status = fn(byref(out), ptr, *args)
            message = _last_error() if status != _native.ERYXON_OK else ""
        text = _native.take_string(out)
        _check(status, message)
        return json.loads(text)

    # -- rounds ----------------------------------------------------------

    def start(self) -> None:
        """Runs rounds on a background thread until :meth:`stop` or close."""
        self._call(_native.eryxon_dispatcher_start)

    def stop(self) -> None:
        """Ends the background thread after its current round."""
        self._call(_native.eryxon_dispatcher_stop)

    def notify(self) -> None:
        """Wakes the background thread now (e.g. after a commit)."""
        self._call(_native.eryxon_dispatcher_notify)

    def run_once(self) -> int:
        """One round on this thread; returns the delivery attempts made."""
        return self._call_count(_native.eryxon_dispatcher_run_once)

    # -- endpoints -------------------------------------------------------

    def add_endpoint(self, tenant_id: str, config: Mapping[str, Any]) -> str:
        """Registers an endpoint from its JSON configuration (see
        ``eryxon_dispatcher_add_endpoint``: ``type`` "webhook" or "mqtt",
        optional ``id`` and ``event_types``, and the type's members);
        returns its id. A new endpoint receives events committed from its
        first round on."""
        out = c_void_p()
        with self._handle() as ptr:
            status = _native.eryxon_dispatcher_add_endpoint(
                byref(out), ptr, _c_text(tenant_id, "tenant_id"), _json_arg(config, "config")
            )
            message = _last_error() if status != _native.ERYXON_OK else ""
        text = _native.take_string(out)
        _check(status, message)
        return text.decode("utf-8")

    def add_webhook(
        self,
        tenant_id: str,
        url: str,
        secrets: Union[str, Iterable[str]],
        *,
        event_types: Patterns = ("*",),
        endpoint_id: Optional[str] = None,
        timeout_ms: Optional[int] = None,
        connect_timeout_ms: Optional[int] = None,
    ) -> str:
        """Registers a Standard Webhooks endpoint: signed POSTs of each event
        to ``url`` (http:// or https://). ``secrets``: one "whsec_..." secret
        or several (new first during a rotation). Returns the endpoint id
        (``endpoint_id``, or a new "ep_<uuid>"); keep it to register the
        endpoint under the same id after a restart."""
        config: Json = {
            "type": "webhook",
            "url": url,
            "secrets": [secrets] if isinstance(secrets, str) else list(secrets),
            "event_types": _patterns(event_types, "event_types"),
        }
        if endpoint_id is not None:
            config["id"] = endpoint_id
        if timeout_ms is not None:
            config["timeout_ms"] = timeout_ms
        if connect_timeout_ms is not None:
            config["connect_timeout_ms"] = connect_timeout_ms
        return self.add_endpoint(tenant_id, config)

    def add_mqtt(
        self,
        tenant_id: str,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        event_types: Patterns = ("*",),
        endpoint_id: Optional[str] = None,
        **options: Any,
    ) -> str:
        """Registers an MQTT publisher (QoS 1, topics
        ``{enterprise}/{site}/{area}/{cell}/{event}``). ``options``: any of
        username, password, tls, ca_file, client_id, enterprise, site, area,
        keepalive_s, publish_timeout_ms, reconnect_delay_s,
        reconnect_delay_max_s. A broker that is down is not an error."""
        config: Json = dict(options)
        config.update(type="mqtt", host=host, port=port,
                      event_types=_patterns(event_types, "event_types"))
        if endpoint_id is not None:
            config["id"] = endpoint_id
        return self.add_endpoint(tenant_id, config)

    def remove_endpoint(self, tenant_id: str, endpoint_id: str) -> None:
        """Stops delivering to the tenant's endpoint (its stored state
        stays). Raises NotFound when the tenant has no endpoint of that id
        registered."""
        self._call(_native.eryxon_dispatcher_remove_endpoint, _c_text(tenant_id, "tenant_id"),
                   _c_text(endpoint_id, "endpoint_id"))

    def enable_endpoint(self, tenant_id: str, endpoint_id: str) -> None:
        """Clears the disabled flag an HTTP 410 Gone set."""
        self._call(
            _native.eryxon_dispatcher_enable_endpoint,
            _c_text(tenant_id, "tenant_id"),
            _c_text(endpoint_id, "endpoint_id"),
        )

    def replay(self, tenant_id: str, endpoint_id: str, from_seq: Optional[int] = None) -> int:
        """Makes the endpoint's dead deliveries pending again (``from_seq``
        None), or every delivery with seq >= ``from_seq`` including events
        from before its registration. Returns how many are pending again."""
        if from_seq is None:
            seq = -1
        elif isinstance(from_seq, bool) or not isinstance(from_seq, int) or from_seq < 0:
            raise InvalidArgument("from_seq must be an int >= 0 or None")
        else:
            seq = from_seq
        return self._call_count(
            _native.eryxon_dispatcher_replay,
            _c_text(tenant_id, "tenant_id"),
            _c_text(endpoint_id, "endpoint_id"),
            seq,
        )

    def endpoint_state(self, tenant_id: str, endpoint_id: str) -> Json:
        """``{"endpoint_id", "cursor_seq", "disabled", "disabled_reason",
        "updated_at"}``; NotFound before the endpoint's first round."""
        return self._call_json(
            _native.eryxon_dispatcher_endpoint_state,
            _c_text(tenant_id, "tenant_id"),
            _c_text(endpoint_id, "endpoint_id"),
        )

    def deliveries(
        self, tenant_id: str, endpoint_id: str, status: Optional[str] = None, limit: int = 0
    ) -> List[Json]:
        """The endpoint's deliveries in seq order (``status``: None or
        "pending", "delivered", "dead"; ``limit`` 0 = 1000)."""
        return self._call_json(
            _native.eryxon_dispatcher_deliveries,
            _c_text(tenant_id, "tenant_id"),
            _c_text(endpoint_id, "endpoint_id"),
            None if status is None else _c_text(status, "status"),
            limit,
        )

    def delivery_log(self, tenant_id: str, endpoint_id: str, limit: int = 0) -> List[Json]:
        """The endpoint's latest attempts, newest first (``limit`` 0 = 100):
        ``{"id", "seq", "event_id", "attempt", "outcome", "http_status",
        "detail", "duration_ms", "created_at", ...}``."""
        return self._call_json(
            _native.eryxon_dispatcher_delivery_log,
            _c_text(tenant_id, "tenant_id"),
            _c_text(endpoint_id, "endpoint_id"),
            limit,
        )

    # -- subscriptions ---------------------------------------------------

    def subscribe(
        self,
        tenant_id: str,
        callback: Callable[[Json], Any],
        *,
        table: Optional[str] = None,
        entity_id: Optional[str] = None,
        event_types: Optional[Patterns] = None,
        queue_capacity: Optional[int] = None,
    ) -> Subscription:
        """Calls ``callback(event)`` for every event of ``tenant_id``
        committed from now on that is about ``table`` (the event's
        ``entity_type``, e.g. "jobs") and ``entity_id`` when given and whose
        name matches ``event_types`` (patterns such as "job.*"; default
        every event). Events arrive through rounds: :meth:`start` the
        dispatcher or call :meth:`run_once`. ``queue_capacity``: events
        waiting for the callback at most (default 10000). Returns the
        :class:`Subscription`; it stays live until closed."""
        if not callable(callback):
            raise TypeError("callback must be callable")
        flt: Json = {}
        if table is not None:
            flt["table"] = table
        if entity_id is not None:
            flt["entity_id"] = entity_id
        if event_types is not None:
            flt["event_types"] = _patterns(event_types, "event_types")
        if queue_capacity is not None:
            flt["queue_capacity"] = queue_capacity
        tenant = _c_text(tenant_id, "tenant_id")
        filter_json = _json_arg(flt, "filter")
        subscription = Subscription(self, tenant_id, callback)
        # Registered before the library can call it; the id is set before
        # the first event can arrive (none is committed in between here).
        with _registry_lock:
            _registry[subscription._token] = subscription
        out = c_uint64(0)
        try:
            with self._handle() as ptr:
                status = _native.eryxon_dispatcher_subscribe(
                    byref(out), ptr, tenant, filter_json, _TRAMPOLINE, subscription._token
                )
                message = _last_error() if status != _native.ERYXON_OK else ""
                if status == _native.ERYXON_OK:
                    subscription.id = out.value
                    with self._cond:
                        self._subscriptions[subscription.id] = subscription
            _check(status, message)
        except BaseException:
            with _registry_lock:
                _registry.pop(subscription._token, None)
            raise
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        with self._cond:
            self._subscriptions.pop(subscription.id, None)
            if self._ptr is None:
                return  # closed: the library already ended it
        try:
            self._call(_native.eryxon_dispatcher_unsubscribe, subscription.id)
        except InvalidArgument:
            if not self.closed:
                raise  # closed meanwhile: that ended it too

    def _subscription_stats(self, subscription_id: int) -> Json:
        return self._call_json(_native.eryxon_dispatcher_subscription_stats, subscription_id)
