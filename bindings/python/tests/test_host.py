"""The host application's own authority from Python: domain actions,
limits, REST requests and MCP sessions (Store.action, Store.rate_limit_check,
Store.quota_check, Store.rest, eryxon.McpSession)."""

import json
import os
import threading
import unittest

import eryxon

BOGUS_ID = "00000000-0000-4000-8000-000000000000"


class HostActionTest(unittest.TestCase):
    def setUp(self):
        self.store = eryxon.Store.open()
        self.tenant = self.store.create_tenant("Host", "free")["id"]
        self.other = self.store.create_tenant("Other", "free")["id"]

    def tearDown(self):
        self.store.close()

    def act(self, action, tenant=None, **arguments):
        return self.store.action(tenant or self.tenant, action, arguments)["data"]

    def test_build_and_run_a_job(self):
        cell = self.act("create_cell", name="Laser", wip_limit=1, enforce_wip_limit=True)
        job = self.act("create_job", job_number="J-PY", customer="Acme")
        part = self.act("create_part", job_id=job["id"], part_number="P-1", quantity=2)
        first = self.act("create_operation", part_id=part["id"], cell_id=cell["id"],
                         operation_name="Cut", sequence=10)
        second = self.act("create_operation", part_id=part["id"], cell_id=cell["id"],
                          operation_name="Cut again", sequence=20)
        self.assertEqual(self.act("start_operation", operation_id=first["id"])["status"],
                         "in_progress")
        # The cell enforces its WIP limit of 1: the second start is refused.
        with self.assertRaises(eryxon.InvalidStateTransition) as refused:
            self.act("start_operation", operation_id=second["id"])
        self.assertEqual(refused.exception.result["error"]["context"]["reason"],
                         "wip_limit_reached")
        produced = self.act("record_quantity", operation_id=first["id"], quantity_good=2)
        self.assertEqual(produced["quantity_produced"], 2)
        self.assertEqual(self.act("get_job", job_id=job["id"])["status"], "in_progress")

        # Tenant isolation: the other tenant sees none of it.
        with self.assertRaises(eryxon.NotFound):
            self.act("get_part", tenant=self.other, part_id=part["id"])
        with self.assertRaises(eryxon.NotFound):
            self.act("delete_job", tenant=self.other, job_id=job["id"])
        self.assertEqual(self.act("get_job", job_id=job["id"])["deleted_at"], None)

    def test_refusals(self):
        with self.assertRaises(eryxon.InvalidArgument) as bad:
            self.act("create_cell", name="")  # minLength 1
        self.assertEqual(bad.exception.result["error"]["code"], "VALIDATION_ERROR")
        with self.assertRaises(eryxon.UnknownTool):
            self.act("no_such_action")
        with self.assertRaises(eryxon.NotFound):
            self.store.action(BOGUS_ID, "list_cells")
        catalog = self.store.actions()
        names = {t["name"] for t in catalog["host_actions"]}
        self.assertLessEqual({"create_cell", "create_part", "record_quantity"}, names)
        self.assertIn("fetch_jobs", {t["name"] for t in catalog["tools"]})
        for tool in catalog["host_actions"] + catalog["tools"]:
            self.assertIn("outputSchema", tool, tool["name"])

    def test_limits(self):
        decisions = [self.store.rate_limit_check("py:1", 60, burst=2) for _ in range(3)]
        self.assertEqual([d["allowed"] for d in decisions], [True, True, False])
        self.assertGreater(decisions[2]["retry_after_ms"], 0)
        self.assertTrue(self.store.rate_limit_check("py:2", 60)["allowed"])
        self.assertTrue(self.store.quota_check(self.tenant, cost=100)["allowed"])
        self.assertFalse(self.store.quota_check(self.tenant)["allowed"])
        peek = self.store.quota_check(self.other, consume=False)
        self.assertEqual((peek["used"], peek["limit"]), (0, 100))
        with self.assertRaises(eryxon.InvalidArgument):
            self.store.rate_limit_check("py:3", 0)

    def test_rest(self):
        response = self.store.rest("GET", "/api/v1/jobs")
        self.assertEqual(response["status"], 401)
        self.assertIn("www-authenticate", {name.lower() for name, _ in response["headers"]})
        response = self.store.rest("GET", "/api/v1/jobs",
                                   headers={"Authorization": "Bearer ery_live_nope"})
        self.assertEqual(response["status"], 401)


