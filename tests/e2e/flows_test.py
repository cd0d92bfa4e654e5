#!/usr/bin/env python3
"""End-to-end: the first seed's functions walked through the real `kizuna` binary.

Starts `kizuna hub serve` on a loopback port, then acts as the store terminal (`kizuna pos`),
the user terminal (`kizuna member`) and a raw HTTP client. After every flow the ledger
invariant (balance = sum of entries, never negative) is checked from outside.

Usage: flows_test.py --kizuna build/kizuna [unittest args]
"""

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


def enroll_args(name, email, *extra):
    return ("pos", "enroll", "--name", name, "--email", email, "--password-stdin", *extra)


class SeedFlows(unittest.TestCase):
    """Seed functions (1)–(7) plus redemption and refunds, on one hub."""

    @classmethod
    def setUpClass(cls):
        cls.hub = Hub().start()
        cls.chain = cls.hub.create_program("駅前チェーン")
        cls.shibuya = cls.hub.create_store("渋谷本店", "physical", cls.chain)
        cls.ebisu = cls.hub.create_store("恵比寿店", "physical", cls.chain)
        cls.mall = cls.hub.create_store("Mall Shop", "online", None)
        cls.pos = Cli(cls.hub, cls.shibuya["api_key"])
        cls.pos_ebisu = Cli(cls.hub, cls.ebisu["api_key"])
        cls.pos_mall = Cli(cls.hub, cls.mall["api_key"])

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()

    def enroll(self, name, email, *consents, pos=None):
        pos = pos or self.pos
        ans = pos.json(*enroll_args(name, email, *consents), stdin=PASSWORD + "\n")
        self.assertRegex(ans["member_id"], r"^\d{10}$")
        self.assertRegex(ans["card"]["card_number"], r"^\d{16}$")
        return ans

    def member_session(self, login):
        member = Cli(self.hub)
        member.run("member", "login", "--login", login, "--password-stdin", stdin=PASSWORD + "\n")
        return member

    def member_token(self, login):
        a = self.hub.call("POST", "/v1/sessions", body={"login": login, "password": PASSWORD})
        self.assertIn(a.status, (200, 201), a)
        return a.json["token"]

    def assertLedgerConsistent(self, member_id):
        ok, why = harness.ledger_consistent(self.hub, self.hub.operator_token, member_id)
        self.assertTrue(ok, why)

    def test_enroll_sale_usage_reissue_refund_redeem(self):
        ans = self.enroll("山田 太郎", "taro@example.jp", "--kana", "ヤマダ タロウ", "--postal-code",
                          "150-0002", "--address", "東京都渋谷区渋谷2-1-1", "--phone", "03-1234-5678",
                          "--birth-date", "1985-04-01", "--occupation", "会社員", "--share-profile",
                          "--email-offers")
        member_id, card1 = ans["member_id"], ans["card"]["card_number"]
        self.assertEqual(ans["card"]["generation"], 1)
        self.assertTrue(ans["card"]["record"].startswith("KZ1."))

        # (3) usage registration: default rule, 1 point per 100 JPY, floor.
        sale = self.pos.json("pos", "sale", "--card", card1, "--item", "小説,books,1980",
                             "--item", "Coffee,food,450,2", "--purchase-id", "e2e-p1")
        self.assertEqual(sale["points_earned"], 28)  # (1980 + 900) / 100
        self.assertEqual(sale["balance"], 28)

        # (4) member usage search, written to the usage record file.
        member = self.member_session(member_id)
        usage_file = os.path.join(member.home, "usage.json")
        member.run("member", "usage", "--out", usage_file)
        with open(usage_file) as f:
            usage = json.load(f)
        self.assertEqual([b["points"] for b in usage["balances"]], [28])
        self.assertEqual(usage["purchases"][0]["purchase_id"], "e2e-p1")
        self.assertTrue(all(e.get("kind") for e in usage["entries"]))

        # (2) reissue: wrong password refused, right one issues generation 2.
        wrong = self.pos.run("pos", "reissue", member_id, "--password-stdin", stdin="nope-nope\n",
                             check=False)
        self.assertEqual(wrong.returncode, 1, wrong)
        self.assertIn("wrong_password", wrong.stdout + wrong.stderr)
        re = self.pos.json("pos", "reissue", member_id, "--password-stdin", stdin=PASSWORD + "\n")
        card2 = re["card"]["card_number"]
        self.assertNotEqual(card1, card2)
        self.assertEqual(re["card"]["generation"], 2)

        # The old card is refused, by the CLI and by the API; the balance stayed with the member.
        old = self.pos.run("pos", "sale", "--card", card1, "--item", "Pen,stationery,300",
                           check=False)
        self.assertEqual(old.returncode, 1, old)
        self.assertIn("card_revoked", old.stdout + old.stderr)
        a = self.hub.call("POST", "/v1/purchases", self.shibuya["api_key"],
                          {"purchase_id": "e2e-old-card", "card_number": card1, "currency": "JPY",
                           "lines": [{"name": "Pen", "quantity": 1, "unit_price": 300}]})
        self.assertEqual((a.status, a.error_code), (409, "card_revoked"), a)
        sale2 = self.pos.json("pos", "sale", "--card", card2, "--item", "Pen,stationery,300",
                              "--purchase-id", "e2e-p2")
        self.assertEqual(sale2["balance"], 31)

        # Refund half of the first purchase: half its points come back out.
        refund = self.pos.json("pos", "refund", "e2e-p1", "--amount", "1440", "--refund-id",
                               "e2e-r1")
        self.assertEqual(refund["points_reversed"], 14)
        self.assertEqual(refund["balance"], 17)

        # Redeeming more than the balance is refused and changes nothing.
        over = self.pos.run("pos", "redeem", "--member", member_id, "--points", "18", check=False)
        self.assertEqual(over.returncode, 1, over)
        self.assertIn("insufficient_points", over.stdout + over.stderr)
        ok = self.pos.json("pos", "redeem", "--card", card2, "--points", "17", "--redemption-id",
                           "e2e-d1")
        self.assertEqual(ok["balance"], 0)
        self.assertLedgerConsistent(member_id)

    def test_replayed_purchase_changes_nothing(self):
        ans = self.enroll("Alice Smith", "alice@example.com")
        body = {"purchase_id": "e2e-replay-1", "member_id": ans["member_id"], "currency": "JPY",
                "lines": [{"name": "Tea", "sku": "T-1", "category": "food", "quantity": 3,
                           "unit_price": 500}]}
        key = self.shibuya["api_key"]
        first = self.hub.call("POST", "/v1/purchases", key, body)
        self.assertEqual(first.status, 201, first)
        again = self.hub.call("POST", "/v1/purchases", key, body)
        self.assertEqual(again.status, 200, again)
        for field in ("purchase_id", "points_earned", "balance"):
            self.assertEqual(again.json[field], first.json[field])
        changed = dict(body, lines=[dict(body["lines"][0], quantity=4)])
        conflict = self.hub.call("POST", "/v1/purchases", key, changed)
        self.assertEqual((conflict.status, conflict.error_code), (409, "idempotency_conflict"))
        usage = self.hub.call("GET", f"/v1/members/{ans['member_id']}/usage",
                              self.member_token(ans["member_id"]))
        self.assertEqual(len(usage.json["purchases"]), 1)
        self.assertEqual(usage.json["balances"][0]["points"], 15)
        # The same for redemptions and refunds.
        red = {"redemption_id": "e2e-replay-d", "member_id": ans["member_id"], "points": 5}
        r1 = self.hub.call("POST", "/v1/redemptions", key, red)
        r2 = self.hub.call("POST", "/v1/redemptions", key, red)
        self.assertEqual((r1.status, r2.status), (201, 200))
        self.assertEqual(r1.json["balance"], r2.json["balance"])
        ref = {"refund_id": "e2e-replay-r", "amount": 500}
        f1 = self.hub.call("POST", "/v1/purchases/e2e-replay-1/refunds", key, ref)
        f2 = self.hub.call("POST", "/v1/purchases/e2e-replay-1/refunds", key, ref)
        self.assertEqual((f1.status, f2.status), (201, 200), (f1, f2))
        self.assertEqual(f1.json["points_reversed"], 5)  # 15 points * 500 / 1500
        self.assertEqual(f2.json["points_reversed"], f1.json["points_reversed"])
        self.assertEqual(f2.json["balance"], f1.json["balance"])
        self.assertLedgerConsistent(ans["member_id"])

    def test_store_of_another_program_cannot_see_history(self):
        ans = self.enroll("佐藤 花子", "hanako@example.jp", "--share-profile")
        self.pos.json("pos", "sale", "--member", ans["member_id"], "--item", "Bag,fashion,12000",
                      "--purchase-id", "e2e-iso-1")
        # A store of the same chain program sees the purchase (shared program).
        same = self.hub.call("GET", f"/v1/members/{ans['member_id']}", self.ebisu["api_key"])
        self.assertEqual(same.status, 200, same)
        self.assertEqual([p["purchase_id"] for p in same.json["purchases"]], ["e2e-iso-1"])
        # The mall shop, its own program, sees none of it, and cannot refund it.
        other = self.hub.call("GET", f"/v1/members/{ans['member_id']}", self.mall["api_key"])
        self.assertEqual(other.status, 200, other)
        self.assertEqual(other.json["purchases"], [])
        refund = self.hub.call("POST", "/v1/purchases/e2e-iso-1/refunds", self.mall["api_key"],
                               {"refund_id": "e2e-iso-r", "amount": 100})
        self.assertIn(refund.status, (403, 404), refund)
        # A member sees only themself.
        bob = self.enroll("Bob Jones", "bob@example.com")
        peek = self.hub.call("GET", f"/v1/members/{ans['member_id']}/usage",
                             self.member_token(bob["member_id"]))
        self.assertEqual(peek.status, 403, peek)

    def test_store_sees_profile_only_with_consent(self):
        shy = self.enroll("Quiet Member", "quiet@example.com")  # no --share-profile
        open_ = self.enroll("高橋 一郎", "ichiro@example.jp", "--share-profile")
        out = os.path.join(self.pos.home, "customer.json")
        self.pos.run("pos", "lookup", shy["member_id"], "--out", out)
        with open(out) as f:
            self.assertNotIn("profile", json.load(f))
        self.pos.run("pos", "lookup", open_["member_id"], "--out", out)
        with open(out) as f:
            record = json.load(f)
        self.assertEqual(record["profile"]["name"], "高橋 一郎")

    def test_offers_registered_by_a_store_reach_members(self):
        pos = self.pos_ebisu
        pos.run("pos", "offer", "add", "--title", "秋の読書フェア", "--body", "文庫本ポイント2倍",
                "--category", "books", "--days", "30")
        pos.run("pos", "rule", "set", "--amount-per-point", "100", "--multiplier", "books=2")
        shown = pos.json("pos", "rule", "show")
        self.assertEqual(shown["category_multipliers"], {"books": 2})
        self.assertEqual(shown["amount_per_point"], 100)
        ans = self.enroll("Reader", "reader@example.com")
        sale = pos.json("pos", "sale", "--member", ans["member_id"], "--item", "文庫,books,800")
        self.assertEqual(sale["points_earned"], 16)
        member = self.member_session(ans["member_id"])
        out = os.path.join(member.home, "offers.json")
        member.run("member", "offers", "--out", out)
        with open(out) as f:
            titles = [o["title"] for o in json.load(f)["offers"]]
        self.assertIn("秋の読書フェア", titles)

    def test_self_service_enrollment_and_search(self):
        member = Cli(self.hub)
        pending = json.loads(member.run("member", "enroll", "--name", "Self Service", "--email",
                                        "self@example.com", "--phone", "090-1111-2222",
                                        "--password-stdin", "--json",
                                        stdin=PASSWORD + "\n").stdout)
        self.assertEqual(pending["status"], "pending")
        # The mail to the address carries the confirmation; confirming makes member and card.
        token = harness.confirmation_token(self.hub, "self@example.com")
        ans = member.json("member", "confirm", "--token", token)
        self.assertRegex(ans["card"]["card_number"], r"^\d{16}$")
        found = self.pos.json("pos", "search", "--email", "SELF@example.com")
        ids = [m["member_id"] for m in found["members"]]
        self.assertEqual(ids, [ans["member_id"]])
        # Enrolling the address again answers the same, without saying it is taken; the mail
        # tells its owner. At a store the answer is plain.
        again = json.loads(member.run("member", "enroll", "--name", "Again", "--email",
                                      "self@example.com", "--password-stdin", "--json",
                                      stdin=PASSWORD + "\n").stdout)
        self.assertEqual(again, pending)
        self.assertIn("already has a membership", harness.mails_to(self.hub, "self@example.com")[-1])
        dup = self.pos.run(*enroll_args("Again", "self@example.com"), stdin=PASSWORD + "\n",
                           check=False)
        self.assertEqual(dup.returncode, 1, dup)

    def test_login_is_throttled_after_repeated_failures(self):
        ans = self.enroll("Throttle Me", "throttle@example.com")
        statuses = []
        for _ in range(12):
            a = self.hub.call("POST", "/v1/sessions",
                              body={"login": ans["member_id"], "password": "wrong-password"})
            statuses.append(a.status)
        self.assertEqual(statuses[0], 401)
        self.assertIn(429, statuses)

    def test_every_command_has_help(self):
        cli = Cli(self.hub)
        for cmd in (["--help"], ["hub", "--help"], ["hub", "serve", "--help"],
                    ["pos", "--help"], ["pos", "sale", "--help"], ["pos", "enroll", "--help"],
                    ["member", "--help"], ["member", "usage", "--help"], ["demo", "--help"]):
            p = cli.run(*cmd)
            self.assertIn("Usage", p.stdout + p.stderr, cmd)
        bad = cli.run("pos", "sale", "--no-such-flag", check=False)
        self.assertEqual(bad.returncode, 2, bad)
        unreachable = Cli(self.hub, "x")
        down = unreachable.run("pos", "redeem", "--member", "1234567890", "--points", "1",
                               env={"KIZUNA_HUB": "http://127.0.0.1:1"}, check=False)
        self.assertEqual(down.returncode, 3, down)


