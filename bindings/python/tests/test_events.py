"""eryxon.events: the dispatcher, live subscriptions with Python callbacks,
and endpoints with their delivery state.

Domain actions are tool calls (create_job, update_job) through the C API;
their events reach Python callbacks on the library's subscription threads.

Run from the repository root:

    ERYXON_LIBRARY=build/dev/liberyxon.so PYTHONPATH=bindings/python \\
        python3 -m unittest discover -s bindings/python/tests -t bindings/python
"""

import gc
import threading
import time
import unittest

import eryxon
from eryxon import _native, events

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BOGUS_ID = "00000000-0000-4000-8000-000000000000"
UNREACHABLE = "http://127.0.0.1:1/hook"  # nothing listens on port 1: refused at once
WAIT_S = 5.0


class Recorder:
    """Collects events from a callback; waits for them with a bound."""

    def __init__(self):
        self.cond = threading.Condition()
        self.events = []
        self.threads = set()

    def __call__(self, event):
        with self.cond:
            self.events.append(event)
            self.threads.add(threading.get_ident())
            self.cond.notify_all()

    def wait(self, count, timeout=WAIT_S):
        with self.cond:
            self.cond.wait_for(lambda: len(self.events) >= count, timeout)
            return list(self.events)

    def names(self):
        with self.cond:
            return [e["event"] for e in self.events]


