#!/usr/bin/env python3
"""End-to-end tests of issue 17 (the till), through the real `kizuna` binary.

Against `kizuna hub serve` on a loopback port, over HTTP and with `kizuna pos` commands: sale
limits, the time a sale may say it happened, points used at checkout with their receipt (text and
PDF), same-day voids that undo points exactly, the end-of-day report against the ledger, terminal
keys and staff PINs (clerk / manager), and a store refunding or voiding only its own sales.

Usage: till_test.py --kizuna build/kizuna [unittest args]
"""

import datetime
import json
import os
import re
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cli, Hub  # noqa: E402

PASSWORD = "correct horse 42"


class Answer:
    def __init__(self, status, body):
        self.status = status
        self.json = json.loads(body) if body else None

    def code(self):
        return ((self.json or {}).get("error") or {}).get("code")

    def field(self):
        return ((self.json or {}).get("error") or {}).get("field")

    def __repr__(self):
        return f"HTTP {self.status} {self.json}"


def call(hub, method, path, token, body=None, staff=None):
    """An API call with an optional Kizuna-Staff header (STAFF_ID:PIN)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(hub.url + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    req.add_header("Authorization", f"Bearer {token}")
    if staff:
        req.add_header("Kizuna-Staff", staff)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return Answer(resp.status, resp.read().decode())
    except urllib.error.HTTPError as e:
        return Answer(e.code, e.read().decode())


def today_utc():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


class Till(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.hub = Hub().start()
        cls.enrolled = 0

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()

    # --- helpers ---------------------------------------------------------------------------
    def store(self, name, program_id=None):
        return self.hub.create_store(name, "physical", program_id)

    def enroll(self, store):
        Till.enrolled += 1
        a = call(self.hub, "POST", "/v1/members", store["api_key"], {
            "password": PASSWORD,
            "profile": {"name": f"会員 {Till.enrolled}", "email": f"till{Till.enrolled}@example.jp"},
            "consents": {"email_offers": False, "postal_offers": False, "share_profile": False}})
        self.assertEqual(a.status, 201, a)
        return a.json["member_id"]

    def sale(self, key, member, purchase_id, amount, staff=None, **extra):
        body = {"purchase_id": purchase_id, "member_id": member,
                "lines": [{"name": "Book", "category": "books", "quantity": 1,
                           "unit_price": amount}], **extra}
        return call(self.hub, "POST", "/v1/purchases", key, body, staff=staff)

    def usage(self, member):
        return harness.usage_all(self.hub, self.hub.operator_token, member)

    def balance(self, member, program_id):
        for b in self.usage(member)["balances"]:
            if b["program_id"] == program_id:
                return b["points"]
        return 0

    def assertLedgerConsistent(self, member):
        ok, why = harness.ledger_consistent(self.hub, self.hub.operator_token, member)
        self.assertTrue(ok, why)

    def add_staff(self, store, staff_id, role, pin):
        a = call(self.hub, "POST", "/v1/stores/me/staff", store["api_key"],
                 {"staff_id": staff_id, "name": f"Staff {staff_id}", "role": role, "pin": pin})
        self.assertEqual(a.status, 201, a)

    def add_terminal(self, store, name):
        a = call(self.hub, "POST", "/v1/stores/me/terminals", store["api_key"], {"name": name})
        self.assertEqual(a.status, 201, a)
        self.assertTrue(a.json["api_key"].startswith("kzt_"), a)
        return a.json

    # --- 4: limits and occurred_at ---------------------------------------------------------
    def test_500_billion_yen_sale_is_refused_naming_the_limit(self):
        store = self.store("Car dealer")
        member = self.enroll(store)
        pos = Cli(self.hub, store["api_key"])
        p = pos.run("pos", "sale", "--member", member, "--item", "Car,cars,5000000,100000",
                    check=False)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("max_sale_total", p.stdout + p.stderr)
        self.assertEqual(self.balance(member, store["program_id"]), 0)
        # Points are limited too, and a manager's PIN lifts the limits.
        self.add_staff(store, "dealer-boss", "manager", "8642")
        big = self.sale(store["api_key"], member, "big-1", 20_000_000)
        self.assertEqual((big.status, big.field()), (422, "max_sale_total"), big)
        approved = self.sale(store["api_key"], member, "big-1", 20_000_000,
                             staff="dealer-boss:8642")
        self.assertEqual(approved.status, 201, approved)
        self.assertEqual(approved.json["points_earned"], 200_000)
        limits = call(self.hub, "PUT", "/v1/stores/me/limits", store["api_key"],
                      {"max_sale_total": 100_000_000, "max_points_per_sale": 1000})
        self.assertEqual(limits.status, 200, limits)
        over = self.sale(store["api_key"], member, "big-2", 200_000)  # earns 2,000 points
        self.assertEqual((over.status, over.field()), (422, "max_points_per_sale"), over)
        self.assertLedgerConsistent(member)

    def test_sale_dated_before_the_card_was_issued_is_refused(self):
        store = self.store("Old times")
        member = self.enroll(store)
        pos = Cli(self.hub, store["api_key"])
        p = pos.run("pos", "sale", "--member", member, "--item", "Tea,food,500",
                    "--at", "2020-01-01T10:00", check=False)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn("occurred_at", p.stdout + p.stderr)
        self.assertEqual(self.balance(member, store["program_id"]), 0)
        future = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=10))
        a = self.sale(store["api_key"], member, "future-1", 500,
                      occurred_at=future.strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.assertEqual((a.status, a.field()), (422, "occurred_at"), a)

    # --- 1: points at checkout -------------------------------------------------------------
    def test_sale_paid_partly_with_points_prints_a_right_receipt(self):
        store = self.store("Kissa Midori")
        member = self.enroll(store)
        pos = Cli(self.hub, store["api_key"])
        first = pos.json("pos", "sale", "--member", member, "--item", "Beans,food,10000")
        self.assertEqual((first["points_earned"], first["balance"]), (100, 100), first)
        # 60 points pay ¥60 of ¥1,000; points are earned on the ¥940 paid: 1 per ¥100 → 9.
        paid = pos.json("pos", "sale", "--member", member, "--item", "緑茶,food,1000",
                        "--use-points", "60", "--purchase-id", "pts-1")
        self.assertEqual(paid["points_used"], 60, paid)
        self.assertEqual(paid["points_value"], 60, paid)
        self.assertEqual(paid["amount_due"], 940, paid)
        self.assertEqual(paid["points_earned"], 9, paid)
        self.assertEqual(paid["balance"], 100 - 60 + 9, paid)
        self.assertEqual(paid["line_points"], [10], paid)
        self.assertIn("next_expiry", paid)
        self.assertEqual(self.balance(member, store["program_id"]), 49)
        # The same id again changes nothing and answers the same.
        again = pos.json("pos", "sale", "--member", member, "--item", "緑茶,food,1000",
                         "--use-points", "60", "--purchase-id", "pts-1")
        self.assertTrue(again["replayed"], again)
        self.assertEqual((again["balance"], again["points_used"]), (49, 60), again)
        # "all": as many as the balance and the total allow; the text receipt says it all.
        pdf = os.path.join(tempfile.mkdtemp(prefix="kizuna-receipt-"), "receipt.pdf")
        text = pos.run("pos", "sale", "--member", member, "--item", "抹茶ラテ,food,30",
                       "--use-points", "all", "--receipt-pdf", pdf).stdout
        for needle in ("Points used", "30 pt", "Amount due", "Points earned", "Balance",
                       "19 pt", "Next expiry", "抹茶ラテ"):
            self.assertIn(needle, text)
        self.assertEqual(self.balance(member, store["program_id"]), 19)
        with open(pdf, "rb") as f:
            data = f.read()
        self.assertTrue(data.startswith(b"%PDF-"))
        # The Japanese name's glyphs come from an embedded Noto Sans CJK subset, not a
        # fallback box font.
        self.assertIn(b"NotoSansCJK", data)
        # More points than the balance: refused, nothing changed (all or nothing).
        too_many = self.sale(store["api_key"], member, "pts-9", 5000, points_used=20)
        self.assertEqual((too_many.status, too_many.code()), (422, "insufficient_points"),
                         too_many)
        self.assertEqual(self.balance(member, store["program_id"]), 19)
        self.assertLedgerConsistent(member)

    # --- 2: voids and the day --------------------------------------------------------------
    def test_void_undoes_the_points_exactly(self):
        store = self.store("Void shop")
        member = self.enroll(store)
        key = store["api_key"]
        first = self.sale(key, member, "v-0", 50000, receipt=True)  # 500 points
        self.assertEqual(first.status, 201, first)
        self.assertEqual(first.json["next_expiry"]["points"], 500, first)
        before = self.usage(member)
        a = self.sale(key, member, "v-1", 20000, points_used=300)  # uses 300, earns 197
        self.assertEqual(a.status, 201, a)
        self.assertEqual((a.json["points_earned"], a.json["balance"]), (197, 397), a)
        terminal = self.add_terminal(store, "Till 1")
        clerk_void = call(self.hub, "POST", "/v1/purchases/v-1/void", terminal["api_key"], {})
        self.assertEqual(clerk_void.status, 403, clerk_void)
        v = call(self.hub, "POST", "/v1/purchases/v-1/void", key, {})
        self.assertEqual(v.status, 201, v)
        self.assertEqual((v.json["points_reversed"], v.json["points_restored"],
                          v.json["balance"]), (197, 300, 500), v)
        self.assertEqual(self.balance(member, store["program_id"]), 500)
        again = call(self.hub, "POST", "/v1/purchases/v-1/void", key, {})
        self.assertEqual((again.status, again.json["balance"]), (200, 500), again)
        refund = call(self.hub, "POST", "/v1/purchases/v-1/refunds", key,
                      {"refund_id": "rf-v1", "amount": 100})
        self.assertEqual(refund.status, 422, refund)
        # The restored points are back in the first sale's lot, with its expiry: a receipt (of
        # a sale too small to earn) shows all 500 expiring together, as before the voided sale.
        after = self.sale(key, member, "v-2", 50, receipt=True)
        self.assertEqual((after.status, after.json["points_earned"]), (201, 0), after)
        self.assertEqual(after.json["next_expiry"], first.json["next_expiry"], after)
        self.assertEqual(len([e for e in self.usage(member)["entries"] if e["ref"] == "void/v-1"]),
                         2)
        self.assertEqual(len(before["entries"]), 1)
        self.assertLedgerConsistent(member)

    def test_voided_sale_reads_as_voided_on_the_lookup_and_the_members_usage(self):
        store = self.store("Record shop")
        member = self.enroll(store)
        key = store["api_key"]
        self.assertEqual(self.sale(key, member, "rv-0", 50000).status, 201)  # 500 points
        a = self.sale(key, member, "rv-1", 20000, points_used=300)  # uses 300, earns 197
        self.assertEqual((a.status, a.json["points_earned"]), (201, 197), a)
        b = self.sale(key, member, "rv-2", 1000, points_used=100)  # uses 100, earns 9
        self.assertEqual((b.status, b.json["points_earned"]), (201, 9), b)
        pos = Cli(self.hub, key)
        pos.run("pos", "void", "rv-1")
        token = call(self.hub, "POST", "/v1/sessions", None,
                     {"login": member, "password": PASSWORD}).json["token"]
        lookup = call(self.hub, "GET", f"/v1/members/{member}", key).json
        usage = call(self.hub, "GET", f"/v1/members/{member}/usage", token).json
        for answer in (lookup, usage):
            by_id = {p["purchase_id"]: p for p in answer["purchases"]}
            voided = by_id["rv-1"]
            self.assertEqual(voided["status"], "voided", voided)
            # The record keeps what the sale was, and says that nothing of it stands.
            self.assertEqual((voided["total"], voided["points_earned"], voided["points_used"],
                              voided["points_value"], voided["amount_due"]),
                             (20000, 197, 300, 300, 19700), voided)
            self.assertEqual((voided["net_total"], voided["net_points"],
                              voided["net_points_used"]), (0, 0, 0), voided)
            self.assertEqual((voided["void"]["points_reversed"],
                              voided["void"]["points_restored"]), (197, 300), voided)
            self.assertIn("voided_at", voided["void"])
            live = by_id["rv-2"]
            self.assertEqual(live["status"], "completed", live)
            self.assertNotIn("void", live)
            self.assertEqual((live["points_used"], live["points_value"], live["amount_due"],
                              live["net_points_used"], live["net_points"], live["net_total"]),
                             (100, 100, 900, 100, 9, 1000), live)
            self.assertEqual(by_id["rv-0"]["points_used"], 0)
        # The balance agrees: 500 - 100 + 9 (the voided sale's -300 + 197 undone).
        self.assertEqual(self.balance(member, store["program_id"]), 409)

        def row(text, purchase_id):
            """The purchase table's row of `purchase_id` (columns are 2+ spaces apart)."""
            lines = [line for line in text.splitlines()
                     if purchase_id in re.split(r"\s{2,}", line)]
            self.assertEqual(len(lines), 1, text)
            return lines[0]

        # The store's customer lookup, as a clerk reads it.
        text = pos.run("pos", "lookup", member).stdout
        voided_row = row(text, "rv-1")
        for needle in ("voided", "¥0", "¥20,000 voided", "197 taken back", "300 given back"):
            self.assertIn(needle, voided_row)
        self.assertNotIn("voided", row(text, "rv-2"))
        self.assertIn("100 (¥100)", row(text, "rv-2"))
        # The member's own history.
        me = Cli(self.hub)
        me.run("member", "login", "--login", member, "--password-stdin", stdin=PASSWORD + "\n")
        text = me.run("member", "usage").stdout
        voided_row = row(text, "rv-1")
        for needle in ("voided", "¥20,000 voided", "197 taken back", "300 given back"):
            self.assertIn(needle, voided_row)
        self.assertIn("100 (¥100)", row(text, "rv-2"))
        self.assertLedgerConsistent(member)

    def test_day_report_sums_equal_the_ledger(self):
        store = self.store("Z shop")
        key = store["api_key"]
        m1, m2 = self.enroll(store), self.enroll(store)
        t1 = self.add_terminal(store, "Till 1")["api_key"]
        t2 = self.add_terminal(store, "Till 2")["api_key"]
        self.assertEqual(self.sale(t1, m1, "z-1", 12000).status, 201)
        self.assertEqual(self.sale(t2, m1, "z-2", 3000, points_used=50).status, 201)
        self.assertEqual(self.sale(t2, m2, "z-3", 45000).status, 201)
        self.assertEqual(self.sale(key, m2, "z-4", 800).status, 201)
        red = call(self.hub, "POST", "/v1/redemptions", t1,
                   {"redemption_id": "z-r1", "member_id": m2, "points": 40})
        self.assertEqual(red.status, 201, red)
        rf = call(self.hub, "POST", "/v1/purchases/z-3/refunds", key,
                  {"refund_id": "z-rf1", "amount": 15000})
        self.assertEqual(rf.status, 201, rf)
        self.assertEqual(call(self.hub, "POST", "/v1/purchases/z-4/void", key, {}).status, 201)

        day = call(self.hub, "GET", "/v1/stores/me/day?date=" + today_utc(), key)
        self.assertEqual(day.status, 200, day)
        totals = day.json["totals"]
        self.assertEqual((totals["sales_count"], totals["sales_total"]), (3, 60000), day)
        self.assertEqual((totals["voids_count"], totals["voids_total"]), (1, 800), day)
        self.assertEqual(totals["points_paid_value"], 50, day)
        # From the ledger as members see it: this store's entries of today, by kind.
        issued = redeemed = reversed_ = voided = net = 0
        for m in (m1, m2):
            for e in self.usage(m)["entries"]:
                if e["store_id"] != store["store_id"] or not e["occurred_at"].startswith(
                        today_utc()):
                    continue
                net += e["delta"]
                if e["ref"].startswith("void/"):
                    voided -= e["delta"]
                elif e["kind"] == "earn":
                    issued += e["delta"]
                elif e["kind"] == "redeem":
                    redeemed -= e["delta"]
                elif e["kind"] == "refund_reversal":
                    reversed_ -= e["delta"]
        self.assertEqual(totals["points_issued"], issued, day)
        self.assertEqual(totals["points_redeemed"], redeemed, day)
        self.assertEqual(totals["points_reversed"], reversed_, day)
        self.assertEqual(totals["points_voided"], voided, day)
        self.assertEqual(day.json["ledger_net"], net, day)
        self.assertEqual((issued, redeemed, reversed_, voided), (120 + 29 + 450 + 8, 50 + 40,
                                                               150, 8), day)
        per = {t["terminal_id"]: t for t in day.json["terminals"]}
        self.assertEqual(len(per), 3, day)
        self.assertEqual(sum(t["points_issued"] for t in per.values()), issued)
        self.assertEqual(sum(t["sales_total"] for t in per.values()), 60000)
        pos = Cli(self.hub, key)
        z = pos.run("pos", "day").stdout
        self.assertIn("Z report " + today_utc(), z)
        self.assertIn("60,000", z)
        for m in (m1, m2):
            self.assertLedgerConsistent(m)

    # --- 3: staff and terminals ------------------------------------------------------------
    def test_clerk_is_refused_a_rule_change_and_a_manager_pin_is_accepted(self):
        store = self.store("Rule shop")
        self.add_staff(store, "rule-clerk", "clerk", "1111")
        self.add_staff(store, "rule-boss", "manager", "9999")
        till = self.add_terminal(store, "Till A")["api_key"]
        rule = {"amount_per_point": 50}
        path = f"/v1/stores/{store['store_id']}/rule"
        self.assertEqual(call(self.hub, "PUT", path, till, rule).status, 403)
        clerk = call(self.hub, "PUT", path, till, rule, staff="rule-clerk:1111")
        self.assertEqual(clerk.status, 403, clerk)
        wrong = call(self.hub, "PUT", path, till, rule, staff="rule-boss:0000")
        self.assertEqual(wrong.status, 401, wrong)
        boss = call(self.hub, "PUT", path, till, rule, staff="rule-boss:9999")
        self.assertEqual(boss.status, 200, boss)
        # The store's own key keeps manager rights (scripts from before the till stay valid).
        self.assertEqual(call(self.hub, "PUT", path, store["api_key"], rule).status, 200)
        # A clerk rings up and enrolls; what they did names the till and them.
        member = self.enroll(store)
        pos = Cli(self.hub, till)
        sold = pos.json("pos", "sale", "--member", member, "--item", "Pen,stationery,1000",
                        "--staff", "rule-clerk:1111")
        self.assertEqual(sold["points_earned"], 20, sold)
        # Another store's staff id does not work here.
        other = self.store("Elsewhere")
        self.add_staff(other, "other-boss", "manager", "5555")
        self.assertEqual(call(self.hub, "PUT", path, till, rule,
                              staff="other-boss:5555").status, 401)
        # A revoked till's key stops working.
        tid = [t for t in call(self.hub, "GET", "/v1/stores/me/terminals",
                               store["api_key"]).json["terminals"] if t["name"] == "Till A"][0]
        revoked = call(self.hub, "DELETE", "/v1/stores/me/terminals/" + tid["terminal_id"],
                       store["api_key"])
        self.assertEqual(revoked.status, 200, revoked)
        self.assertEqual(self.sale(till, member, "after-revoke", 100).status, 401)

    def test_cafe_cannot_refund_or_void_the_bookstores_sale(self):
        chain = self.hub.create_program("Ekimae chain")
        books = self.store("Ekimae Books", chain)
        cafe = self.store("Ekimae Café", chain)
        member = self.enroll(books)
        self.assertEqual(self.sale(books["api_key"], member, "book-1", 3000).status, 201)
        refund = call(self.hub, "POST", "/v1/purchases/book-1/refunds", cafe["api_key"],
                      {"refund_id": "cafe-rf-1", "amount": 3000})
        self.assertEqual(refund.status, 403, refund)
        void = call(self.hub, "POST", "/v1/purchases/book-1/void", cafe["api_key"], {})
        self.assertEqual(void.status, 403, void)
        self.assertEqual(self.balance(member, chain), 30)
        # An id no store of the program has is simply not found.
        self.assertEqual(call(self.hub, "POST", "/v1/purchases/nobody-1/refunds",
                              cafe["api_key"], {"refund_id": "x", "amount": 1}).status, 404)
        # The bookstore itself may refund it; a clerk only up to the store's threshold.
        self.add_staff(books, "books-clerk", "clerk", "2468")
        big = call(self.hub, "POST", "/v1/purchases/book-1/refunds", books["api_key"],
                   {"refund_id": "books-rf-1", "amount": 3000}, staff="books-clerk:2468")
        self.assertEqual(big.status, 201, big)  # ¥3,000 is under the default ¥10,000
        self.assertLedgerConsistent(member)


if __name__ == "__main__":
    harness.main()
