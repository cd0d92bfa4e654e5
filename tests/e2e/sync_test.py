#!/usr/bin/env python3
"""End-to-end: the second seed's store <-> online shop link, through the real `kizuna` binary.

Reservations made at the online shop show at the physical store of the same program (and not
at another program's); webhooks tell the online shop of what happens in the program, signed,
retried until the receiver answers 2xx, none lost over a kill -9 of the hub. Receivers are
small Python HTTP servers on 127.0.0.1; the hub retries after 1 s (KIZUNA_WEBHOOK_RETRY_BASE).

Usage: sync_test.py --kizuna build/kizuna [unittest args]
"""

import hashlib
import hmac
import http.server
import json
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cli, Hub  # noqa: E402

PASSWORD = "correct horse 42"


class Receiver:
    """A webhook receiver on a free loopback port: answers 500 to the first `fail_first`
    requests, then 204; keeps every request (headers, body) it was sent."""

    def __init__(self, fail_first=0, port=None):
        self.fail_first = fail_first
        self.requests = []  # (status answered, headers, body bytes)
        self.lock = threading.Lock()
        self.port = port or harness.free_port()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    status = 500 if receiver.fail_first > 0 else 204
                    receiver.fail_first -= 1
                    receiver.requests.append((status, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hook"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def delivered(self):
        """The events answered 2xx, as parsed JSON, in arrival order."""
        with self.lock:
            return [json.loads(body) for status, _, body in self.requests if status < 300]

    def wait_for(self, predicate, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = [e for e in self.delivered() if predicate(e)]
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"no matching delivery within {timeout} s; got {self.requests}")


def verify_signature(secret, headers, body):
    parts = dict(p.split("=", 1) for p in headers["Kizuna-Signature"].split(","))
    expected = hmac.new(secret.encode(), (parts["t"] + ".").encode() + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(parts["v1"], expected) and abs(time.time() - int(parts["t"])) < 300


def enroll(hub, store_key, name):
    a = hub.call("POST", "/v1/members", store_key,
                 {"password": PASSWORD, "profile": {"name": name}, "consents": {}})
    assert a.status == 201, a
    return a.json["member_id"]


class StoreAndOnlineShop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub().start()
        cls.chain = cls.hub.create_program("駅前チェーン")
        cls.shop = cls.hub.create_store("渋谷本店", "physical", cls.chain)
        cls.online = cls.hub.create_store("駅前オンライン", "online", cls.chain)
        cls.other = cls.hub.create_store("Other Chain", "physical", None)
        cls.shop_cli = Cli(cls.hub, cls.shop["api_key"])
        cls.online_cli = Cli(cls.hub, cls.online["api_key"])
        cls.other_cli = Cli(cls.hub, cls.other["api_key"])

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()

    def test_enrollment_at_the_shop_reaches_the_online_shop_signed(self):
        receiver = Receiver()
        try:
            added = self.online_cli.json("pos", "webhook", "add", receiver.url,
                                         "--event", "member.enrolled,reservation.created")
            secret = added["secret"]
            self.assertTrue(secret.startswith("whsec_"))
            member_id = enroll(self.hub, self.shop["api_key"], "山田 太郎")
            [event] = receiver.wait_for(lambda e: e["data"].get("member_id") == member_id)
            self.assertEqual(event["type"], "member.enrolled")
            self.assertTrue(event["id"].startswith("evt_"))
            self.assertEqual(event["data"]["store_id"], self.shop["store_id"])
            self.assertEqual(event["data"]["program_id"], self.chain)
            self.assertNotIn("profile", event["data"])
            with receiver.lock:
                [(_, headers, body)] = [r for r in receiver.requests
                                        if json.loads(r[2])["id"] == event["id"]]
            self.assertTrue(verify_signature(secret, headers, body), headers)
            self.assertFalse(verify_signature("whsec_" + "0" * 64, headers, body))
            # The list never shows the secret again.
            listed = self.online_cli.json("pos", "webhook", "list")
            self.assertEqual([w["webhook_id"] for w in listed["webhooks"]][-1],
                             added["webhook_id"])
            self.assertNotIn("secret", json.dumps(listed))
            # Another program's store hears nothing of it and cannot read this webhook.
            a = self.hub.call("GET", f"/v1/webhooks/{added['webhook_id']}/deliveries",
                              self.other["api_key"])
            self.assertEqual(a.status, 404, a)
        finally:
            receiver.stop()

    def test_a_reservation_made_online_shows_at_the_physical_store_and_back(self):
        member_id = enroll(self.hub, self.online["api_key"], "Ann Lee")
        made = self.online_cli.json("pos", "reserve", "--member", member_id, "--item", "新刊 上巻",
                                    "--sku", "978-4-00", "--quantity", "2", "--pickup-at",
                                    "2030-12-24T18:00:00+09:00", "--pickup-store",
                                    self.shop["store_id"], "--reservation-id", "online-0001")
        self.assertEqual(made["status"], "reserved")
        self.assertEqual(made["store_id"], self.shop["store_id"])
        # The same id again: the first answer, nothing new.
        again = self.hub.call("POST", "/v1/reservations", self.online["api_key"],
                              {"reservation_id": "online-0001", "member_id": member_id,
                               "store_id": self.shop["store_id"],
                               "item": {"name": "新刊 上巻", "sku": "978-4-00"}, "quantity": 2,
                               "pickup_at": "2030-12-24T09:00:00Z"})
        self.assertEqual(again.status, 200, again)
        self.assertTrue(again.json["replayed"])
        conflict = self.hub.call("POST", "/v1/reservations", self.online["api_key"],
                                 {"reservation_id": "online-0001", "member_id": member_id,
                                  "item": {"name": "Other"}, "pickup_at": "2030-12-24T09:00:00Z"})
        self.assertEqual(conflict.status, 409, conflict)
        self.assertEqual(conflict.error_code, "idempotency_conflict")

        at_shop = self.shop_cli.json("pos", "reservations", "--member", member_id)
        self.assertEqual([r["reservation_id"] for r in at_shop["reservations"]], ["online-0001"])
        self.assertEqual(at_shop["reservations"][0]["item"]["name"], "新刊 上巻")
        table = self.shop_cli.run("pos", "reservations", "--member", member_id).stdout
        self.assertIn("新刊 上巻", table)
        elsewhere = self.other_cli.json("pos", "reservations", "--member", member_id)
        self.assertEqual(elsewhere["reservations"], [])
        refused = self.other_cli.run("pos", "reservation-status", "online-0001", "cancelled",
                                     check=False)
        self.assertEqual(refused.returncode, 1, refused.stderr)

        # Picked up at the shop; the online shop sees it; a second change is refused.
        picked = self.shop_cli.json("pos", "reservation-status", "online-0001", "picked_up")
        self.assertEqual(picked["status"], "picked_up")
        online_view = self.hub.call("GET", f"/v1/reservations?member_id={member_id}",
                                    self.online["api_key"])
        self.assertEqual(online_view.json["reservations"][0]["status"], "picked_up")
        late = self.hub.call("PATCH", "/v1/reservations/online-0001", self.online["api_key"],
                             {"status": "cancelled"})
        self.assertEqual(late.status, 422, late)
        self.assertEqual(late.json["error"]["field"], "status")

    def test_bad_reservations_are_refused_naming_the_field(self):
        member_id = enroll(self.hub, self.shop["api_key"], "Bad Input")
        base = {"reservation_id": "bad-1", "member_id": member_id, "item": {"name": "Pen"},
                "quantity": 1, "pickup_at": "2030-01-01T00:00:00Z"}
        for change, field in [({"quantity": 0}, "quantity"), ({"quantity": 10001}, "quantity"),
                              ({"item": {"name": "a\u0007b"}}, "item.name"),
                              ({"item": {"name": ""}}, "item.name"),
                              ({"pickup_at": "10000-01-01T00:00:00Z"}, "pickup_at"),
                              ({"pickup_at": "yesterday"}, "pickup_at"),
                              ({"reservation_id": "has space"}, "reservation_id"),
                              ({"store_id": self.other["store_id"]}, "store_id")]:
            a = self.hub.call("POST", "/v1/reservations", self.shop["api_key"], {**base, **change})
            self.assertIn(a.status, (400, 404), (change, a))
            self.assertEqual(a.json["error"]["field"], field, (change, a))
        p = self.shop_cli.run("pos", "reserve", "--member", member_id, "--item", "Pen",
                              "--pickup-at", "not a time", check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        bad_hook = self.online_cli.run("pos", "webhook", "add", "ftp://example.jp/x", "--event",
                                       "member.enrolled", check=False)
        self.assertEqual(bad_hook.returncode, 1, bad_hook.stderr)
        self.assertIn("url", bad_hook.stderr)

    def test_a_failing_receiver_gets_the_event_exactly_once_after_it_recovers(self):
        receiver = Receiver(fail_first=2)
        try:
            hook = self.hub.call("POST", "/v1/webhooks", self.online["api_key"],
                                 {"url": receiver.url, "events": ["purchase.created"]})
            self.assertEqual(hook.status, 201, hook)
            member_id = enroll(self.hub, self.shop["api_key"], "Retry Me")
            sale = self.hub.call("POST", "/v1/purchases", self.shop["api_key"],
                                 {"purchase_id": "retry-1", "member_id": member_id,
                                  "lines": [{"name": "Tea", "quantity": 1, "unit_price": 1500}]})
            self.assertEqual(sale.status, 201, sale)
            [event] = receiver.wait_for(lambda e: e["data"]["purchase_id"] == "retry-1")
            self.assertEqual(event["data"]["points_earned"], 15)
            time.sleep(2.5)  # longer than any retry the hub could still have scheduled
            with receiver.lock:
                statuses = [s for s, _, b in receiver.requests
                            if json.loads(b)["id"] == event["id"]]
            self.assertEqual(statuses, [500, 500, 204])
            deliveries = self.online_cli.json("pos", "webhook", "deliveries",
                                              hook.json["webhook_id"])["deliveries"]
            self.assertEqual([(d["status"], d["attempts"], d["event_type"]) for d in deliveries],
                             [("delivered", 3, "purchase.created")])
            # Replay sends it once more, on request.
            replayed = self.online_cli.run("pos", "webhook", "replay", hook.json["webhook_id"],
                                           str(deliveries[0]["delivery_id"]))
            self.assertIn("queued again", replayed.stdout)
            deadline = time.time() + 15
            while len([e for e in receiver.delivered() if e["id"] == event["id"]]) < 2:
                self.assertLess(time.time(), deadline, receiver.requests)
                time.sleep(0.1)
        finally:
            receiver.stop()


class NoneLostOverAKilledHub(unittest.TestCase):
    def test_pending_deliveries_are_sent_after_kill_9_and_restart(self):
        hub = Hub().start()
        port = harness.free_port()  # nothing listens there yet: connection refused
        try:
            chain = hub.create_program("Kill Chain")
            shop = hub.create_store("Shop", "physical", chain)
            online = hub.create_store("Online", "online", chain)
            hook = hub.call("POST", "/v1/webhooks", online["api_key"],
                            {"url": f"http://127.0.0.1:{port}/hook",
                             "events": ["member.enrolled", "reservation.created"]})
            self.assertEqual(hook.status, 201, hook)
            members = [enroll(hub, shop["api_key"], f"Member {i}") for i in range(5)]
            r = hub.call("POST", "/v1/reservations", shop["api_key"],
                         {"reservation_id": "k-1", "member_id": members[0],
                          "item": {"name": "Pen"}, "pickup_at": "2030-01-01T00:00:00Z"})
            self.assertEqual(r.status, 201, r)
            # Wait until the hub has tried (and failed) at least once, then kill it.
            deadline = time.time() + 20
            while True:
                d = hub.call("GET", f"/v1/webhooks/{hook.json['webhook_id']}/deliveries",
                             online["api_key"]).json["deliveries"]
                if len(d) == 6 and all(x["attempts"] >= 1 for x in d):
                    break
                self.assertLess(time.time(), deadline, d)
                time.sleep(0.2)
            self.assertTrue(all(x["status"] == "pending" for x in d), d)
            more = enroll(hub, shop["api_key"], "Just Before The Crash")
            hub.kill9()

            receiver = Receiver(port=port)
            try:
                hub.start()
                expected = set(members + [more])
                deadline = time.time() + 30
                while True:
                    got = {e["data"]["member_id"] for e in receiver.delivered()
                           if e["type"] == "member.enrolled"}
                    if got >= expected and any(e["type"] == "reservation.created"
                                               for e in receiver.delivered()):
                        break
                    self.assertLess(time.time(), deadline, (got, expected))
                    time.sleep(0.2)
                ids = [e["id"] for e in receiver.delivered()]
                self.assertEqual(len(ids), len(set(ids)), f"delivered twice: {ids}")
                self.assertEqual(len(ids), 7)
            finally:
                receiver.stop()
        finally:
            hub.stop()


if __name__ == "__main__":
    # Retries 1 s after a failure (doubling), so the tests wait seconds, not minutes.
    os.environ["KIZUNA_WEBHOOK_RETRY_BASE"] = "1"
    harness.main()