class PostgresHostActionTest(HostActionTest):
    """The same host actions on PostgreSQL: Store() takes the URL of a
    database made by `eryxon init` (tests/with_pg_db.sh sets
    ERYXON_TEST_DB_URL and ERYXON_PEPPER_FILE; missing is a failure)."""

    def setUp(self):
        url = os.environ.get("ERYXON_TEST_DB_URL")
        self.assertTrue(url and url.startswith("postgresql://"),
                        "ERYXON_TEST_DB_URL must name the test's PostgreSQL database")
        self.store = eryxon.Store.open(url)
        self.tenant = self.store.create_tenant("Host", "free")["id"]
        self.other = self.store.create_tenant("Other", "free")["id"]

    def test_a_server_that_is_not_there_is_a_database_error(self):
        with self.assertRaises(eryxon.DatabaseError):
            eryxon.Store.open("postgresql:///none?host=/nonexistent&port=1")


class KeyLifecycleTest(unittest.TestCase):
    def test_rest_key_enable_rotate_delete(self):
        with eryxon.Store.open() as store:
            tenant = store.create_tenant("Keys", "pro")["id"]
            other = store.create_tenant("Other")["id"]
            created = store.create_api_key(tenant, "erp", family="rest", rate_limit=30,
                                           tools=["fetch_jobs"])
            key, row = created["key"], created["record"]
            self.assertTrue(key.startswith("ery_live_"))
            self.assertEqual(row["rate_limit"], 30)
            auth = {"Authorization": f"Bearer {key}"}
            self.assertEqual(store.rest("GET", "/api/v1/jobs", headers=auth)["status"], 200)
            with self.assertRaises(eryxon.NotFound):
                store.set_key_enabled(other, row["id"], False)
            store.set_key_enabled(tenant, row["id"], False)
            self.assertEqual(store.rest("GET", "/api/v1/jobs", headers=auth)["status"], 401)
            store.set_key_enabled(tenant, row["id"], True)
            new = store.rotate_key(tenant, row["id"], grace_seconds=0)
            self.assertNotEqual(new["key"], key)
            self.assertEqual(store.rest("GET", "/api/v1/jobs", headers=auth)["status"], 401)
            self.assertEqual(store.rest("GET", "/api/v1/jobs", headers={
                "Authorization": f"Bearer {new['key']}"})["status"], 200)
            store.delete_key(tenant, new["record"]["id"])
            with self.assertRaises(eryxon.NotFound):
                store.delete_key(tenant, new["record"]["id"])
            self.assertEqual(store.get_tenant(tenant)["plan"], "pro")
            self.assertEqual({t["name"] for t in store.list_tenants()}, {"Keys", "Other"})


class TenantShopTest(unittest.TestCase):
    def test_methods_rows_and_pages(self):
        with eryxon.Store.open() as store:
            tenant = store.create_tenant("Typed", "enterprise")["id"]
            other = store.create_tenant("Other", "enterprise")["id"]
            shop = store.tenant(tenant)
            self.assertIn("create_part", shop.actions())
            self.assertIn("Arguments:", shop.create_part.__doc__)
            cell = shop.create_cell(name="Press", wip_limit=2)
            self.assertIsInstance(cell, eryxon.Row)
            self.assertEqual(cell.name, "Press")
            self.assertEqual(cell.wip_limit, 2)
            for n in range(3):
                shop.create_job(job_number=f"J-{n}", customer="Acme")
            page = shop.fetch_jobs(limit=2)
            self.assertIsInstance(page, eryxon.Page)
            self.assertEqual((len(page), page.total, page.has_more), (2, 3, True))
            self.assertTrue(page[0].job_number.startswith("J-"))
            with self.assertRaises(AttributeError):
                shop.no_such_action
            with self.assertRaises(eryxon.InvalidArgument):
                shop.create_job(customer="no number")
            # The other tenant's view is empty and cannot reach these rows.
            theirs = store.tenant(other)
            self.assertEqual(theirs.fetch_jobs().total, 0)
            with self.assertRaises(eryxon.NotFound):
                theirs.get_job(job_id=page[0].id)


