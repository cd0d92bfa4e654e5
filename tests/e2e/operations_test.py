#!/usr/bin/env python3
"""End-to-end: backing up, restoring and checking a hub, through the real `kizuna` binary.

- `kizuna hub backup` while purchases flow: the backup opens, `kizuna hub check` finds it clean,
  and it holds every purchase acknowledged before the command started.
- `kizuna hub restore` into a stopped hub's directory (refused while the hub runs): the hub
  starts on it and serves that data (purchases made after the backup are gone, earlier ones
  are there).
- `kizuna hub check` on a copy whose balance row was changed behind the ledger's back: exit 1,
  naming the member and the fault; on a running hub's directory: refused, with what to do.

Usage: operations_test.py --kizuna build/kizuna [unittest args]
"""

import contextlib
import glob
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Hub  # noqa: E402

PASSWORD = "correct horse 42"


def kizuna(*args):
    return subprocess.run([harness.KIZUNA, *args], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def purchase_body(purchase_id, member_id, price=1980):
    return {"purchase_id": purchase_id, "member_id": member_id, "currency": "JPY",
            "lines": [{"name": "本", "sku": "b-1", "category": "books", "quantity": 1,
                       "unit_price": price}]}


def change(path, sql, *args):
    """Runs one statement on a database file and closes it (so no lock or log is left)."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        with db:
            return db.execute(sql, args).rowcount


def stored_purchases(path):
    """The purchase ids in a database file, read from a private copy (opening a file with
    Python's sqlite3 may leave a log beside it)."""
    scratch = tempfile.mkdtemp(prefix="kizuna-ops-read-")
    try:
        copy = os.path.join(scratch, "copy.db")
        shutil.copyfile(path, copy)
        with contextlib.closing(sqlite3.connect(copy)) as db:
            return {row[0] for row in db.execute("SELECT purchase_id FROM purchases")}
    finally:
        shutil.rmtree(scratch)


class Operations(unittest.TestCase):
    def setUp(self):
        self.hub = Hub().start()
        self.outside = tempfile.mkdtemp(prefix="kizuna-ops-")
        store = self.hub.create_store("Ops Books")
        self.key = store["api_key"]
        self.members = []
        for i in range(4):
            a = self.hub.call("POST", "/v1/members", self.key,
                              {"password": PASSWORD, "profile": {"name": f"Ops {i}"},
                               "consents": {}})
            self.assertEqual(a.status, 201, a)
            self.members.append(a.json["member_id"])

    def tearDown(self):
        self.hub.stop()
        shutil.rmtree(self.outside, ignore_errors=True)
        shutil.rmtree(self.hub.data_dir, ignore_errors=True)

    def buy(self, purchase_id, member=0):
        return self.hub.call("POST", "/v1/purchases", self.key,
                             purchase_body(purchase_id, self.members[member]))

    def backup(self, name):
        out = os.path.join(self.outside, name)
        p = kizuna("hub", "backup", "--data", self.hub.data_dir, "--hub", self.hub.url,
                   "--out", out, "--json")
        self.assertEqual(p.returncode, 0, p)
        return out, json.loads(p.stdout)

    def test_backup_while_purchases_flow_holds_every_earlier_purchase_and_checks_clean(self):
        acked, lock, stop = [], threading.Lock(), threading.Event()

        def sell(worker):
            n = 0
            while not stop.is_set():
                pid = f"flow-{worker}-{n}"
                a = self.buy(pid, worker)
                if a.status == 201:
                    with lock:
                        acked.append(pid)
                n += 1

        sellers = [threading.Thread(target=sell, args=(w,)) for w in range(3)]
        for t in sellers:
            t.start()
        try:
            deadline = time.time() + 30
            while len(acked) < 60 and time.time() < deadline:
                time.sleep(0.05)
            with lock:
                before = set(acked)
            out, answer = self.backup("while-selling.db")
            with lock:
                during = len(acked) - len(before)
        finally:
            stop.set()
            for t in sellers:
                t.join()
        self.assertGreaterEqual(len(before), 60, "purchases did not flow")
        self.assertEqual(answer["path"], out)
        self.assertIn("running hub", answer["via"])
        self.assertTrue(os.path.isfile(out))
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        self.assertFalse(os.path.exists(out + ".partial"))
        self.assertEqual(answer["bytes"], os.path.getsize(out))

        in_backup = stored_purchases(out)
        self.assertEqual(before - in_backup, set(), "acknowledged before the backup, missing")
        # The hub kept selling during and after the backup (no purchase was refused).
        self.assertGreater(len(acked), len(before), f"{during} purchases during the backup")
        self.assertTrue(self.buy("after-backup").status == 201)

        check = kizuna("hub", "check", "--file", out, "--json")
        self.assertEqual(check.returncode, 0, check)
        report = json.loads(check.stdout)
        self.assertTrue(report["clean"], report)
        self.assertTrue(report["ledger_checked"], report)
        self.assertEqual(report["counts"]["purchases"], len(in_backup))
        self.assertEqual(report["faults"], [])
        # The backup is left as it was: no log beside it after the check.
        self.assertFalse(os.path.exists(out + "-wal"))

    def test_backup_endpoint_is_for_the_operator_and_never_overwrites(self):
        out = os.path.join(self.outside, "api.db")
        a = self.hub.call("POST", "/v1/admin/backup", self.key, {"path": out})
        self.assertEqual(a.status, 403, a)
        a = self.hub.call("POST", "/v1/admin/backup", None, {"path": out})
        self.assertEqual(a.status, 401, a)
        a = self.hub.call("POST", "/v1/admin/backup", self.hub.operator_token, {"path": "rel.db"})
        self.assertEqual((a.status, a.json["error"].get("field")), (400, "path"), a)
        a = self.hub.call("POST", "/v1/admin/backup", self.hub.operator_token, {"path": out})
        self.assertEqual(a.status, 201, a)
        self.assertEqual(a.json["path"], out)
        again = self.hub.call("POST", "/v1/admin/backup", self.hub.operator_token, {"path": out})
        self.assertEqual((again.status, again.error_code), (409, "already_exists"), again)
        p = kizuna("hub", "backup", "--data", self.hub.data_dir, "--hub", self.hub.url,
                   "--out", out)
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("exists", p.stderr)

    def test_restore_into_a_stopped_hub_serves_the_backup_data(self):
        self.assertEqual(self.buy("kept-1").status, 201)
        self.assertEqual(self.buy("kept-2", 1).status, 201)
        backup, _ = self.backup("restore-me.db")
        after = purchase_body("after-the-backup", self.members[2])
        self.assertEqual(self.hub.call("POST", "/v1/purchases", self.key, after).status, 201)

        p = kizuna("hub", "restore", "--data", self.hub.data_dir, "--from", backup)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("stop it", p.stderr)

        self.hub.stop()
        p = kizuna("hub", "restore", "--data", self.hub.data_dir, "--from", backup, "--json")
        self.assertEqual(p.returncode, 0, p)
        restored = json.loads(p.stdout)
        self.assertTrue(restored["check"]["clean"], restored)
        db = os.path.join(self.hub.data_dir, "kizuna.db")
        self.assertEqual(stat.S_IMODE(os.stat(db).st_mode), 0o600)
        aside = glob.glob(db + ".before-restore-*")
        self.assertEqual(aside, [restored["previous"]])
        self.assertIn("after-the-backup", stored_purchases(aside[0]))

        self.hub.start()
        # A purchase from before the backup is there: the same request is answered as a replay.
        again = self.buy("kept-1")
        self.assertEqual(again.status, 200, again)
        # The purchase made after the backup is not: the same request is new again.
        redo = self.hub.call("POST", "/v1/purchases", self.key, after)
        self.assertEqual(redo.status, 201, redo)
        self.hub.stop()
        check = kizuna("hub", "check", "--data", self.hub.data_dir)
        self.assertEqual(check.returncode, 0, check)
        self.assertIn("Result: clean.", check.stdout)

    def test_restore_from_a_crashed_hubs_database_takes_its_log_along(self):
        for i in range(5):
            self.assertEqual(self.buy(f"w-{i}", i % 4).status, 201)
        self.hub.kill9()
        db = os.path.join(self.hub.data_dir, "kizuna.db")
        self.assertGreater(os.path.getsize(db + "-wal"), 0, "no log left by the kill")
        crashed = os.path.join(self.outside, "crashed.db")
        shutil.copyfile(db, crashed)
        shutil.copyfile(db + "-wal", crashed + "-wal")
        fresh = os.path.join(self.outside, "fresh-hub")
        p = kizuna("hub", "restore", "--data", fresh, "--from", crashed, "--json")
        self.assertEqual(p.returncode, 0, p)
        restored = json.loads(p.stdout)
        self.assertEqual(restored["previous"], "")
        self.assertEqual(sorted(restored["missing"]),
                         ["card_signing.key", "dispatch.key", "operator.token"])
        self.assertEqual(restored["check"]["counts"]["purchases"], 5, restored)
        self.assertEqual(sorted(os.listdir(fresh)), ["kizuna.db"])
        self.assertEqual({f"w-{i}" for i in range(5)},
                         stored_purchases(os.path.join(fresh, "kizuna.db")))

    def test_restore_refuses_a_damaged_backup_and_changes_nothing(self):
        self.assertEqual(self.buy("r-1").status, 201)
        backup, _ = self.backup("to-damage.db")
        change(backup, "DELETE FROM lots")
        self.hub.stop()
        db_path = os.path.join(self.hub.data_dir, "kizuna.db")
        with open(db_path, "rb") as f:
            original = f.read()
        p = kizuna("hub", "restore", "--data", self.hub.data_dir, "--from", backup)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("nothing was replaced", p.stderr)
        self.assertIn("ledger", p.stderr)
        with open(db_path, "rb") as f:
            self.assertEqual(f.read(), original)
        self.assertEqual(glob.glob(db_path + ".*"), [])

    def test_check_names_a_balance_that_disagrees_with_the_ledger(self):
        self.assertEqual(self.buy("c-1").status, 201)
        self.assertEqual(self.buy("c-2", 1).status, 201)

        running = kizuna("hub", "check", "--data", self.hub.data_dir)
        self.assertEqual(running.returncode, 3, running)
        self.assertIn("kizuna hub backup", running.stderr)

        backup, _ = self.backup("to-corrupt.db")
        self.assertEqual(kizuna("hub", "check", "--file", backup).returncode, 0)
        victim = self.members[1]
        changed = change(backup, "UPDATE balances SET points = points + 7 WHERE member_id = ?",
                         victim)
        self.assertEqual(changed, 1)
        p = kizuna("hub", "check", "--file", backup)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("FAULT ledger", p.stdout)
        self.assertIn(victim, p.stdout)
        self.assertIn("Result: 1 fault(s)", p.stdout)
        report = json.loads(kizuna("hub", "check", "--file", backup, "--json").stdout)
        self.assertFalse(report["clean"])
        self.assertEqual([f["kind"] for f in report["faults"]], ["ledger"])
        self.assertIn(victim, report["faults"][0]["detail"])

        # A purchase whose ledger entry was removed: the balance no longer agrees either, and
        # the record check names the purchase.
        change(backup, "DELETE FROM ledger_entries WHERE ref = 'c-1'")
        report = json.loads(kizuna("hub", "check", "--file", backup, "--json").stdout)
        details = [f["detail"] for f in report["faults"] if f["kind"] == "record"]
        self.assertTrue(any("purchase c-1" in d for d in details), report)

    def test_every_operations_command_has_help(self):
        for command in ("backup", "restore", "check"):
            p = kizuna("hub", command, "--help")
            self.assertEqual(p.returncode, 0, p)
            self.assertIn("Examples:", p.stdout)
        p = kizuna("hub", "serve", "--help")
        self.assertIn("--checkpoint-pages", p.stdout)
        self.assertIn("--log-restart-pages", p.stdout)


if __name__ == "__main__":
    harness.main()
