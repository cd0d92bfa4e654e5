#!/usr/bin/env python3
"""End-to-end: the store node (`kizuna pos serve`) in front of the real hub, on loopback.

A hub with one program and two stores: a physical store that runs a node, and an online shop
that talks to the hub directly. The node reaches the hub through a TCP proxy written here, so
that the hub can be restarted on another port and so that answers can be dropped on the way
back (the hub has committed, the node never hears it). Checks, through the hub's own API: the
node's offline work reaches the hub exactly once and in order, the offline member keeps the id
the node gave them, a reservation made at the online shop shows at the node, a card reissued
at the online shop is refused at the node while the hub is down, a node killed -9 mid-push
loses and doubles nothing.

Usage: store_node_test.py --kizuna build/kizuna [unittest args]
"""

import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness  # noqa: E402
from harness import Cli, Hub, http  # noqa: E402

PASSWORD = "correct horse 42"


class FaultProxy:
    """A TCP proxy on a free loopback port to 127.0.0.1:upstream_port. With drop_rate > 0, each
    answer chunk coming back from upstream is, with that probability, thrown away and both
    connections closed: the request was forwarded and handled, the answer is lost. While `hold`
    is set, answers wait in the proxy (`held` counts those that arrived)."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.drop_rate = 0.0
        self.dropped = 0
        self.hold = False
        self.held = 0
        self.rng = random.Random(16)
        self.lock = threading.Lock()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _accept(self):
        while self.running:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()  # the hub is down: refuse as it would
                continue
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source, sink, answers):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if answers and self.hold:
                    with self.lock:
                        self.held += 1
                    while self.hold and self.running:
                        time.sleep(0.01)
                if answers:
                    with self.lock:
                        drop = self.rng.random() < self.drop_rate
                        if drop:
                            self.dropped += 1
                    if drop:
                        break
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def stop(self):
        self.running = False
        self.listener.close()


class Node:
    """A `kizuna pos serve` process on a loopback port with its own data directory."""

    def __init__(self, hub_url, api_key, data_dir=None, extra_args=()):
        self.hub_url = hub_url
        self.api_key = api_key
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="kizuna-node-")
        self.extra_args = list(extra_args)
        self.port = harness.free_port()
        self.proc = None
        self.log_path = os.path.join(self.data_dir, "node.log")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=30):
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [harness.KIZUNA, "pos", "serve", "--hub", self.hub_url, "--data", self.data_dir,
                 "--listen", f"127.0.0.1:{self.port}", *self.extra_args],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=dict(os.environ, KIZUNA_API_KEY=self.api_key))
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode}: {self.log()}")
            try:
                if http("GET", self.url + "/healthz", timeout=2).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"node did not become healthy: {self.log()}")

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def call(self, method, path, body=None, timeout=30):
        return http(method, self.url + path, token=self.api_key, body=body, timeout=timeout)

    def call_as(self, token, staff, method, path, body=None):
        """As a till: its terminal's key and who is at it (Kizuna-Staff: STAFF_ID:PIN)."""
        return http(method, self.url + path, token=token, body=body,
                    headers={"Kizuna-Staff": staff} if staff else None)

    def status(self):
        a = self.call("GET", "/v1/node/status")
        assert a.status == 200, a
        return a.json

    def sync_until_drained(self, timeout=60):
        deadline = time.time() + timeout
        while True:
            a = self.call("POST", "/v1/node/sync")
            if a.status == 200 and a.json["outbox_pending"] == 0:
                return a.json
            if time.time() > deadline:
                raise AssertionError(f"outbox not drained: {a} {self.log()}")
            time.sleep(0.2)


def sale(card, price, category="books", purchase_id=None):
    return {"purchase_id": purchase_id or f"p-{uuid.uuid4().hex}", "card_number": card,
            "lines": [{"name": "Novel", "sku": "B-1", "category": category, "quantity": 1,
                       "unit_price": price}]}