class McpSessionTest(unittest.TestCase):
    def test_session_round_trip_and_notifications(self):
        messages = []
        with eryxon.Store.open() as store:
            tenant = store.create_tenant("Agents", "enterprise")["id"]
            store.seed_demo(tenant)
            key = store.create_key(tenant, "agent")
            with store.mcp_session(default_api_key=key, page_size=4,
                                   on_message=messages.append) as session:
                init = session.request("initialize", {
                    "protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "py", "version": "1"}})
                self.assertEqual(init["result"]["protocolVersion"], "2025-11-25")
                self.assertIsNone(session.handle(
                    {"jsonrpc": "2.0", "method": "notifications/initialized"}))
                listed = session.request("tools/list", id=2)
                self.assertEqual(len(listed["result"]["tools"]), 4)
                self.assertIn("nextCursor", listed["result"])
                called = session.request("tools/call", {
                    "name": "fetch_jobs", "arguments": {"limit": 2}}, id=3)
                self.assertFalse(called["result"]["isError"])
                self.assertEqual(len(called["result"]["structuredContent"]["data"]), 2)
                bad = json.loads(session.handle("{oops"))
                self.assertEqual(bad["error"]["code"], -32700)
                # A registry change reaches on_message, from this thread.
                store.register_tool("py_noop", lambda args, ctx, run: {"ok": True})
                self.assertTrue(any("tools/list_changed" in m for m in messages))
                # Calls from several threads at once.
                replies = []
                def call(i):
                    replies.append(session.request("tools/call", {
                        "name": "get_dashboard_stats", "arguments": {}}, id=100 + i))
                threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                self.assertEqual(sorted(r["id"] for r in replies), [100, 101, 102, 103])
            self.assertTrue(session.closed)
            with self.assertRaises(eryxon.InvalidArgument):
                session.handle("{}")

    def test_resources_and_prompts(self):
        with eryxon.Store.open() as store:
            store.add_resource("eryxon://docs/shifts", "shifts", text="Early 06-14",
                               mime_type="text/plain")
            store.add_resource("eryxon://img/logo", "logo", blob=b"\x89PNG", mime_type="image/png")
            store.add_prompt("triage", [{"role": "user", "text": "Triage {{issue}}"}],
                             arguments=[{"name": "issue", "required": True}])
            with self.assertRaises(eryxon.Duplicate):
                store.add_prompt("triage", [{"role": "user", "text": "x"}])
            with store.mcp_session() as session:
                session.request("initialize", {"protocolVersion": "2025-11-25",
                                               "capabilities": {},
                                               "clientInfo": {"name": "py", "version": "1"}})
                listed = session.request("resources/list", id=2)["result"]["resources"]
                self.assertEqual({r["uri"] for r in listed},
                                 {"eryxon://docs/shifts", "eryxon://img/logo"})
                read = session.request("resources/read", {"uri": "eryxon://img/logo"}, id=3)
                self.assertEqual(read["result"]["contents"][0]["blob"], "iVBORw==")
                got = session.request("prompts/get", {"name": "triage",
                                                      "arguments": {"issue": "NCR-9"}}, id=4)
                self.assertEqual(got["result"]["messages"][0]["content"]["text"], "Triage NCR-9")
                store.remove_resource("eryxon://img/logo")
                listed = session.request("resources/list", id=5)["result"]["resources"]
                self.assertEqual([r["uri"] for r in listed], ["eryxon://docs/shifts"])
            with self.assertRaises(eryxon.NotFound):
                store.remove_prompt("nope")

    def test_store_close_closes_its_sessions(self):
        store = eryxon.Store.open()
        session = store.mcp_session()
        store.close()
        self.assertTrue(session.closed)


if __name__ == "__main__":
    unittest.main()
