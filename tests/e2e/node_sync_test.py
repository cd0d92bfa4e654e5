#!/usr/bin/env python3
"""End-to-end: the hub side of store node sync, through the real `kizuna hub serve`.

A store's node bootstraps, leases ids, pushes what it recorded offline (exactly once: replays
answer "duplicate" and change nothing), and pulls what the program's other stores did; pushes
that conflict are flagged and listed (`GET /v1/sync/conflicts`, `kizuna hub conflicts`). With
`--tls-cert/--tls-key --node-ca` the sync endpoints need a certificate from `kizuna hub nodes add`.

Usage: node_sync_test.py --kizuna build/kizuna [unittest args]
"""

import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Hub  # noqa: E402

PASSWORD = "correct horse 42"


def luhn_ok(digits):
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def now_text(offset=0):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset))


class NodeSyncTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub().start()
        cls.program = cls.hub.create_program("駅前チェーン")
        cls.other_program = cls.hub.create_program("Other chain")
        cls.a = cls.hub.create_store("Ekimae A", program_id=cls.program)
        cls.b = cls.hub.create_store("Ekimae B", program_id=cls.program)
        cls.c = cls.hub.create_store("Elsewhere", program_id=cls.other_program)

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()

    def call(self, store, method, path, body=None):
        return self.hub.call(method, path, store["api_key"], body)

    def lease(self, store, kind, count):
        a = self.call(store, "POST", "/v1/sync/leases", {"kind": kind, "count": count})
        self.assertEqual(a.status, 201, a)
        self.assertEqual(a.json["kind"], kind)
        return a.json["values"]

    def push(self, store, events):
        a = self.call(store, "POST", "/v1/sync/push", {"events": events})
        self.assertEqual(a.status, 200, a)
        self.assertEqual([r["event_id"] for r in a.json["results"]],
                         [e["event_id"] for e in events])
        return a.json

    def balance(self, store, member_id):
        a = self.call(store, "GET", f"/v1/members/{member_id}")
        self.assertEqual(a.status, 200, a)
        return sum(b["points"] for b in a.json.get("balances", []))

    def pull_all(self, store, cursor=0):
        events = []
        while True:
            a = self.call(store, "GET", f"/v1/sync/pull?cursor={cursor}&limit=2")
            self.assertEqual(a.status, 200, a)
            seqs = [e["sequence"] for e in a.json["events"]]
            self.assertEqual(seqs, sorted(seqs))
            self.assertTrue(all(s > cursor for s in seqs))
            events += a.json["events"]
            cursor = a.json["cursor"]
            if not a.json["more"]:
                return events, cursor

    def enrollment(self, event_id, member_id, card_number, email, phone=None, name="佐藤 花子"):
        profile = {"name": name, "email": email}
        if phone:
            profile["phone"] = phone
        return {"event_id": event_id, "type": "member.enrolled", "occurred_at": now_text(-3600),
                "terminal_id": "till-1",
                "body": {"password": PASSWORD, "profile": profile, "member_id": member_id,
                         "card_number": card_number}}

    def test_bootstrap_is_a_snapshot_with_the_cursor(self):
        a = self.call(self.a, "GET", "/v1/sync/bootstrap")
        self.assertEqual(a.status, 200, a)
        body = a.json
        self.assertEqual(body["store"]["store_id"], self.a["store_id"])
        self.assertEqual(body["program"]["program_id"], self.program)
        self.assertIn("amount_per_point", body["rule"])
        self.assertGreaterEqual(len(body["rule"]["versions"]), 1)
        self.assertIsInstance(body["offers"], list)
        self.assertIsInstance(body["revoked_cards"], list)
        key = self.hub.call("GET", "/v1/card-key").json["public_key"]
        self.assertEqual(body["card_public_key"], key)
        # Nothing happened after the snapshot: a pull from its cursor is empty.
        events, _ = self.pull_all(self.a, body["cursor"])
        self.assertEqual(events, [])
        # Members cannot bootstrap; nobody without a key can.
        self.assertEqual(self.hub.call("GET", "/v1/sync/bootstrap").status, 401)

    def test_leases_are_valid_and_never_shared(self):
        a_ids = self.lease(self.a, "member_id", 50)
        b_ids = self.lease(self.b, "member_id", 50)
        a_cards = self.lease(self.a, "card_number", 50)
        self.assertEqual(len(set(a_ids) | set(b_ids)), 100)
        for value in a_ids:
            self.assertEqual(len(value), 10)
        for value in a_cards:
            self.assertEqual(len(value), 16)
            self.assertTrue(luhn_ok(value), value)
        bad = self.call(self.a, "POST", "/v1/sync/leases", {"kind": "member_id", "count": 1001})
        self.assertEqual(bad.status, 400, bad)
        bad = self.call(self.a, "POST", "/v1/sync/leases", {"kind": "coupon", "count": 1})
        self.assertEqual(bad.status, 400, bad)

    def test_push_is_exactly_once_and_pull_shows_other_stores(self):
        (member_id,) = self.lease(self.a, "member_id", 1)
        (card,) = self.lease(self.a, "card_number", 1)
        start = self.call(self.b, "GET", "/v1/sync/bootstrap").json["cursor"]
        events = [
            self.enrollment("a-ev-1", member_id, card, "hanako.sync@example.jp"),
            {"event_id": "a-ev-2", "type": "purchase.created", "occurred_at": now_text(-1800),
             "body": {"purchase_id": "a-p-1", "card_number": card,
                      "lines": [{"name": "弁当", "unit_price": 1980, "quantity": 1}]}},
            {"event_id": "a-ev-3", "type": "points.redeemed", "occurred_at": now_text(-1700),
             "body": {"redemption_id": "a-r-1", "member_id": member_id, "points": 5}},
            {"event_id": "a-ev-4", "type": "purchase.refunded", "occurred_at": now_text(-1600),
             "body": {"purchase_id": "a-p-1", "refund_id": "a-rf-1", "amount": 500}},
            {"event_id": "a-ev-5", "type": "reservation.created", "occurred_at": now_text(-1500),
             "body": {"reservation_id": "a-res-1", "member_id": member_id,
                      "item": {"name": "新刊 上巻"}, "pickup_at": now_text(86400)}},
        ]
        first = self.push(self.a, events)
        statuses = [r["status"] for r in first["results"]]
        self.assertEqual(statuses, ["applied"] * 5, first)
        self.assertEqual(first["results"][0]["body"]["member_id"], member_id)
        self.assertEqual(first["results"][0]["body"]["card"]["card_number"], card)
        self.assertEqual(first["results"][1]["body"]["points_earned"], 19)
        balance = self.balance(self.b, member_id)

        # The whole batch again, then a part of it with a new event: nothing changes twice.
        again = self.push(self.a, events)
        self.assertEqual([r["status"] for r in again["results"]], ["duplicate"] * 5)
        for one, two in zip(first["results"], again["results"]):
            self.assertEqual(one["body"], two["body"])
            self.assertEqual(one["http_status"], two["http_status"])
        self.assertEqual(self.balance(self.b, member_id), balance)
        partial = self.push(self.a, events[1:3] + [
            {"event_id": "a-ev-6", "type": "purchase.created", "occurred_at": now_text(-60),
             "body": {"purchase_id": "a-p-2", "member_id": member_id,
                      "lines": [{"name": "お茶", "unit_price": 300, "quantity": 1}]}}])
        self.assertEqual([r["status"] for r in partial["results"]],
                         ["duplicate", "duplicate", "applied"])
        self.assertEqual(self.balance(self.b, member_id), balance + 3)

        # Store B hears of A's member and sales, with the balance; A does not hear its own.
        b_events, _ = self.pull_all(self.b, start)
        types = [e["type"] for e in b_events]
        self.assertIn("member.enrolled", types)
        sales = [e for e in b_events if e["type"] == "purchase.created"]
        self.assertEqual({e["data"]["purchase_id"] for e in sales}, {"a-p-1", "a-p-2"})
        self.assertTrue(all("balance" in e["data"] for e in sales))
        self.assertIn("reservation.created", types)
        a_events, _ = self.pull_all(self.a, start)
        self.assertFalse([e for e in a_events if e["type"] == "purchase.created"])
        # Another program's store hears nothing of it.
        c_events, _ = self.pull_all(self.c, start)
        self.assertFalse([e for e in c_events if e["data"].get("member_id") == member_id])

    def test_cards_and_reservation_changes_replay_and_reach_the_other_store(self):
        member_id, = self.lease(self.a, "member_id", 1)
        first_card, second_card = self.lease(self.a, "card_number", 2)
        start = self.call(self.b, "GET", "/v1/sync/bootstrap").json["cursor"]
        events = [
            self.enrollment("cr-1", member_id, first_card, "card.change@example.jp"),
            {"event_id": "cr-2", "type": "reservation.created", "occurred_at": now_text(-90),
             "body": {"reservation_id": "cr-res", "member_id": member_id,
                      "item": {"name": "傘"}, "pickup_at": now_text(3600)}},
            {"event_id": "cr-3", "type": "card.issued", "occurred_at": now_text(-60),
             "body": {"member_id": member_id, "card_number": second_card,
                      "password": PASSWORD}},
            {"event_id": "cr-4", "type": "reservation.updated", "occurred_at": now_text(-30),
             "body": {"reservation_id": "cr-res", "status": "cancelled"}},
            {"event_id": "cr-5", "type": "purchase.created", "occurred_at": now_text(-10),
             "body": {"purchase_id": "cr-p", "card_number": second_card,
                      "lines": [{"name": "傘", "unit_price": 700, "quantity": 1}]}},
        ]
        first = self.push(self.a, events)
        self.assertEqual([r["status"] for r in first["results"]], ["applied"] * 5, first)
        self.assertEqual(first["results"][2]["body"]["card"]["card_number"], second_card)
        self.assertEqual(first["results"][2]["body"]["card"]["generation"], 2)
        self.assertEqual(first["results"][3]["body"]["status"], "cancelled")
        again = self.push(self.a, events)
        self.assertEqual([r["status"] for r in again["results"]], ["duplicate"] * 5)
        self.assertEqual([r["body"] for r in again["results"]],
                         [r["body"] for r in first["results"]])
        # The old card is revoked for everybody: B hears of it and a bootstrap lists it.
        b_events, _ = self.pull_all(self.b, start)
        revoked = [e["data"]["card_number"] for e in b_events if e["type"] == "card.revoked"]
        self.assertEqual(revoked, [first_card])
        self.assertIn("reservation.updated", [e["type"] for e in b_events])
        snapshot = self.call(self.b, "GET", "/v1/sync/bootstrap").json
        self.assertIn(first_card, snapshot["revoked_cards"])
        # A leased card number is used once.
        reuse = self.push(self.a, [{"event_id": "cr-6", "type": "card.issued",
                                    "occurred_at": now_text(),
                                    "body": {"member_id": member_id,
                                             "card_number": second_card}}])
        self.assertEqual(reuse["results"][0]["status"], "rejected", reuse)
        self.assertEqual(reuse["results"][0]["http_status"], 409)

    def test_a_bad_event_is_rejected_alone_and_stays_rejected(self):
        (member_id,) = self.lease(self.b, "member_id", 1)  # B's, not A's
        (card,) = self.lease(self.b, "card_number", 1)
        events = [
            self.enrollment("rej-1", member_id, card, "not.mine@example.jp"),
            {"event_id": "rej-2", "type": "purchase.created", "occurred_at": now_text(),
             "body": {"purchase_id": "rej-p", "member_id": member_id, "lines": []}},
            {"event_id": "rej-3", "type": "no.such", "occurred_at": now_text(), "body": {}},
        ]
        first = self.push(self.a, events)
        self.assertEqual([r["status"] for r in first["results"]], ["rejected"] * 3, first)
        self.assertEqual(first["results"][0]["http_status"], 404)
        self.assertEqual(first["results"][1]["http_status"], 400)
        again = self.push(self.a, events)
        self.assertEqual([r["status"] for r in again["results"]], ["duplicate"] * 3)
        self.assertEqual([r["body"] for r in again["results"]],
                         [r["body"] for r in first["results"]])
        # A malformed envelope refuses the whole push.
        bad = self.call(self.a, "POST", "/v1/sync/push",
                        {"events": [{"event_id": "x", "type": "purchase.created", "body": {}}]})
        self.assertEqual(bad.status, 400, bad)

    def test_conflicts_are_flagged_and_listed(self):
        taken = self.call(self.a, "POST", "/v1/members",
                          {"password": PASSWORD,
                           "profile": {"name": "鈴木 一郎", "email": "ichiro.dup@example.jp"}})
        self.assertEqual(taken.status, 201, taken)
        first_member = taken.json["member_id"]
        member_id, member_2 = self.lease(self.a, "member_id", 2)
        card, card_2 = self.lease(self.a, "card_number", 2)
        result = self.push(self.a, [
            self.enrollment("cf-1", member_id, card, "ichiro.dup@example.jp", name="鈴木 一郎"),
            {"event_id": "cf-2", "type": "purchase.created", "occurred_at": now_text(-100),
             "body": {"purchase_id": "cf-p", "member_id": member_id,
                      "lines": [{"name": "本", "unit_price": 1000, "quantity": 1}]}},
            {"event_id": "cf-3", "type": "points.redeemed", "occurred_at": now_text(-50),
             "body": {"redemption_id": "cf-r", "member_id": member_id, "points": 25}},
        ])
        statuses = [r["status"] for r in result["results"]]
        self.assertEqual(statuses, ["flagged", "applied", "flagged"], result)
        self.assertEqual(result["results"][2]["body"]["points"], 10)
        self.assertEqual(result["results"][2]["body"]["balance"], 0)
        self.assertEqual(result["results"][2]["body"]["points_short"], 15)
        self.assertEqual(self.balance(self.a, member_id), 0)

        everything = self.hub.call("GET", "/v1/sync/conflicts", self.hub.operator_token)
        self.assertEqual(everything.status, 200, everything)
        mine = [c for c in everything.json["conflicts"] if c["event_id"].startswith("cf-")]
        kinds = {c["kind"]: c for c in mine}
        self.assertEqual(set(kinds), {"duplicate_member", "overspend"})
        self.assertEqual(kinds["duplicate_member"]["member_id"], member_id)
        self.assertEqual(kinds["duplicate_member"]["other_member_id"], first_member)
        self.assertEqual(kinds["overspend"]["points_short"], 15)
        # A store sees its own conflicts only.
        b_list = self.call(self.b, "GET", "/v1/sync/conflicts").json["conflicts"]
        self.assertFalse([c for c in b_list if c["event_id"].startswith("cf-")])
        # The CLI lists them too.
        out = subprocess.run(
            [harness.KIZUNA, "hub", "conflicts", "--json", "--data", self.hub.data_dir,
             "--hub", self.hub.url], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        listed = json.loads(out.stdout)["conflicts"]
        self.assertTrue({"duplicate_member", "overspend"} <= {c["kind"] for c in listed})
        del member_2, card_2


    def test_bootstrap_gives_offers_with_a_multiplier_that_start_later(self):
        later = {"title": "Next week x2", "categories": ["books"], "points_multiplier": 2,
                 "valid_from": now_text(7 * 86400), "valid_to": now_text(14 * 86400)}
        a = self.call(self.b, "POST", "/v1/offers", later)
        self.assertEqual(a.status, 201, a)
        offer_id = a.json["offer_id"]
        a = self.call(self.b, "GET", "/v1/sync/bootstrap")
        self.assertEqual(a.status, 200, a)
        offers = {o["offer_id"]: o for o in a.json["offers"]}
        self.assertIn(offer_id, offers)
        self.assertEqual(offers[offer_id]["points_multiplier"], 2)
        # Its changes reach the nodes whole (a pull event with the multiplier and categories).
        cursor = a.json["cursor"]
        a = self.call(self.b, "PATCH", f"/v1/offers/{offer_id}", {"points_multiplier": 3})
        self.assertEqual(a.status, 200, a)
        events, _ = self.pull_all(self.a, cursor)
        changed = [e["data"] for e in events if e["type"] == "offer.changed"]
        self.assertEqual(len(changed), 1, events)
        self.assertEqual(changed[0]["points_multiplier_milli"], 3000)
        self.assertEqual(changed[0]["categories"], ["books"])

    def test_events_apply_as_the_tills_terminal_and_staff(self):
        for staff_id, role in (("sync-clerk", "clerk"), ("sync-mgr", "manager")):
            a = self.call(self.b, "POST", "/v1/stores/me/staff",
                          {"staff_id": staff_id, "name": staff_id, "role": role, "pin": "5555"})
            self.assertEqual(a.status, 201, a)
        a = self.call(self.a, "POST", "/v1/stores/me/staff",
                      {"staff_id": "sync-other", "name": "A's", "role": "manager", "pin": "5555"})
        self.assertEqual(a.status, 201, a)
        a = self.call(self.b, "POST", "/v1/stores/me/terminals", {"name": "Sync till"})
        self.assertEqual(a.status, 201, a)
        terminal, terminal_key = a.json["terminal_id"], a.json["api_key"]

        # The node reads what it needs to check them offline, with the store's own key only.
        a = self.call(self.b, "GET", "/v1/sync/till")
        self.assertEqual(a.status, 200, a)
        staff = {s["staff_id"]: s for s in a.json["staff"]}
        self.assertEqual(set(staff), {"sync-clerk", "sync-mgr"})
        self.assertTrue(staff["sync-mgr"]["pin_hash"].startswith("$argon2id$"))
        self.assertEqual(staff["sync-mgr"]["role"], "manager")
        self.assertEqual([t["terminal_id"] for t in a.json["terminals"]], [terminal])
        self.assertEqual(a.json["limits"]["manager_refund_above"], 10000)
        self.assertEqual(self.hub.call("GET", "/v1/sync/till", terminal_key).status, 403)

        (member_id,) = self.lease(self.b, "member_id", 1)
        (card,) = self.lease(self.b, "card_number", 1)

        def at_till(event, staff_id):
            return dict(event, terminal_id=terminal, staff_id=staff_id)

        def sale(event_id, purchase_id):
            return {"event_id": event_id, "type": "purchase.created", "occurred_at": now_text(-60),
                    "body": {"purchase_id": purchase_id, "card_number": card,
                             "lines": [{"name": "Coat", "unit_price": 30000, "quantity": 1}]}}

        def refund(event_id, refund_id):
            return {"event_id": event_id, "type": "purchase.refunded", "occurred_at": now_text(-30),
                    "body": {"purchase_id": "st-p", "refund_id": refund_id, "amount": 20000}}

        events = [
            at_till(self.enrollment("st-1", member_id, card, "till.sync@example.jp"), "sync-clerk"),
            at_till(sale("st-2", "st-p"), "sync-clerk"),
            at_till(refund("st-3", "st-rf-1"), "sync-clerk"),  # above the threshold: a manager's
            at_till(refund("st-4", "st-rf-2"), "sync-mgr"),
            at_till(sale("st-5", "st-p2"), "sync-other"),  # another store's staff member
            at_till(sale("st-6", "st-p3"), "nobody"),
        ]
        result = self.push(self.b, events)["results"]
        self.assertEqual([r["status"] for r in result],
                         ["applied", "applied", "rejected", "applied", "rejected", "rejected"],
                         result)
        self.assertEqual([result[i]["http_status"] for i in (2, 4, 5)], [403, 401, 401], result)
        a = self.call(self.b, "GET", "/v1/stores/me/day")
        self.assertEqual(a.status, 200, a)
        by_terminal = {t["terminal_id"]: t for t in a.json["terminals"]}
        self.assertEqual(by_terminal[terminal]["sales_count"], 1, a.json)
        self.assertEqual(by_terminal[terminal]["sales_total"], 30000, a.json)


class MutualTlsTest(unittest.TestCase):
    """`kizuna hub serve --tls-cert --tls-key --node-ca`: sync needs the store's node certificate."""

    def test_sync_needs_the_node_certificate_of_the_calling_store(self):
        hub = Hub().start()
        try:
            program = hub.create_program("TLS chain")
            a = hub.create_store("TLS A", program_id=program)
            b = hub.create_store("TLS B", program_id=program)
        finally:
            hub.stop()
        work = tempfile.mkdtemp(prefix="kizuna-mtls-")
        server_key = os.path.join(work, "hub.key")
        server_crt = os.path.join(work, "hub.crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", server_key, "-out",
                        server_crt, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        node_dir = os.path.join(work, "node-a")
        out = subprocess.run([harness.KIZUNA, "hub", "nodes", "add", a["store_id"], "--data",
                              hub.data_dir, "--out", node_dir, "--json"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        issued = json.loads(out.stdout)
        self.assertEqual(issued["store_id"], a["store_id"])
        for name in ("node.crt", "node.key", "ca.crt"):
            self.assertTrue(os.path.exists(os.path.join(node_dir, name)))
        self.assertEqual(os.stat(os.path.join(node_dir, "node.key")).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(os.path.join(hub.data_dir, "node-ca", "ca.key")).st_mode & 0o777,
                         0o600)
        listed = subprocess.run([harness.KIZUNA, "hub", "nodes", "list", "--data", hub.data_dir,
                                 "--json"], capture_output=True, text=True, timeout=60)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        certs = json.loads(listed.stdout)["certificates"]
        self.assertEqual([(c["serial"], c["store_id"]) for c in certs],
                         [(issued["serial"], a["store_id"])])

        port = harness.free_port()
        log = open(os.path.join(work, "hub.log"), "w")
        proc = subprocess.Popen(
            [harness.KIZUNA, "hub", "serve", "--data", hub.data_dir, "--listen",
             f"127.0.0.1:{port}", "--tls-cert", server_crt, "--tls-key", server_key,
             "--node-ca"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        base = f"https://127.0.0.1:{port}"

        def call(path, key, cert=None):
            context = ssl.create_default_context(cafile=server_crt)
            if cert:
                context.load_cert_chain(os.path.join(cert, "node.crt"),
                                        os.path.join(cert, "node.key"))
            req = urllib.request.Request(base + path)
            req.add_header("Authorization", f"Bearer {key}")
            try:
                with urllib.request.urlopen(req, context=context, timeout=10) as resp:
                    return resp.status
            except urllib.error.HTTPError as e:
                return e.code

        try:
            deadline = time.time() + 30
            while True:
                try:
                    if call("/healthz", "") == 200:
                        break
                except (urllib.error.URLError, OSError):
                    pass
                self.assertIsNone(proc.poll(), "hub exited")
                self.assertLess(time.time(), deadline, "hub did not come up")
                time.sleep(0.1)
            # Without a certificate: other endpoints work, sync is refused.
            self.assertEqual(call("/v1/stores/me", a["api_key"]), 200)
            self.assertEqual(call("/v1/sync/bootstrap", a["api_key"]), 401)
            # With store A's certificate: A's key is accepted, B's is not.
            self.assertEqual(call("/v1/sync/bootstrap", a["api_key"], node_dir), 200)
            self.assertEqual(call("/v1/sync/pull?cursor=0", a["api_key"], node_dir), 200)
            self.assertEqual(call("/v1/sync/bootstrap", b["api_key"], node_dir), 403)
            # A certificate from another CA fails the handshake.
            stranger = os.path.join(work, "stranger")
            os.makedirs(stranger)
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                            os.path.join(stranger, "node.key"), "-out",
                            os.path.join(stranger, "node.crt"), "-days", "2", "-subj",
                            f"/CN={a['store_id']}"], check=True, capture_output=True)
            with self.assertRaises((urllib.error.URLError, ssl.SSLError, OSError)):
                call("/v1/sync/bootstrap", a["api_key"], stranger)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
            log.close()


if __name__ == "__main__":
    harness.main()