class StoreNode(unittest.TestCase):
    def setUp(self):
        # Cleanups, not tearDown: they run (last first) even when setUp itself fails.
        self.hub = Hub().start()
        self.addCleanup(self.hub.stop)
        program = self.program = self.hub.create_program("Ekimae chain")
        self.physical = self.hub.create_store("Ekimae Books", "physical", program)
        self.online = self.hub.create_store("Ekimae Online", "online", program)
        self.proxy = FaultProxy(self.hub.port)
        self.addCleanup(self.proxy.stop)
        self.node = Node(self.proxy.url, self.physical["api_key"],
                         extra_args=["--sync-interval", "300ms", "--offline-redemption-cap", "100"])
        self.addCleanup(self.node.stop)
        self.node.start()
        self.node.sync_until_drained()

    # --- helpers ---------------------------------------------------------------------------
    def hub_as(self, store, method, path, body=None):
        return self.hub.call(method, path, store["api_key"], body)

    def hub_down(self):
        self.hub.kill9()

    def hub_up(self):
        self.hub.start()
        self.proxy.upstream_port = self.hub.port

    def enroll_at_node(self, name, email):
        a = self.node.call("POST", "/v1/members", {
            "password": PASSWORD, "profile": {"name": name, "email": email}})
        return a

    def member_at_hub(self, member_id):
        a = self.hub_as(self.physical, "GET", f"/v1/members/{member_id}")
        self.assertEqual(a.status, 200, a)
        return a.json

    def assertExactlyOnce(self, member_id, purchase_ids, balance):
        """The hub holds exactly these purchases of the member, each once, the balance, and a
        ledger whose entries sum to it (the member's own usage, every page)."""
        token = self.hub.call("POST", "/v1/sessions",
                              body={"login": member_id, "password": PASSWORD}).json["token"]
        usage = harness.usage_all(self.hub, token, member_id)
        seen = [p["purchase_id"] for p in usage["purchases"]]
        self.assertEqual(len(seen), len(set(seen)), "a purchase twice at the hub")
        self.assertEqual(sorted(seen), sorted(purchase_ids), "purchases at the hub")
        earned = [e for e in usage["entries"] if e["kind"] == "earn"]
        self.assertEqual(len(earned), len([p for p in usage["purchases"]
                                           if p["points_earned"] > 0]))
        self.assertEqual(usage["balances"][0]["points"], balance)
        ok, why = harness.ledger_consistent(self.hub, token, member_id)
        self.assertTrue(ok, why)

    # --- the tests -------------------------------------------------------------------------
    def test_offline_work_reaches_the_hub_exactly_once(self):
        # Online: the node forwards, the hub answers.
        a = self.enroll_at_node("Sato Hanako", "hanako@example.jp")
        self.assertEqual(a.status, 201, a)
        online_member, online_card = a.json["member_id"], a.json["card"]["card_number"]
        self.member_at_hub(online_member)
        first = sale(online_card, 1000)
        a = self.node.call("POST", "/v1/purchases", first)
        self.assertEqual(a.status, 201, a)
        self.assertEqual(a.json["points_earned"], 10)

        # Offline: the node keeps selling, enrolling, reserving, redeeming (capped).
        self.hub_down()
        sold = [first["purchase_id"]]
        for price in (500, 1234, 99, 2000, 3000):
            body = sale(online_card, price)
            a = self.node.call("POST", "/v1/purchases", body)
            self.assertEqual(a.status, 202, a)
            self.assertTrue(a.json["pending"])
            self.assertEqual(a.json["points_earned"], price // 100)
            sold.append(body["purchase_id"])
        a = self.node.call("POST", "/v1/purchases", body)
        self.assertEqual(a.status, 200, a)  # a retried offline sale: the first answer again
        self.assertEqual(a.json["points_earned"], 30)
        a = self.enroll_at_node("Tanaka Ichiro", "ichiro@example.jp")
        self.assertEqual(a.status, 202, a)
        offline_member, offline_card = a.json["member_id"], a.json["card"]["card_number"]
        a = self.enroll_at_node("Tanaka again", "ICHIRO@example.jp")
        self.assertEqual(a.status, 409, a)  # already registered, answered from the cache
        offline_sale = sale(offline_card, 4500)
        a = self.node.call("POST", "/v1/purchases", offline_sale)
        self.assertEqual(a.status, 202, a)
        a = self.node.call("POST", "/v1/reservations", {
            "reservation_id": "r-offline-1", "member_id": online_member,
            "item": {"name": "Manga vol. 3", "sku": "M-3"}, "quantity": 1,
            "pickup_at": "2027-01-10T10:00:00Z"})
        self.assertEqual(a.status, 202, a)
        a = self.node.call("POST", "/v1/redemptions", {
            "redemption_id": "rd-1", "card_number": online_card, "points": 60})
        self.assertEqual(a.status, 202, a)
        a = self.node.call("POST", "/v1/redemptions", {
            "redemption_id": "rd-2", "card_number": online_card, "points": 50})
        self.assertEqual(a.status, 422, a)  # over the offline cap of 100 a day
        self.assertEqual(a.error_code, "offline_limit")

        # The terminal's own commands work against the node as against the hub.
        cli = Cli(self.hub, api_key=self.physical["api_key"])
        p = cli.run("pos", "sale", "--hub", self.node.url, "--card", online_card,
                    "--item", "Tea,drinks,150", "--purchase-id", "cli-offline-1")
        self.assertIn("queued for the hub", p.stdout)
        self.assertIn("Purchase accepted offline by the store node; it reaches the hub at the "
                      "next sync.", p.stdout)
        self.assertNotIn("recorded", p.stdout)
        # Retried with the same id: the node's first answer again, said as such.
        p = cli.run("pos", "sale", "--hub", self.node.url, "--card", online_card,
                    "--item", "Tea,drinks,150", "--purchase-id", "cli-offline-1")
        self.assertIn("Purchase already accepted offline by the store node (same id); nothing "
                      "changed.", p.stdout)
        sold.append("cli-offline-1")
        status = cli.json("pos", "status", "--hub", self.node.url)
        self.assertFalse(status["hub_reachable"])
        self.assertEqual(status["outbox_pending"], 5 + 1 + 1 + 1 + 1 + 1)

        # Back: the outbox drains, each event once, the offline member with the node's id.
        self.hub_up()
        synced = cli.json("pos", "sync", "--hub", self.node.url)
        self.assertTrue(synced["hub_reachable"])
        self.node.sync_until_drained()
        earned = 10 + 5 + 12 + 0 + 20 + 30 + 1
        self.assertExactlyOnce(online_member, sold, earned - 60)
        self.assertExactlyOnce(offline_member, [offline_sale["purchase_id"]], 45)
        a = self.hub_as(self.physical, "GET", f"/v1/reservations?member_id={online_member}")
        self.assertEqual([r["reservation_id"] for r in a.json["reservations"]], ["r-offline-1"])
        # The offline member logs in at the hub with the card number the node gave them.
        a = self.hub.call("POST", "/v1/sessions", body={"login": offline_card,
                                                        "password": PASSWORD})
        self.assertIn(a.status, (200, 201), a)
        self.assertEqual(a.json["member_id"], offline_member)

    def test_changes_at_the_online_store_reach_the_node(self):
        a = self.enroll_at_node("Suzuki Jiro", "jiro@example.jp")
        self.assertEqual(a.status, 201, a)
        member, card = a.json["member_id"], a.json["card"]["card_number"]
        self.assertEqual(self.node.call("POST", "/v1/purchases", sale(card, 800)).status, 201)
        # The online shop takes a reservation and reissues the member's card.
        a = self.hub_as(self.online, "POST", "/v1/reservations", {
            "reservation_id": "web-1", "member_id": member, "store_id": self.physical["store_id"],
            "item": {"name": "Atlas", "sku": "A-1"}, "pickup_at": "2027-02-01T09:00:00Z"})
        self.assertEqual(a.status, 201, a)
        a = self.hub_as(self.online, "POST", f"/v1/members/{member}/cards",
                        {"password": PASSWORD})
        self.assertEqual(a.status, 201, a)
        self.node.sync_until_drained()
        self.hub_down()
        a = self.node.call("GET", f"/v1/reservations?member_id={member}")
        self.assertEqual(a.status, 200, a)
        self.assertIn("web-1", [r["reservation_id"] for r in a.json["reservations"]])
        a = self.node.call("POST", "/v1/purchases", sale(card, 800))
        self.assertEqual(a.status, 409, a)
        self.assertEqual(a.error_code, "card_revoked")
        self.assertEqual(self.node.status()["outbox_pending"], 0)

    def test_a_merge_at_the_hub_reaches_the_node(self):
        # Two records of one person, each with a sale through the node while online.
        a = self.enroll_at_node("Kato Mei", "mei@example.jp")
        self.assertEqual(a.status, 201, a)
        survivor, survivor_card = a.json["member_id"], a.json["card"]["card_number"]
        a = self.enroll_at_node("Kato Mei (twin)", "mei.twin@example.jp")
        self.assertEqual(a.status, 201, a)
        twin, twin_card = a.json["member_id"], a.json["card"]["card_number"]
        bought = []
        for card, price in ((survivor_card, 1000), (twin_card, 500)):
            body = sale(card, price)
            self.assertEqual(self.node.call("POST", "/v1/purchases", body).status, 201)
            bought.append(body["purchase_id"])
        # The operator merges them at the hub; the node hears of it at its next pull.
        a = self.hub.call("POST", f"/v1/members/{survivor}/merge", self.hub.operator_token,
                          {"from_member_id": twin, "confirm": True})
        self.assertEqual(a.status, 200, a)
        self.node.sync_until_drained()

        self.hub_down()
        # Offline, the merged-away id earns for the survivor, on the merged balance (10 + 5).
        by_twin_id = sale(None, 800)
        del by_twin_id["card_number"]
        by_twin_id["member_id"] = twin
        a = self.node.call("POST", "/v1/purchases", by_twin_id)
        self.assertEqual(a.status, 202, a)
        self.assertEqual((a.json["member_id"], a.json["balance"]), (survivor, 15 + 8))
        bought.append(by_twin_id["purchase_id"])
        # The merged-away card is refused as the hub refuses it; the survivor's card works.
        a = self.node.call("POST", "/v1/purchases", sale(twin_card, 300))
        self.assertEqual((a.status, a.error_code), (409, "card_revoked"), a)
        body = sale(survivor_card, 200)
        a = self.node.call("POST", "/v1/purchases", body)
        self.assertEqual((a.status, a.json["balance"]), (202, 15 + 8 + 2), a)
        bought.append(body["purchase_id"])

        # Back: the hub books both offline sales on the survivor, nothing on the closed record.
        self.hub_up()
        self.node.sync_until_drained()
        status = self.node.status()
        self.assertEqual((status["flagged"], status["rejected"]), (0, 0), status)
        self.assertExactlyOnce(survivor, bought, 15 + 8 + 2)

    def test_node_killed_mid_push_loses_and_doubles_nothing(self):
        a = self.enroll_at_node("Kato Yumi", "yumi@example.jp")
        member, card = a.json["member_id"], a.json["card"]["card_number"]
        sold, earned = [], 0
        for round_ in range(4):
            self.hub_down()
            for i in range(150):
                body = sale(card, 100 * (i % 7 + 1))
                a = self.node.call("POST", "/v1/purchases", body)
                self.assertEqual(a.status, 202, a)
                sold.append(body["purchase_id"])
                earned += i % 7 + 1
            self.hub_up()
            # The node's timer pushes every 300 ms: kill it somewhere in the middle.
            time.sleep(0.1 + 0.15 * round_)
            self.node.kill9()
            self.node.start()
        self.node.sync_until_drained()
        self.assertExactlyOnce(member, sold, earned)

    def test_node_killed_between_the_hubs_commit_and_its_ack(self):
        a = self.enroll_at_node("Mori Aoi", "aoi@example.jp")
        member, card = a.json["member_id"], a.json["card"]["card_number"]
        self.hub_down()
        sold = []
        for i in range(700):  # two pushes: 500, then 200
            body = sale(card, 100)
            self.assertEqual(self.node.call("POST", "/v1/purchases", body).status, 202)
            sold.append(body["purchase_id"])
        self.proxy.hold = True
        self.hub_up()
        deadline = time.time() + 30
        while self.proxy.held == 0:  # the hub has answered the first push: it has committed
            self.assertLess(time.time(), deadline, self.node.log())
            time.sleep(0.01)
        self.node.kill9()
        self.proxy.hold = False
        self.assertEqual(len(self.member_at_hub(member)["purchases"]), 500)
        # Restarted, the node pushes the 500 again (the hub answers "duplicate"), then the rest.
        self.node.start()
        self.node.sync_until_drained()
        self.assertExactlyOnce(member, sold, 700)

    def test_answers_lost_between_hub_and_node_apply_once(self):
        a = self.enroll_at_node("Ito Ken", "ken@example.jp")
        member, card = a.json["member_id"], a.json["card"]["card_number"]
        sold, earned = [], 0
        for round_ in range(6):
            self.hub_down()
            for i in range(40):
                body = sale(card, 300)
                self.assertEqual(self.node.call("POST", "/v1/purchases", body).status, 202)
                sold.append(body["purchase_id"])
                earned += 3
            self.hub_up()
            self.proxy.drop_rate = 0.5  # half the hub's answers never come back
            deadline = time.time() + 60
            while self.node.status()["outbox_pending"] > 0:
                self.node.call("POST", "/v1/node/sync")
                self.assertLess(time.time(), deadline, self.node.log())
            self.proxy.drop_rate = 0.0
        self.assertGreater(self.proxy.dropped, 5)
        self.node.sync_until_drained()
        self.assertExactlyOnce(member, sold, earned)


    def ledger_rows(self, ref):
        """The hub's ledger entries of `ref`, read from its real SQLite file (read-only)."""
        db = sqlite3.connect(
            f"file:{os.path.join(self.hub.data_dir, 'kizuna.db')}?mode=ro", uri=True)
        try:
            return db.execute(
                "SELECT kind, store_id, terminal_id, staff_id, occurred_at, delta"
                " FROM ledger_entries WHERE ref = ? ORDER BY entry_id", (ref,)).fetchall()
        finally:
            db.close()

    def test_till_staff_and_terminal_work_through_the_node_online_and_offline(self):
        for staff_id, role, pin in (("clerk-aoi", "clerk", "2468"), ("mgr-ken", "manager", "1357")):
            a = self.hub_as(self.physical, "POST", "/v1/stores/me/staff", {
                "staff_id": staff_id, "name": staff_id, "role": role, "pin": pin})
            self.assertEqual(a.status, 201, a)
        a = self.hub_as(self.physical, "POST", "/v1/stores/me/terminals", {"name": "Till 1"})
        self.assertEqual(a.status, 201, a)
        till, terminal_id = a.json["api_key"], a.json["terminal_id"]
        clerk, manager, wrong = "clerk-aoi:2468", "mgr-ken:1357", "clerk-aoi:9999"
        self.node.sync_until_drained()  # the node pulls the store's staff and terminals
        a = self.enroll_at_node("Kato Yui", "yui@example.jp")
        self.assertEqual(a.status, 201, a)
        card = a.json["card"]["card_number"]

        # Online: the till's terminal key and Kizuna-Staff go to the hub with the call.
        online = sale(card, 30000)
        a = self.node.call_as(till, clerk, "POST", "/v1/purchases", online)
        self.assertEqual(a.status, 201, a)
        a = self.node.call_as(till, wrong, "POST", "/v1/purchases", sale(card, 100))
        self.assertEqual(a.status, 401, a)
        refund = f"/v1/purchases/{online['purchase_id']}/refunds"
        a = self.node.call_as(till, clerk, "POST", refund, {"refund_id": "rf-on", "amount": 20000})
        self.assertEqual(a.status, 403, a)  # a clerk may not refund above the store's threshold
        a = self.node.call_as(till, manager, "POST", refund, {"refund_id": "rf-on", "amount": 20000})
        self.assertEqual(a.status, 201, a)

        # Offline: the node checks the terminal key and the PIN itself, as the hub would.
        self.hub_down()
        sold_at = int(time.time())
        offline = sale(card, 30000)
        a = self.node.call_as(till, clerk, "POST", "/v1/purchases", offline)
        self.assertEqual(a.status, 202, a)
        self.assertTrue(a.json["pending"])
        a = self.node.call_as(till, wrong, "POST", "/v1/purchases", sale(card, 100))
        self.assertEqual(a.status, 401, a)
        self.assertIn("PIN", a.json["error"]["message"])
        a = self.node.call_as("kt_not_a_terminal_key", clerk, "POST", "/v1/purchases",
                              sale(card, 100))
        self.assertEqual(a.status, 401, a)
        refund = f"/v1/purchases/{offline['purchase_id']}/refunds"
        a = self.node.call_as(till, clerk, "POST", refund, {"refund_id": "rf-off", "amount": 20000})
        self.assertEqual(a.status, 403, a)
        self.assertIn("manager", a.json["error"]["message"])
        a = self.node.call_as(till, manager, "POST", refund,
                              {"refund_id": "rf-off", "amount": 20000})
        self.assertEqual(a.status, 202, a)
        time.sleep(2)  # the sync happens later than the sale
        self.hub_up()
        status = self.node.sync_until_drained()
        self.assertEqual(status["rejected"], 0, self.node.log())

        a = self.hub_as(self.physical, "GET", "/v1/stores/me/day")
        self.assertEqual(a.status, 200, a)
        by_terminal = {t["terminal_id"]: t for t in a.json["terminals"]}
        self.assertEqual(by_terminal[terminal_id]["sales_count"], 2, a.json)
        # After sync the hub's ledger names the store, terminal, staff and the sale's own time,
        # exactly as for the sale made online (read from its SQLite file once it has stopped).
        self.hub.stop()
        for pid, refund_id in ((online["purchase_id"], "rf-on"), (offline["purchase_id"], "rf-off")):
            earn = self.ledger_rows(pid)
            self.assertEqual([r[0] for r in earn], ["earn"], earn)
            self.assertEqual(earn[0][1:4], (self.physical["store_id"], terminal_id, "clerk-aoi"))
            reversal = self.ledger_rows(refund_id)
            self.assertEqual([r[0] for r in reversal], ["refund_reversal"], reversal)
            self.assertEqual(reversal[0][1:4], (self.physical["store_id"], terminal_id, "mgr-ken"))
        earn = [r for r in self.ledger_rows(offline["purchase_id"]) if r[0] == "earn"][0]
        self.assertLessEqual(abs(earn[4] - sold_at), 1, "the offline sale's own time")

    def test_offline_points_honour_the_members_tier_and_the_offers_multiplier(self):
        a = self.hub.call("PUT", f"/v1/programs/{self.program}/tiers", self.hub.operator_token, {
            "basis": "spend", "tiers": [{"name": "Regular", "threshold": 0, "multiplier": 1},
                                        {"name": "Gold", "threshold": 5000, "multiplier": 2}]})
        self.assertEqual(a.status, 200, a)
        a = self.hub_as(self.physical, "POST", "/v1/offers", {
            "title": "Books x1.5", "categories": ["books"], "points_multiplier": 1.5,
            "valid_to": "2099-01-01T00:00:00Z"})
        self.assertEqual(a.status, 201, a)
        a = self.enroll_at_node("Mori Sora", "sora@example.jp")
        self.assertEqual(a.status, 201, a)
        member, card = a.json["member_id"], a.json["card"]["card_number"]
        a = self.node.call("POST", "/v1/purchases", sale(card, 6000))  # reaches Gold
        self.assertEqual(a.status, 201, a)
        self.node.sync_until_drained()  # the offer, the tiers and the member's new tier

        self.hub_down()
        offline = sale(card, 1001)
        offline["lines"].append({"name": "Tea", "sku": "T-1", "category": "food",
                                 "quantity": 2, "unit_price": 555})
        a = self.node.call("POST", "/v1/purchases", offline)
        self.assertEqual(a.status, 202, a)
        at_node = a.json["points_earned"]
        self.hub_up()
        self.node.sync_until_drained()
        booked = [p for p in self.member_at_hub(member)["purchases"]
                  if p["purchase_id"] == offline["purchase_id"]]
        self.assertEqual(len(booked), 1)
        self.assertEqual(at_node, booked[0]["points_earned"])
        # Books: 10 points x1.5 (the offer) = 15; tea: 11; then x2 (Gold): 52.
        self.assertEqual(at_node, 52)

    def test_offline_card_reissue_is_refused_saying_why(self):
        a = self.enroll_at_node("Ueda Rin", "rin@example.jp")
        self.assertEqual(a.status, 201, a)
        member = a.json["member_id"]
        self.hub_down()
        a = self.node.call("POST", f"/v1/members/{member}/cards", {"password": PASSWORD})
        self.assertEqual(a.status, 503, a)
        self.assertEqual(a.error_code, "hub_unreachable")
        self.assertIn("revoke the old card at every store", a.json["error"]["message"])
        self.assertEqual(self.node.status()["outbox_pending"], 0)


class MutualTls(unittest.TestCase):
    """The node reaches a hub that serves HTTPS and asks store nodes for their certificate."""

    def test_node_syncs_with_its_certificate_and_not_without(self):
        hub = Hub().start()
        store = hub.create_store("TLS Books", "physical")
        hub.stop()
        work = tempfile.mkdtemp(prefix="kizuna-node-mtls-")
        hub_key, hub_crt = os.path.join(work, "hub.key"), os.path.join(work, "hub.crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", hub_key, "-out", hub_crt,
                        "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        certs = os.path.join(work, "node-certs")
        subprocess.run([harness.KIZUNA, "hub", "nodes", "add", store["store_id"], "--data",
                        hub.data_dir, "--out", certs], check=True, capture_output=True)
        port = harness.free_port()
        with open(os.path.join(work, "hub.log"), "w") as log:
            proc = subprocess.Popen(
                [harness.KIZUNA, "hub", "serve", "--data", hub.data_dir, "--listen",
                 f"127.0.0.1:{port}", "--tls-cert", hub_crt, "--tls-key", hub_key, "--node-ca"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        hub_url = f"https://127.0.0.1:{port}"
        with_cert = Node(hub_url, store["api_key"], extra_args=[
            "--hub-ca", hub_crt, "--cert", os.path.join(certs, "node.crt"),
            "--key", os.path.join(certs, "node.key")])
        without = Node(hub_url, store["api_key"], extra_args=["--hub-ca", hub_crt])
        try:
            with_cert.start()
            without.start()
            synced = with_cert.sync_until_drained()
            self.assertTrue(synced["hub_reachable"])
            a = with_cert.call("POST", "/v1/members", {
                "password": PASSWORD, "profile": {"name": "Hayashi Ren"}})
            self.assertEqual(a.status, 201, a)  # forwarded over HTTPS
            a = without.call("POST", "/v1/node/sync")
            self.assertEqual(a.status, 503, a)  # the hub refuses sync without a certificate
            self.assertEqual(a.error_code, "hub_unreachable")
        finally:
            with_cert.stop()
            without.stop()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=15)


if __name__ == "__main__":
    harness.main()
