"""Data portability through the ctypes binding: export to JSON and ZIP,
CSV import with dry run, partial mode and per-row errors.

Run from the repository root:

    ERYXON_LIBRARY=build/dev/liberyxon.so PYTHONPATH=bindings/python \\
        python3 -m unittest bindings.python.tests.test_portability
"""

import json
import os
import tempfile
import unittest
import zipfile

import eryxon

CELLS = "name,color,sequence\r\nLaser,#ff0000,1\r\nPress Brake,,2\r\n"
JOBS = 'Job Number,Customer,Due-Date,Notes\nJ-1,Acme,2026-12-01,"a, ""quoted""\nnote"\nJ-2,Beta,,\n'


class PortabilityTest(unittest.TestCase):
    def setUp(self):
        self.store = eryxon.Store()
        self.tenant = self.store.create_tenant("Acme Metal")["id"]
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.store.close()
        self.tmp.cleanup()

    def test_import_then_export_json_and_zip(self):
        r = self.store.import_csv(self.tenant, "cells", CELLS)
        self.assertEqual((r["created"], r["committed"]), (2, True))
        r = self.store.import_csv(self.tenant, "jobs", JOBS.encode("utf-8"), source="erp")
        self.assertEqual(r["created"], 2)
        self.assertEqual(r["errors"], [])

        path = os.path.join(self.tmp.name, "export.json")
        self.store.export_json(self.tenant, path, include_events=True)
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        self.assertEqual(doc["_metadata"]["tenant_id"], self.tenant)
        jobs = {j["job_number"]: j for j in doc["jobs"]}
        self.assertEqual(jobs["J-1"]["notes"], 'a, "quoted"\nnote')
        self.assertEqual(jobs["J-1"]["external_source"], "erp")
        self.assertIn("events", doc)
        self.assertNotIn("api_keys", doc)

        zpath = os.path.join(self.tmp.name, "export.zip")
        self.store.export_zip(self.tenant, zpath)
        with zipfile.ZipFile(zpath) as z:
            names = set(z.namelist())
            self.assertIn("_metadata.json", names)
            self.assertIn("jobs.csv", names)
            cells = z.read("cells.csv").decode("utf-8")
        self.assertIn("Press Brake", cells)
        self.assertEqual(sorted(os.listdir(self.tmp.name)), ["export.json", "export.zip"])

    def test_dry_run_partial_and_errors(self):
        bad = "job_number,due_date\nA-1,2026-01-01\nA-2,2026-13-01\n"
        dry = self.store.import_csv(self.tenant, "jobs", bad, dry_run=True)
        self.assertTrue(dry["dry_run"])
        self.assertFalse(dry["committed"])
        self.assertEqual(dry["errors"][0]["line"], 3)
        self.assertEqual(dry["errors"][0]["column"], "due_date")
        whole = self.store.import_csv(self.tenant, "jobs", bad)
        self.assertFalse(whole["committed"])
        self.assertEqual(whole["created"], 0)
        part = self.store.import_csv(self.tenant, "jobs", bad, partial=True)
        self.assertTrue(part["committed"])
        self.assertEqual((part["created"], part["failed"]), (1, 1))
        unknown = self.store.import_csv(self.tenant, "jobs", "job_number,colour\nX,red\n")
        self.assertIn("'colour'", unknown["errors"][0]["message"])

    def test_bad_arguments_raise(self):
        with self.assertRaises(eryxon.InvalidArgument):
            self.store.import_csv(self.tenant, "widgets", "name\nx\n")
        with self.assertRaises(eryxon.NotFound):
            self.store.import_csv("00000000-0000-4000-8000-000000000000", "jobs", JOBS)
        with self.assertRaises(eryxon.NotFound):
            self.store.export_json(
                "00000000-0000-4000-8000-000000000000", os.path.join(self.tmp.name, "x.json")
            )


if __name__ == "__main__":
    unittest.main()
