#!/usr/bin/env python3
"""End-to-end regressions of issue 15 (defects 4, 5, 6, 8) and issue 14 item 4, through the real
`kizuna` binary: throttling that slows guessers without locking members out, an accept loop that
survives running out of file descriptors, bounded usage pages, and the smaller HTTP and file-mode
defects.

Usage: abuse_test.py --kizuna build/kizuna [unittest args]
"""

import http.client
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cli, Hub  # noqa: E402

PASSWORD = "correct horse 42"


def call_from(source_ip, hub, method, path, body=None, token=None):
    """An HTTP call from a chosen loopback address (127.0.0.0/8 all reaches the hub)."""
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=30,
                                      source_address=(source_ip, 0))
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers=headers)
    resp = conn.getresponse()
    answer = harness.HttpAnswer(resp.status, resp.read().decode(), dict(resp.getheaders()))
    conn.close()
    return answer


class OneHub(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub().start()
        cls.store = cls.hub.create_store("渋谷本店", "physical", None)
        cls.key = cls.store["api_key"]

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()

    def enroll(self, email, token=None):
        a = self.hub.call("POST", "/v1/members", token or self.key,
                          {"password": PASSWORD, "profile": {"name": "山田 花子", "email": email}})
        self.assertEqual(a.status, 201, a)
        return a.json

    def login(self, member_id):
        a = self.hub.call("POST", "/v1/sessions", body={"login": member_id, "password": PASSWORD})
        self.assertEqual(a.status, 201, a)
        return a.json["token"]

    # --- defect 4 ------------------------------------------------------------------------
    def test_wrong_passwords_from_one_address_never_lock_the_member_out(self):
        member = self.enroll("locked@example.jp")
        member_id = member["member_id"]
        statuses = []
        for i in range(12):
            a = call_from("127.0.0.9", self.hub, "POST", "/v1/sessions",
                          {"login": member_id, "password": f"guess {i}"})
            statuses.append(a.status)
            if a.status == 429:
                throttled = a
        self.assertEqual(statuses[:5], [401] * 5)
        self.assertIn(429, statuses)
        # Slowed down, not locked: the wait is seconds, and its end is shown in UTC too.
        self.assertLess(int(throttled.headers["Retry-After"]), 60, throttled)
        self.assertRegex(throttled.json["error"]["message"], r"\(\d{4}-\d\d-\d\dT[\d:]+Z\)")
        # The member, from another address, logs in with the right password at once.
        ok = call_from("127.0.0.10", self.hub, "POST", "/v1/sessions",
                       {"login": member_id, "password": PASSWORD})
        self.assertEqual(ok.status, 201, ok)
        # And the store reissues the card at its counter (it used to answer 429 for 15 min).
        reissue = self.hub.call("POST", f"/v1/members/{member_id}/cards", self.key,
                                {"password": PASSWORD})
        self.assertEqual(reissue.status, 201, reissue)

    def test_one_password_across_many_accounts_is_throttled_per_address(self):
        statuses = []
        for i in range(30):
            a = call_from("127.0.0.11", self.hub, "POST", "/v1/sessions",
                          {"login": f"spray{i}@example.jp", "password": "Summer2026!"})
            statuses.append(a.status)
        self.assertIn(429, statuses)
        self.assertEqual(statuses.index(429), 20, statuses)

    # --- defect 6 and issue 14 item 4 ----------------------------------------------------
    def test_usage_pages_are_bounded_and_followed_to_the_end(self):
        member = self.enroll("big-buyer@example.jp")
        member_id = member["member_id"]
        lines = [{"name": f"商品 {n:03d} — a long enough product name", "sku": f"SKU-{n:05d}",
                  "category": "books", "quantity": 1, "unit_price": 100} for n in range(500)]
        for i in range(6):
            a = self.hub.call("POST", "/v1/purchases", self.key,
                              {"purchase_id": f"big-{i}", "member_id": member_id,
                               "currency": "JPY",
                               "lines": lines})
            self.assertEqual(a.status, 201, a)
        token = self.login(member_id)
        seen, cursor, pages = [], None, 0
        while True:
            path = f"/v1/members/{member_id}/usage?limit=100"
            if cursor:
                path += "&cursor=" + cursor
            a = self.hub.call("GET", path, token)
            self.assertEqual(a.status, 200, a)
            page_lines = sum(len(p["lines"]) for p in a.json["purchases"])
            self.assertLessEqual(page_lines, 1000)
            self.assertLess(len(a.raw.encode()), 400_000)
            seen += [p["purchase_id"] for p in a.json["purchases"]]
            pages += 1
            cursor = a.json.get("next_cursor")
            if not cursor:
                break
        self.assertEqual(seen, [f"big-{i}" for i in range(5, -1, -1)])
        self.assertEqual(pages, 3)
        # A limit past the cap is refused, naming it.
        a = self.hub.call("GET", f"/v1/members/{member_id}/usage?limit=500", token)
        self.assertEqual((a.status, a.json["error"]["field"]), (400, "limit"), a)
        # The CLI follows the pages into one usage record file.
        cli = Cli(self.hub)
        cli.run("member", "login", "--login", member_id, "--password-stdin",
                stdin=PASSWORD + "\n")
        out = os.path.join(cli.home, "usage.json")
        cli.run("member", "usage", "--out", out)
        with open(out) as f:
            record = json.load(f)
        self.assertEqual([p["purchase_id"] for p in record["purchases"]], seen)
        self.assertEqual(len(record["entries"]), 6)
        self.assertNotIn("next_cursor", record)

    def test_healthz_answers_quickly_during_big_usage_reads(self):
        member = self.enroll("heavy@example.jp")
        member_id = member["member_id"]
        lines = [{"name": f"Item {n} " + "x" * 40, "sku": f"S{n}", "category": "food",
                  "quantity": 1, "unit_price": 100} for n in range(500)]
        for i in range(100):
            a = self.hub.call("POST", "/v1/purchases", self.key,
                              {"purchase_id": f"heavy-{i}", "member_id": member_id,
                               "currency": "JPY", "lines": lines})
            self.assertEqual(a.status, 201, a)
        token = self.login(member_id)
        stop = threading.Event()

        def read_usage():
            while not stop.is_set():
                self.hub.call("GET", f"/v1/members/{member_id}/usage?limit=100", token)

        readers = [threading.Thread(target=read_usage) for _ in range(3)]
        for t in readers:
            t.start()
        latencies = []
        try:
            time.sleep(0.5)
            for _ in range(40):
                start = time.monotonic()
                self.assertEqual(self.hub.call("GET", "/healthz").status, 200)
                latencies.append(time.monotonic() - start)
                time.sleep(0.05)
        finally:
            stop.set()
            for t in readers:
                t.join()
        latencies.sort()
        median, slowest = latencies[len(latencies) // 2], latencies[-1]
        # Generous bounds. Measured on a loaded 2-core machine with this data and 3 readers:
        # median 12 ms, max 119 ms; before pages (6.8 MB answers built on the I/O threads):
        # median 109 ms, max 527 ms.
        self.assertLess(median, 0.04, f"/healthz median {median:.3f} s during usage reads")
        self.assertLess(slowest, 1.0, f"/healthz took {slowest:.3f} s during usage reads")

    # --- defect 8, smaller items ---------------------------------------------------------
    def test_malformed_escape_in_a_path_is_400_not_405(self):
        a = self.hub.call("GET", "/v1/stores/%zz/rule", self.key)
        self.assertEqual(a.status, 400, a)
        self.assertEqual(a.error_code, "invalid_argument")

    def test_head_is_answered_like_get_without_a_body(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.hub.port, timeout=10)
        conn.request("HEAD", "/healthz")
        resp = conn.getresponse()
        body = resp.read()
        self.assertEqual(resp.status, 200)
        self.assertEqual(body, b"")
        get = self.hub.call("GET", "/healthz")
        self.assertEqual(int(resp.getheader("Content-Length")), len(get.raw.encode()))
        # The connection is still usable: no stray body was sent after the head.
        conn.request("GET", "/healthz")
        again = conn.getresponse()
        self.assertEqual(again.status, 200)
        self.assertEqual(json.loads(again.read())["status"], "ok")
        conn.close()

    def test_every_file_in_the_data_directory_is_owner_only(self):
        self.enroll("modes@example.jp")  # the log and shared memory exist by now
        mode = stat.S_IMODE(os.stat(self.hub.data_dir).st_mode)
        self.assertEqual(mode, 0o700, oct(mode))
        names = [n for n in os.listdir(self.hub.data_dir) if n != "hub.log"]  # the test's log
        self.assertIn("kizuna.db", names)
        # A store's enrollment with an email queues its confirmation mail: mail-outbox exists.
        self.assertIn("mail-outbox", names)
        for root, dirs, files in os.walk(self.hub.data_dir):
            for name in dirs:
                mode = stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode)
                self.assertEqual(mode, 0o700, f"{name}/: {oct(mode)}")
            for name in files:
                if root == self.hub.data_dir and name == "hub.log":
                    continue
                mode = stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode)
                self.assertEqual(mode, 0o600, f"{name}: {oct(mode)}")

    def test_web_root_option_is_gone(self):
        p = subprocess.run([harness.KIZUNA, "hub", "serve", "--data", tempfile.mkdtemp(),
                            "--web-root", tempfile.mkdtemp()], capture_output=True, text=True,
                           timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--web-root", p.stderr + p.stdout)


# --- defect 5 ------------------------------------------------------------------------------
class OutOfDescriptors(unittest.TestCase):
    def test_running_out_of_descriptors_neither_spins_nor_stops_serving(self):
        hub = Hub()
        # Soft 150 and hard 200: the hub raises the soft limit to 200 at start.
        hub.start(rlimit_nofile=(150, 200))
        idle = []
        try:
            self.assertIn("raised the open-file limit from 150 to 200", hub.log())
            for _ in range(250):
                s = socket.create_connection(("127.0.0.1", hub.port), timeout=5)
                idle.append(s)
            time.sleep(2)
            # Served while the idle connections are still open.
            start = time.monotonic()
            a = harness.http("GET", hub.url + "/healthz", timeout=10)
            self.assertEqual(a.status, 200)
            self.assertLess(time.monotonic() - start, 5)
            time.sleep(2)
            with open(hub.log_path) as f:
                log = f.read()
            self.assertLess(log.count("accept failed") + log.count("refused a connection"), 10,
                            log[-2000:])
            self.assertLess(len(log.splitlines()), 50, log[-2000:])
        finally:
            for s in idle:
                s.close()
            hub.stop()

    def test_accept_backs_off_when_descriptors_run_out_below_the_cap(self):
        import resource
        hub = Hub().start()
        idle = []
        try:
            # Lowered after start, so the cap (set from the limit at start) is too high and
            # accepting fails for want of descriptors: the hub must back off, not spin.
            resource.prlimit(hub.proc.pid, resource.RLIMIT_NOFILE, (200, 200))
            for _ in range(250):
                idle.append(socket.create_connection(("127.0.0.1", hub.port), timeout=5))
            time.sleep(2)
            a = harness.http("GET", hub.url + "/healthz", timeout=30)
            self.assertEqual(a.status, 200)
            with open(hub.log_path) as f:
                log = f.read()
            self.assertGreater(log.count("accept failed"), 0, log[-2000:])
            self.assertLess(log.count("accept failed"), 10, log[-2000:])
            self.assertLess(len(log.splitlines()), 20, log[-2000:])
        finally:
            for s in idle:
                s.close()
            hub.stop()


if __name__ == "__main__":
    harness.main()
