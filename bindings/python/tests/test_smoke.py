"""Smoke test of the ctypes binding: the C test's scenario through Python.

Run from the repository root:

    ERYXON_LIBRARY=build/dev/liberyxon.so PYTHONPATH=bindings/python \
        python3 -m unittest discover -s bindings/python/tests -t bindings/python
"""

import datetime
import gc
import json
import os
import sqlite3
import tempfile
import threading
import unittest

import eryxon
from eryxon import _native

BOGUS_ID = "00000000-0000-4000-8000-000000000000"
WRONG_KEY = "mcp_live_not_a_real_key_at_all_0000000000000000000000"


def rows(result):
    """The list of rows in a listing result (data is a list or {name: list})."""
    data = result["data"]
    if isinstance(data, list):
        return data
    lists = [v for v in data.values() if isinstance(v, list)]
    assert len(lists) == 1, f"cannot find the rows in {data!r}"
    return lists[0]


class VersionTest(unittest.TestCase):
    def test_versions_match(self):
        self.assertEqual(_native.eryxon_version_number(), _native.EXPECTED_VERSION_NUMBER)
        self.assertEqual(eryxon.library_version, (0, 1, 0))
        self.assertEqual(_native.eryxon_version_string(), eryxon.__version__.encode())
        self.assertEqual(eryxon.status_name(-2), "ERYXON_ENOTFOUND")
        self.assertEqual(eryxon.status_name(99), "ERYXON_E?")

    def test_every_header_function_is_declared(self):
        for name in (
            "eryxon_version_number", "eryxon_version_string", "eryxon_status_str",
            "eryxon_error_last", "eryxon_free", "eryxon_store_open", "eryxon_store_free",
            "eryxon_tenant_create", "eryxon_key_create", "eryxon_tool_call", "eryxon_seed_demo",
            "eryxon_key_list", "eryxon_key_stats", "eryxon_server_health",
        ):
            fn = getattr(_native, name)
            self.assertIsNotNone(fn.argtypes, name)

    def test_version_mismatch_is_import_error(self):
        saved = _native.EXPECTED_VERSION
        try:
            _native.EXPECTED_VERSION = (saved[0], saved[1] + 1, 0)
            with self.assertRaises(ImportError):
                _native._check_version()
            _native.EXPECTED_VERSION = (saved[0] + 1, saved[1], 0)
            with self.assertRaises(ImportError):
                _native._check_version()
            _native.EXPECTED_VERSION = (saved[0], saved[1], saved[2] + 7)  # patch may differ
            self.assertEqual(_native._check_version(), eryxon.library_version)
        finally:
            _native.EXPECTED_VERSION = saved

    def test_exception_hierarchy(self):
        for cls in (
            eryxon.InvalidArgument, eryxon.NotFound, eryxon.Duplicate,
            eryxon.InvalidStateTransition, eryxon.PermissionDenied,
            eryxon.AuthenticationError, eryxon.RateLimited, eryxon.QuotaExceeded,
            eryxon.Conflict, eryxon.DatabaseError, eryxon.InternalError, eryxon.UnknownTool,
        ):
            self.assertTrue(issubclass(cls, eryxon.EryxonError), cls)
        statuses = {cls.status for cls in eryxon.EryxonError.__subclasses__()}
        self.assertEqual(statuses, set(range(-12, 0)))