def wait_until(predicate, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


class EventsTestBase(unittest.TestCase):
    def setUp(self):
        self.store = eryxon.Store.open()
        self.tenant = self.store.create_tenant("Events Shop", plan="enterprise")["id"]
        self.key = self.store.create_key(self.tenant, "events")

    def tearDown(self):
        self.store.close()  # closes its dispatchers first

    def create_job(self, number):
        result = self.store.call_tool(self.key, "create_job", {"job_number": number, "customer": "Acme"})
        return result["data"]["id"]

    def update_job(self, job_id, notes):
        self.store.call_tool(self.key, "update_job", {"job_id": job_id, "notes": notes})


class DeclarationsTest(unittest.TestCase):
    def test_every_event_function_is_declared(self):
        for name in (
            "eryxon_dispatcher_create", "eryxon_dispatcher_free", "eryxon_dispatcher_start",
            "eryxon_dispatcher_stop", "eryxon_dispatcher_notify", "eryxon_dispatcher_run_once",
            "eryxon_dispatcher_add_endpoint", "eryxon_dispatcher_remove_endpoint",
            "eryxon_dispatcher_enable_endpoint", "eryxon_dispatcher_replay",
            "eryxon_dispatcher_endpoint_state", "eryxon_dispatcher_deliveries",
            "eryxon_dispatcher_delivery_log", "eryxon_dispatcher_subscribe",
            "eryxon_dispatcher_unsubscribe", "eryxon_dispatcher_subscription_stats",
        ):
            fn = getattr(_native, name)
            self.assertIsNotNone(fn.argtypes, name)
        self.assertIs(eryxon.Dispatcher, events.Dispatcher)


class SubscriptionTest(EventsTestBase):
    def setUp(self):
        super().setUp()
        self.dispatcher = eryxon.Dispatcher(self.store, poll_interval_ms=10)
        self.dispatcher.start()

    def test_callback_gets_the_event_on_another_thread(self):
        rec = Recorder()
        with self.dispatcher.subscribe(self.tenant, rec) as sub:
            self.assertGreater(sub.id, 0)
            job = self.create_job("P-1")
            got = rec.wait(1)
        self.assertTrue(sub.closed)
        self.assertEqual(len(got), 1)
        event = got[0]
        self.assertEqual(event["event"], "job.created")
        self.assertEqual(event["entity_type"], "jobs")
        self.assertEqual(event["entity_id"], job)
        self.assertEqual(event["tenant_id"], self.tenant)
        self.assertTrue(event["id"].startswith("evt_"))
        self.assertGreater(event["seq"], 0)
        self.assertIsNone(event["data"]["previous"])
        self.assertEqual(event["data"]["current"]["job_number"], "P-1")
        self.assertIsInstance(event["occurred_at_ms"], int)
        self.assertNotIn(threading.get_ident(), rec.threads)

    def test_filters_by_entity_table_and_type(self):
        job_a = self.create_job("A")
        every, one, created = Recorder(), Recorder(), Recorder()
        subs = [
            self.dispatcher.subscribe(self.tenant, every),
            self.dispatcher.subscribe(self.tenant, one, table="jobs", entity_id=job_a),
            self.dispatcher.subscribe(self.tenant, created, event_types="job.created"),
        ]
        nothing = Recorder()
        subs.append(self.dispatcher.subscribe(self.tenant, nothing, table="operations"))
        job_b = self.create_job("B")
        self.update_job(job_a, "first")
        self.update_job(job_a, "second")
        self.assertEqual(len(every.wait(3)), 3)
        got = one.wait(2)  # outbox order: B's event would have come first
        self.assertEqual([e["event"] for e in got], ["job.updated", "job.updated"])
        self.assertEqual({e["entity_id"] for e in got}, {job_a})
        self.assertEqual(got[1]["data"]["current"]["notes"], "second")
        self.assertEqual([e["entity_id"] for e in created.wait(1)], [job_b])
        self.assertEqual(nothing.events, [])
        for s in subs:
            s.close()

    def test_other_tenants_events_are_not_seen(self):
        other = self.store.create_tenant("Other")["id"]
        other_key = self.store.create_key(other, "k")
        mine, theirs = Recorder(), Recorder()
        with self.dispatcher.subscribe(self.tenant, mine), self.dispatcher.subscribe(other, theirs):
            self.store.call_tool(other_key, "create_job", {"job_number": "T-1", "customer": "X"})
            self.create_job("M-1")
            self.assertEqual(len(mine.wait(1)), 1)
            self.assertEqual(len(theirs.wait(1)), 1)
        self.assertEqual(mine.events[0]["tenant_id"], self.tenant)
        self.assertEqual(theirs.events[0]["tenant_id"], other)

    def test_close_means_no_more_calls(self):
        witness, gone = Recorder(), Recorder()
        self.dispatcher.subscribe(self.tenant, witness)
        sub = self.dispatcher.subscribe(self.tenant, gone)
        self.create_job("C-1")
        self.assertEqual(len(gone.wait(1)), 1)
        sub.close()
        sub.close()  # idempotent
        with self.assertRaises(eryxon.NotFound):
            sub.stats()
        self.create_job("C-2")
        self.assertEqual(len(witness.wait(2)), 2)  # the round ran
        time.sleep(0.05)
        self.assertEqual(len(gone.events), 1)

    def test_callback_exceptions_are_logged_and_counted(self):
        calls = []

        def broken(event):
            calls.append(event["event"])
            raise RuntimeError("host bug")

        rec = Recorder()
        with self.assertLogs("eryxon.events", level="ERROR") as logs:
            bad = self.dispatcher.subscribe(self.tenant, broken)
            good = self.dispatcher.subscribe(self.tenant, rec)
            self.create_job("E-1")
            self.create_job("E-2")
            self.assertEqual(len(rec.wait(2)), 2)  # a raising neighbour hurts nobody
            self.assertTrue(wait_until(lambda: bad.stats()["failed"] == 2))
        self.assertEqual(calls, ["job.created", "job.created"])
        self.assertIn("host bug", "\n".join(logs.output))
        self.assertEqual(bad.stats()["delivered"], 0)
        self.assertTrue(wait_until(lambda: good.stats()["delivered"] == 2))
        self.assertEqual(good.stats()["dropped"], 0)

    def test_callback_may_close_its_own_subscription(self):
        calls = []
        holder = {}
        entered = threading.Event()

        def once(event):
            entered.wait(WAIT_S)
            calls.append(event["event"])
            holder["sub"].close()

        witness = Recorder()
        holder["sub"] = self.dispatcher.subscribe(self.tenant, once)
        self.dispatcher.subscribe(self.tenant, witness)
        entered.set()
        self.create_job("S-1")
        self.create_job("S-2")
        self.assertEqual(len(witness.wait(2)), 2)
        self.assertTrue(wait_until(lambda: holder["sub"].closed))
        time.sleep(0.05)
        self.assertEqual(calls, ["job.created"])

    def test_callbacks_stay_alive_without_references(self):
        rec = Recorder()
        self.dispatcher.subscribe(self.tenant, lambda event: rec(event))  # Subscription dropped
        gc.collect()
        self.create_job("G-1")
        self.assertEqual(len(rec.wait(1)), 1)

    def test_queue_capacity_drops_when_a_callback_is_slow(self):
        release = threading.Event()
        sub = self.dispatcher.subscribe(self.tenant, lambda e: release.wait(WAIT_S), queue_capacity=1)
        try:
            for i in range(4):
                self.create_job(f"Q-{i}")
            self.assertTrue(wait_until(lambda: sub.stats()["dropped"] >= 1))
        finally:
            release.set()
            sub.close()

    def test_closing_from_a_callback_is_refused(self):
        errors = []

        def closer(event):
            try:
                self.dispatcher.close()
            except eryxon.InvalidArgument as e:
                errors.append(e)

        with self.dispatcher.subscribe(self.tenant, closer):
            self.create_job("X-1")
            self.assertTrue(wait_until(lambda: errors))
        self.assertFalse(self.dispatcher.closed)

    def test_bad_arguments(self):
        with self.assertRaises(TypeError):
            self.dispatcher.subscribe(self.tenant, "not callable")
        with self.assertRaises(eryxon.NotFound):
            self.dispatcher.subscribe(BOGUS_ID, print)
        with self.assertRaises(eryxon.InvalidArgument):
            self.dispatcher.subscribe(self.tenant, print, queue_capacity=0)
        with self.assertRaises(eryxon.InvalidArgument):
            self.dispatcher.subscribe(self.tenant, print, table=7)
        with self.assertRaises(TypeError):
            self.dispatcher.subscribe(self.tenant, print, event_types=[1])
        with self.assertRaises(eryxon.InvalidArgument):
            eryxon.Dispatcher(self.store, poll_interval_ms=0)
        with self.assertRaises(eryxon.InvalidArgument):
            eryxon.Dispatcher(self.store, retry_jitter=2)


class LifecycleTest(EventsTestBase):
    def test_context_manager_and_close(self):
        rec = Recorder()
        with eryxon.Dispatcher(self.store, poll_interval_ms=10) as d:
            d.start()
            sub = d.subscribe(self.tenant, rec)
            self.create_job("L-1")
            self.assertEqual(len(rec.wait(1)), 1)
        self.assertTrue(d.closed)
        self.assertTrue(sub.closed)  # closing the dispatcher ended it
        sub.close()
        with self.assertRaises(eryxon.InvalidArgument):
            d.run_once()
        with self.assertRaises(eryxon.InvalidArgument):
            d.subscribe(self.tenant, rec)
        d.close()  # idempotent
        self.create_job("L-2")
        time.sleep(0.05)
        self.assertEqual(len(rec.events), 1)

    def test_store_close_closes_its_dispatchers(self):
        d = eryxon.Dispatcher(self.store, poll_interval_ms=10)
        d.start()
        d.subscribe(self.tenant, print)
        self.store.close()
        self.assertTrue(d.closed)
        with self.assertRaises(eryxon.InvalidArgument):
            eryxon.Dispatcher(self.store)

    def test_del_frees(self):
        d = eryxon.Dispatcher(self.store)
        self.assertIn("open", repr(d))
        del d
        gc.collect()


class EndpointTest(EventsTestBase):
    def setUp(self):
        super().setUp()
        # No retries: the first failed attempt dead-letters the delivery.
        self.dispatcher = eryxon.Dispatcher(self.store, retry_delays_ms=[])

    def test_unreachable_webhook_is_logged_dead_and_replayable(self):
        d = self.dispatcher
        ep = d.add_webhook(self.tenant, UNREACHABLE, SECRET, event_types=["job.*"],
                           timeout_ms=3000, connect_timeout_ms=2000)
        self.assertTrue(ep.startswith("ep_"))
        with self.assertRaises(eryxon.NotFound):
            d.endpoint_state(self.tenant, ep)  # before its first round
        self.assertEqual(d.run_once(), 0)
        state = d.endpoint_state(self.tenant, ep)
        self.assertEqual(state["endpoint_id"], ep)
        self.assertIs(state["disabled"], False)
        self.assertIsNone(state["disabled_reason"])

        job = self.create_job("W-1")
        self.assertEqual(d.run_once(), 1)
        log = d.delivery_log(self.tenant, ep)
        self.assertEqual(len(log), 1)
        self.assertEqual(log[0]["outcome"], "retry")
        self.assertEqual(log[0]["attempt"], 1)
        self.assertIsNone(log[0]["http_status"])
        self.assertTrue(log[0]["detail"])
        self.assertNotIn(SECRET[6:], str(log))
        dead = d.deliveries(self.tenant, ep, status="dead")
        self.assertEqual(len(dead), 1)
        self.assertEqual(dead[0]["event"], "job.created")
        self.assertEqual(dead[0]["entity_key"], f"jobs:{job}")
        self.assertEqual(d.deliveries(self.tenant, ep, status="pending"), [])

        self.assertEqual(d.replay(self.tenant, ep), 1)
        self.assertEqual(d.deliveries(self.tenant, ep, status="pending")[0]["seq"], dead[0]["seq"])
        self.assertEqual(d.run_once(), 1)
        self.assertEqual(len(d.delivery_log(self.tenant, ep)), 2)
        self.assertEqual(d.replay(self.tenant, ep, from_seq=0), 1)
        d.enable_endpoint(self.tenant, ep)

        other = self.store.create_tenant("Other")["id"]
        with self.assertRaises(eryxon.NotFound):  # endpoint ids are per tenant
            d.remove_endpoint(other, ep)
        d.remove_endpoint(self.tenant, ep)
        with self.assertRaises(eryxon.NotFound):
            d.remove_endpoint(self.tenant, ep)
        self.assertEqual(d.run_once(), 0)  # nothing to deliver to any more
        self.assertEqual(d.endpoint_state(self.tenant, ep)["endpoint_id"], ep)  # state stays

    def test_ids_types_and_mqtt(self):
        d = self.dispatcher
        self.assertEqual(
            d.add_webhook(self.tenant, "https://erp.example/h", [SECRET, SECRET], endpoint_id="erp"), "erp"
        )
        self.assertEqual(
            d.add_mqtt(self.tenant, host="127.0.0.1", port=1, endpoint_id="broker",
                       enterprise="Acme", site="Plant 1", publish_timeout_ms=500),
            "broker",
        )
        self.assertEqual(d.add_endpoint(self.tenant, {"type": "webhook", "url": UNREACHABLE,
                                                      "secrets": SECRET}).count("ep_"), 1)
        d.remove_endpoint(self.tenant, "erp")
        d.remove_endpoint(self.tenant, "broker")

    def test_bad_endpoints(self):
        d = self.dispatcher
        with self.assertRaises(eryxon.InvalidArgument) as cm:
            d.add_webhook(self.tenant, "ftp://x/", SECRET)
        self.assertIn("url", cm.exception.message)
        with self.assertRaises(eryxon.InvalidArgument) as cm:
            d.add_webhook(self.tenant, UNREACHABLE, "whsec_SHORTSECRET")
        self.assertNotIn("SHORTSECRET", cm.exception.message)
        with self.assertRaises(eryxon.InvalidArgument):
            d.add_webhook(self.tenant, UNREACHABLE, [])
        with self.assertRaises(eryxon.InvalidArgument):
            d.add_webhook(self.tenant, UNREACHABLE, SECRET, event_types=[])
        with self.assertRaises(eryxon.InvalidArgument) as cm:
            d.add_endpoint(self.tenant, {"type": "webhook", "url": UNREACHABLE, "secret": SECRET})
        self.assertIn("secret", cm.exception.message)
        with self.assertRaises(eryxon.InvalidArgument):
            d.add_endpoint(self.tenant, {"type": "smtp"})
        with self.assertRaises(eryxon.InvalidArgument):
            d.add_mqtt(self.tenant, port=70000)
        with self.assertRaises(eryxon.NotFound):
            d.add_webhook(BOGUS_ID, UNREACHABLE, SECRET)
        with self.assertRaises(eryxon.InvalidArgument):
            d.deliveries(self.tenant, "x", status="lost")
        with self.assertRaises(eryxon.InvalidArgument):
            d.replay(self.tenant, "x", from_seq=-1)
        with self.assertRaises(eryxon.NotFound):
            d.replay(self.tenant, "x")
        with self.assertRaises(eryxon.NotFound):
            d.enable_endpoint(self.tenant, "x")
        self.assertEqual(d.deliveries(self.tenant, "x"), [])
        self.assertEqual(d.delivery_log(self.tenant, "x", limit=5), [])


if __name__ == "__main__":
    unittest.main()