class DataDirectory(unittest.TestCase):
    """The hub holds its database exclusively: a second hub on the same directory is refused."""

    def test_second_hub_on_the_same_directory_is_refused_clearly(self):
        first = Hub().start()
        try:
            second = Hub(data_dir=first.data_dir)
            second.log_path = os.path.join(first.data_dir, "second.log")
            with self.assertRaises(RuntimeError) as refused:
                second.start()
            self.assertIn("another process has it open", str(refused.exception))
            self.assertNotEqual(second.proc.returncode, 0)
            self.assertEqual(first.call("GET", "/healthz").status, 200)
        finally:
            first.stop()


class CrashSafety(unittest.TestCase):
    """Invariant 4: an acknowledged purchase survives kill -9 of the hub."""

    def test_acknowledged_purchases_survive_kill_9(self):
        hub = Hub().start()
        try:
            store = hub.create_store("Crash Test Store")
            key = store["api_key"]
            # Three members per seller: a usage answer carries at most 500 entries, and one
            # member per seller could pass that in the 2 s of a fast hub.
            members = []
            for i in range(24):
                a = hub.call("POST", "/v1/members", key,
                             {"password": PASSWORD, "profile": {"name": f"Crash {i}"},
                              "consents": {}})
                self.assertEqual(a.status, 201, a)
                members.append(a.json["member_id"])
            acked, lock, stop = {}, threading.Lock(), threading.Event()

            def sell(worker):
                n = 0
                while not stop.is_set():
                    pid = f"crash-{worker}-{n}"
                    member = members[3 * worker + n % 3]
                    body = {"purchase_id": pid, "member_id": member, "currency": "JPY",
                            "lines": [{"name": "Item", "quantity": 1, "unit_price": 1000}]}
                    try:
                        a = harness.http("POST", hub.url + "/v1/purchases", key, body, timeout=5)
                    except Exception:  # the hub is gone: this one was never acknowledged
                        return
                    if a.status in (200, 201):
                        with lock:
                            acked[pid] = (body, a.json)
                    n += 1

            threads = [threading.Thread(target=sell, args=(w,)) for w in range(8)]
            for t in threads:
                t.start()
            time.sleep(2.0)
            hub.kill9()
            stop.set()
            for t in threads:
                t.join()
            self.assertGreater(len(acked), 20)

            hub.start()
            for pid, (body, first) in acked.items():
                again = harness.http("POST", hub.url + "/v1/purchases", key, body)
                self.assertEqual(again.status, 200, f"{pid} lost after kill -9: {again}")
                self.assertEqual(again.json["points_earned"], first["points_earned"])
            for m in members:
                mine = [p for p, (b, _) in acked.items() if b["member_id"] == m]
                self.assertLess(len(mine), 500, "too many purchases per member to check")
                ok, why = harness.ledger_consistent(hub, hub.operator_token, m)
                self.assertTrue(ok, why)
                usage = harness.usage_all(hub, hub.operator_token, m)
                self.assertGreaterEqual(len(usage["purchases"]), len(mine))
        finally:
            hub.stop()


if __name__ == "__main__":
    harness.main()