class ScenarioMixin:
    """The C test's scenario, run on the store made by open_store()."""

    def open_store(self):
        raise NotImplementedError

    def setUp(self):
        self.store = self.open_store()
        self.tenant = self.store.create_tenant("Acme Sheet Metal", plan="pro")
        self.store.seed_demo(self.tenant["id"])
        self.key = self.store.create_key(self.tenant["id"], "python test")

    def tearDown(self):
        self.store.close()

    def test_tenant_row(self):
        self.assertEqual(self.tenant["name"], "Acme Sheet Metal")
        self.assertEqual(self.tenant["plan"], "pro")
        self.assertEqual(len(self.tenant["id"]), 36)
        other = self.store.create_tenant("Defaults")
        self.assertEqual(other["plan"], "free")
        with self.assertRaises(eryxon.InvalidArgument) as cm:
            self.store.create_tenant("Bad plan", plan="platinum")
        self.assertIn("plan", cm.exception.message)
        self.assertIsNone(cm.exception.result)

    def test_seed_twice_is_duplicate(self):
        with self.assertRaises(eryxon.Duplicate):
            self.store.seed_demo(self.tenant["id"])
        with self.assertRaises(eryxon.NotFound):
            self.store.seed_demo(BOGUS_ID)

    def test_key_format_and_duplicates(self):
        self.assertTrue(self.key.startswith("mcp_live_"))
        self.assertEqual(len(self.key), 55)
        test_key = self.store.create_key(self.tenant["id"], "test env", environment="test")
        self.assertTrue(test_key.startswith("mcp_test_"))
        with self.assertRaises(eryxon.Duplicate):
            self.store.create_key(self.tenant["id"], "python test")
        with self.assertRaises(eryxon.NotFound):
            self.store.create_key(BOGUS_ID, "nobody")

    def test_fetch_jobs(self):
        result = self.store.call_tool(self.key, "fetch_jobs", {"status": "in_progress", "limit": 5})
        self.assertIs(result["success"], True)
        self.assertEqual(result["pagination"]["limit"], 5)
        for job in rows(result):
            self.assertEqual(job["status"], "in_progress")
        everything = self.store.call_tool(self.key, "fetch_jobs")
        self.assertGreater(everything["pagination"]["total"], 0)
        # A JSON text works as well as a mapping.
        same = self.store.call_tool(self.key, "fetch_jobs", '{"status":"in_progress","limit":5}')
        self.assertEqual(same["pagination"], result["pagination"])

    def test_not_found_carries_result(self):
        with self.assertRaises(eryxon.NotFound) as cm:
            self.store.call_tool(self.key, "start_job", {"job_id": BOGUS_ID})
        err = cm.exception
        self.assertEqual(err.status, _native.ERYXON_ENOTFOUND)
        self.assertEqual(err.code, "NOT_FOUND")
        self.assertIs(err.result["success"], False)
        self.assertEqual(err.result["error"]["code"], "NOT_FOUND")
        self.assertTrue(err.message)

    def test_invalid_state_transition(self):
        done = rows(self.store.call_tool(self.key, "fetch_jobs", {"status": "completed"}))
        self.assertTrue(done, "the demo shop has completed jobs")
        with self.assertRaises(eryxon.InvalidStateTransition) as cm:
            self.store.call_tool(self.key, "start_job", {"job_id": done[0]["id"]})
        err = cm.exception
        self.assertEqual(err.code, "INVALID_STATE_TRANSITION")
        context = err.result["error"]["context"]
        self.assertEqual(context.get("current_status"), "completed")

    def test_authentication_error(self):
        with self.assertRaises(eryxon.AuthenticationError) as cm:
            self.store.call_tool(WRONG_KEY, "fetch_jobs")
        self.assertIsNone(cm.exception.result)
        self.assertIn("Invalid or disabled MCP key", cm.exception.message)
        # A well-formed key of another store's pepper is refused as well.
        with eryxon.Store.open() as other:
            t = other.create_tenant("Elsewhere")
            foreign = other.create_key(t["id"], "k")
        with self.assertRaises(eryxon.AuthenticationError):
            self.store.call_tool(foreign, "fetch_jobs")

    def test_unknown_tool(self):
        with self.assertRaises(eryxon.UnknownTool) as cm:
            self.store.call_tool(self.key, "no_such_tool")
        self.assertIsNone(cm.exception.result)

    def test_permission_denied(self):
        restricted = self.store.create_key(self.tenant["id"], "fetch only", tools=["fetch_jobs"])
        self.store.call_tool(restricted, "fetch_jobs")
        with self.assertRaises(eryxon.PermissionDenied) as cm:
            self.store.call_tool(restricted, "get_dashboard_stats")
        self.assertIsNone(cm.exception.result)
        self.assertTrue(cm.exception.message)
        # A single tool name given as a string is one tool, not its letters.
        single = self.store.create_key(self.tenant["id"], "single", tools="fetch_jobs")
        self.store.call_tool(single, "fetch_jobs")

    def test_malformed_arguments(self):
        with self.assertRaises(eryxon.InvalidArgument) as cm:
            self.store.call_tool(self.key, "fetch_jobs", '{"limit":')
        self.assertIsNone(cm.exception.result)
        self.assertIn("arguments_json", cm.exception.message)
        with self.assertRaises(eryxon.InvalidArgument):
            self.store.call_tool(self.key, "fetch_jobs", "[1, 2]")
        with self.assertRaises(ValueError):  # InvalidArgument is a ValueError
            self.store.call_tool(self.key, "fetch_jobs", {"limit": float("nan")})
        with self.assertRaises(eryxon.InvalidArgument):
            self.store.call_tool(self.key, "fetch_jobs\0", {})
        with self.assertRaises(TypeError):
            self.store.call_tool(self.key, "fetch_jobs", 42)

    def test_invalid_utf8_and_oversize_json(self):
        # bytes pass through unchanged; the library refuses what is not UTF-8.
        with self.assertRaises(eryxon.InvalidArgument) as cm:
            self.store.create_tenant(b"Bad \xc3(")
        self.assertIn("name is not valid UTF-8 (at byte offset 4)", cm.exception.message)
        with self.assertRaises(eryxon.InvalidArgument) as cm:
            self.store.call_tool(self.key, "fetch_jobs", b'{"customer":"\xff"}')
        self.assertIn("arguments_json is not valid UTF-8", cm.exception.message)
        self.assertIsNone(cm.exception.result)
        depth = _native.ERYXON_MAX_JSON_DEPTH + 1
        deep = '{"a":' * depth + "1" + "}" * depth
        with self.assertRaises(eryxon.InvalidArgument) as cm:
            self.store.call_tool(self.key, "fetch_jobs", deep)
        self.assertIn("ERYXON_MAX_JSON_DEPTH", cm.exception.message)
        big = "{" + " " * (_native.ERYXON_MAX_JSON_BYTES - 1) + "}"  # one byte over
        with self.assertRaises(eryxon.InvalidArgument) as cm:
            self.store.call_tool(self.key, "fetch_jobs", big)
        self.assertIn("ERYXON_MAX_JSON_BYTES", cm.exception.message)

    def test_schema_violation_is_tool_error(self):
        with self.assertRaises(eryxon.InvalidArgument) as cm:
            self.store.call_tool(self.key, "fetch_jobs", {"limit": 0})
        self.assertEqual(cm.exception.code, "VALIDATION_ERROR")

    def test_tenant_isolation(self):
        other = self.store.create_tenant("Other Tenant")
        other_key = self.store.create_key(other["id"], "other")
        result = self.store.call_tool(other_key, "fetch_jobs")
        self.assertIs(result["success"], True)
        self.assertEqual(result["pagination"]["total"], 0)
        self.assertEqual(rows(result), [])

    def test_rate_limit_and_quota(self):
        # A key runs under 100 requests per minute (burst 100): the 101st
        # call in a burst is refused with retry information.
        for _ in range(100):
            self.store.call_tool(self.key, "get_dashboard_stats")
        with self.assertRaises(eryxon.RateLimited) as cm:
            self.store.call_tool(self.key, "get_dashboard_stats")
        data = cm.exception.result["data"]
        self.assertEqual(data["limit"], 100)
        self.assertGreaterEqual(data["retry_after_seconds"], 1)
        self.assertEqual(data["scope"], "key")
        # A free tenant gets 60 calls a minute, whatever the number of keys.
        free = self.store.create_tenant("Free Shop")
        keys = [self.store.create_key(free["id"], f"k{i}") for i in range(2)]
        for i in range(60):
            self.store.call_tool(keys[i % 2], "fetch_jobs")
        with self.assertRaises(eryxon.RateLimited) as cm:
            self.store.call_tool(keys[0], "fetch_jobs")
        self.assertEqual(cm.exception.result["data"]["scope"], "tenant")
        self.assertEqual(cm.exception.result["data"]["limit"], 60)

    def test_key_listing_stats_and_health(self):
        keys = self.store.list_keys(self.tenant["id"])
        self.assertEqual([k["name"] for k in keys], ["python test"])
        mine = keys[0]
        self.assertTrue(mine["prefix"].startswith("mcp_live_"))
        self.assertNotIn("key_hash", mine)
        self.assertNotIn(self.key[17:], json.dumps(keys))  # no part of the secret
        self.store.call_tool(self.key, "fetch_jobs", {"limit": 1})
        with self.assertRaises(eryxon.NotFound):
            self.store.call_tool(self.key, "start_job", {"job_id": BOGUS_ID})
        stats = self.store.key_stats(self.tenant["id"], mine["id"])
        self.assertEqual((stats["total"], stats["successful"], stats["failed"]), (2, 1, 1))
        self.assertEqual(sorted(t["tool"] for t in stats["top_tools"]), ["fetch_jobs", "start_job"])
        self.assertIn(self.store.health()["status"], ("online", "degraded"))
        with self.assertRaises(eryxon.NotFound):
            self.store.list_keys("no-such-tenant")

    def test_threads(self):
        errors = []
        # One key per thread: each stays within its 100 requests a minute.
        keys = [self.store.create_key(self.tenant["id"], f"thread-{i}") for i in range(4)]

        def worker(key):
            try:
                for _ in range(20):
                    self.store.call_tool(key, "fetch_jobs", {"limit": 1})
                    try:
                        self.store.call_tool(key, "start_job", {"job_id": BOGUS_ID})
                    except eryxon.NotFound as e:
                        assert e.result["error"]["code"] == "NOT_FOUND"
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(k,)) for k in keys]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])


