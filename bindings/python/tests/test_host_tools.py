"""Host tools from Python: Store.register_tool / unregister_tool."""

import threading
import time
import unittest

import eryxon

SCHEMA = {
    "type": "object",
    "properties": {"qty": {"type": "integer", "minimum": 1}},
    "required": ["qty"],
    "additionalProperties": False,
}


class HostToolTest(unittest.TestCase):
    def setUp(self):
        self.store = eryxon.Store.open()
        self.tenant = self.store.create_tenant("Host", plan="enterprise")["id"]
        self.key = self.store.create_key(self.tenant, "all")
        self.narrow = self.store.create_key(self.tenant, "narrow", tools=["fetch_jobs"])

    def tearDown(self):
        self.store.close()

    def test_register_call_validate_fail_unregister(self):
        seen = []

        def double(args, context, run):
            seen.append(context)
            self.assertFalse(run.cancelled)
            run.progress(1, 1, "done")  # nobody asked: dropped quietly
            if args["qty"] == 13:
                raise eryxon.InvalidStateTransition("13 is unlucky")
            if args["qty"] == 14:
                raise ValueError("secret detail")
            return {"double": 2 * args["qty"]}

        self.store.register_tool("host_double", double, SCHEMA, description="Doubles",
                                 annotations={"title": "Double", "readOnlyHint": True})
        result = self.store.call_tool(self.key, "host_double", {"qty": 21})
        self.assertEqual(result, {"success": True, "data": {"double": 42}})
        self.assertEqual(seen[0]["tenant_id"], self.tenant)
        self.assertEqual(seen[0]["tool"], "host_double")
        self.assertTrue(seen[0]["key_id"])

        with self.assertRaises(eryxon.InvalidArgument) as bad:
            self.store.call_tool(self.key, "host_double", {"qty": 0})
        self.assertEqual(bad.exception.result["error"]["code"], "VALIDATION_ERROR")
        self.assertEqual(len(seen), 1)  # the handler never saw it

        with self.assertRaises(eryxon.InvalidStateTransition) as state:
            self.store.call_tool(self.key, "host_double", {"qty": 13})
        self.assertEqual(state.exception.result["error"]["message"], "13 is unlucky")
        with self.assertRaises(eryxon.InternalError) as internal:
            self.store.call_tool(self.key, "host_double", {"qty": 14})
        self.assertNotIn("secret detail", internal.exception.result["error"]["message"])
        with self.assertRaises(eryxon.PermissionDenied):
            self.store.call_tool(self.narrow, "host_double", {"qty": 1})

        with self.assertRaises(eryxon.Duplicate):
            self.store.register_tool("host_double", double)
        with self.assertRaises(eryxon.InvalidArgument):
            self.store.register_tool("bad name", double)
        with self.assertRaises(eryxon.InvalidArgument):
            self.store.register_tool("x", double, annotations={"readOnly": True})
        with self.assertRaises(TypeError):
            self.store.register_tool("x", "not callable")

        self.store.unregister_tool("host_double")
        with self.assertRaises(eryxon.UnknownTool):
            self.store.call_tool(self.key, "host_double", {"qty": 1})
        with self.assertRaises(eryxon.NotFound):
            self.store.unregister_tool("host_double")

    def test_unregister_waits_for_a_running_call(self):
        entered = threading.Event()
        finished = []

        def slow(args, context, run):
            entered.set()
            time.sleep(0.1)
            finished.append(True)
            return None

        self.store.register_tool("slow", slow)
        results = []
        t = threading.Thread(target=lambda: results.append(self.store.call_tool(self.key, "slow")))
        t.start()
        self.assertTrue(entered.wait(5))
        self.store.unregister_tool("slow")
        self.assertEqual(finished, [True])
        t.join(5)
        self.assertEqual(results, [{"success": True, "data": None}])

    def test_close_unregisters(self):
        self.store.register_tool("kept", lambda a, c, r: 1)
        self.store.close()  # no crash, no leak of the handler
        self.assertFalse(eryxon.host_tools._registry)


if __name__ == "__main__":
    unittest.main()