class MemoryStoreTest(ScenarioMixin, unittest.TestCase):
    def open_store(self):
        return eryxon.Store.open()


class FileStoreTest(ScenarioMixin, unittest.TestCase):
    def open_store(self):
        self._dir = tempfile.TemporaryDirectory(prefix="eryxon-py-")
        self.path = os.path.join(self._dir.name, "shop.db")
        return eryxon.Store.open(self.path)

    def tearDown(self):
        super().tearDown()
        self._dir.cleanup()

    def test_bad_pepper_in_environment(self):
        saved = os.environ.get("ERYXON_PEPPER")
        os.environ["ERYXON_PEPPER"] = "not hex"
        try:
            with self.assertRaises(eryxon.InvalidArgument):
                eryxon.Store.open(os.path.join(self._dir.name, "other.db"))
        finally:
            if saved is None:
                del os.environ["ERYXON_PEPPER"]
            else:
                os.environ["ERYXON_PEPPER"] = saved

    def test_daily_quota_counts_what_is_stored(self):
        # A free tenant gets 100 calls a day. The day's count lives in the
        # database, so 99 calls counted by an earlier run leave one.
        free = self.store.create_tenant("Free Shop")
        key = self.store.create_key(free["id"], "k")
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        with sqlite3.connect(self.path) as db:
            db.execute("INSERT INTO quota_usage (tenant_id, day, used) VALUES (?, ?, 99)",
                       (free["id"], today))
        self.store.call_tool(key, "fetch_jobs")
        with self.assertRaises(eryxon.QuotaExceeded) as cm:
            self.store.call_tool(key, "fetch_jobs")
        self.assertEqual(cm.exception.result["data"]["limit"], 100)
        self.assertEqual(cm.exception.result["data"]["used"], 100)
        self.assertGreaterEqual(cm.exception.result["data"]["retry_after_seconds"], 1)

    def test_reopen_keeps_data_and_pepper(self):
        self.assertTrue(os.path.exists(self.path + ".pepper"))
        self.store.close()
        with eryxon.Store.open(self.path) as again:
            result = again.call_tool(self.key, "fetch_jobs")
            self.assertGreater(result["pagination"]["total"], 0)


class LifecycleTest(unittest.TestCase):
    def test_context_manager_closes(self):
        with eryxon.Store.open(":memory:") as store:
            self.assertFalse(store.closed)
            store.create_tenant("x")
        self.assertTrue(store.closed)
        with self.assertRaises(eryxon.InvalidArgument):
            store.create_tenant("y")
        with self.assertRaises(eryxon.EryxonError):
            store.call_tool("k", "fetch_jobs")
        with self.assertRaises(eryxon.InvalidArgument):
            with store:
                pass
        store.close()  # idempotent

    def test_close_and_del(self):
        store = eryxon.Store()
        self.assertIn("open", repr(store))
        store.close()
        self.assertIn("closed", repr(store))
        store = eryxon.Store()
        del store  # __del__ frees the handle
        gc.collect()

    def test_open_failure(self):
        with self.assertRaises(eryxon.EryxonError):
            eryxon.Store.open("")
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(eryxon.EryxonError):
                eryxon.Store.open(os.path.join(d, "no", "such", "dir", "x.db"))


if __name__ == "__main__":
    unittest.main()
