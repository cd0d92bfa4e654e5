#!/usr/bin/env python3
"""End-to-end test of coalition settlement (issue 19 items 1-2), through the real `kizuna` binary.

Two stores of one program: a member earns at A, spends at B, some of A's points expire, A refunds
part of a sale. The statements of A and B and the program's deposit must equal what this test
computes by hand; closing the previous period freezes it, and a late sale with an old
occurred_at lands in the open period with its own date; a store key sees only its own row; the
CSV, the Japanese PDF and the CLI say the same.

Usage: settlement_test.py --kizuna build/kizuna [unittest args]
"""

import csv
import datetime
import io
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cli, Hub  # noqa: E402

PASSWORD = "correct horse 42"
JST = datetime.timezone(datetime.timedelta(hours=9))


def iso(t):
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def previous_period(period):
    year, month = map(int, period.split("-"))
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


class Settlement(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.hub = Hub().start()
        cls.op = cls.hub.operator_token
        cls.program = cls.hub.create_program("駅前コアリション")
        cls.a = cls.hub.create_store("Shibuya Books", "physical", cls.program)
        cls.b = cls.hub.create_store("駅前カフェ", "physical", cls.program)
        cls.other = cls.hub.create_store("Elsewhere", "physical", None)

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()

    def call(self, method, path, token, body=None):
        return self.hub.call(method, path, token, body)

    def statement(self, token, period=None, fmt=None):
        query = []
        if period:
            query.append(f"period={period}")
        if fmt:
            query.append(f"format={fmt}")
        path = f"/v1/programs/{self.program}/settlements" + ("?" + "&".join(query) if query else "")
        return self.call("GET", path, token)

    def test_a_month_between_two_stores(self):
        # 1 point = ¥1, 3 % issuing fee, expired points' value back to the issuing store.
        e = self.call("PUT", f"/v1/programs/{self.program}/economics", self.op,
                      {"point_value": 1, "issuing_fee_bp": 300, "breakage": "issuers"})
        self.assertEqual(e.status, 200, e)
        self.assertEqual(e.json["version"], 1)
        current = e.json["effective_from"]  # nothing booked yet: from this period

        m = self.call("POST", "/v1/members", self.a["api_key"], {
            "password": PASSWORD, "profile": {"name": "山田 花子", "email": "hanako@example.jp"},
            "consents": {"email_offers": False, "postal_offers": False,
                         "share_profile": False}})
        self.assertEqual(m.status, 201, m)
        member = m.json["member_id"]

        def buy(store, pid, amount, occurred_at=None):
            body = {"purchase_id": pid, "member_id": member,
                    "lines": [{"name": "本", "quantity": 1, "unit_price": amount}]}
            if occurred_at:
                # A sale older than today's business day reaches the hub only through a store
                # node's sync, with its original time.
                body["occurred_at"] = occurred_at
                a = self.call("POST", "/v1/sync/push", store["api_key"],
                              {"events": [{"event_id": "ev-" + pid, "type": "purchase.created",
                                           "occurred_at": occurred_at, "body": body}]})
                self.assertEqual(a.status, 200, a)
                self.assertEqual(a.json["results"][0]["status"], "applied", a)
                return a.json["results"][0]["body"]["points_earned"]
            a = self.call("POST", "/v1/purchases", store["api_key"], body)
            self.assertEqual(a.status, 201, a)
            return a.json["points_earned"]

        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertEqual(buy(self.a, "a-1", 12000), 120)             # earn 120 at A
        self.assertEqual(buy(self.a, "a-old", 4000, iso(now - datetime.timedelta(days=400))),
                         40)                                          # 40 already expired
        r = self.call("POST", "/v1/redemptions", self.b["api_key"],
                      {"redemption_id": "b-r1", "member_id": member, "points": 70})
        self.assertEqual(r.status, 201, r)                            # books the expiry first
        self.assertEqual(r.json["balance"], 120 + 40 - 40 - 70)
        f = self.call("POST", "/v1/purchases/a-1/refunds", self.a["api_key"],
                      {"refund_id": "a-f1", "amount": 3000})
        self.assertEqual(f.status, 201, f)
        self.assertEqual(f.json["points_reversed"], 30)               # 120 * 3000 / 12000

        # By hand. A issued 160 (120 + 40), 40 of them expired, 30 reversed; B accepted 70.
        fee_a = 160 * 300 // 10000                                    # 4.8 -> 4 (rounded down)
        net_a = 160 + fee_a - 30 - 40                                 # pays the program 94
        net_b = -70                                                   # is paid 70
        outstanding = 160 - 70 - 30 - 40                              # 20 points = ¥20 deposit

        s = self.statement(self.op)
        self.assertEqual(s.status, 200, s)
        self.assertEqual((s.json["period"], s.json["status"]), (current, "open"))
        rows = {row["store_id"]: row for row in s.json["stores"]}
        ra, rb = rows[self.a["store_id"]], rows[self.b["store_id"]]
        self.assertEqual((ra["points_issued"], ra["points_redeemed"], ra["points_reversed"],
                          ra["points_expired"]), (160, 0, 30, 40))
        self.assertEqual((ra["issued_value"], ra["fees"], ra["breakage_returned"], ra["net"]),
                         (160, fee_a, 40, net_a))
        self.assertEqual((rb["points_issued"], rb["points_redeemed"], rb["redeemed_value"],
                          rb["fees"], rb["net"]), (0, 70, 70, 0, net_b))
        p = s.json["program"]
        self.assertEqual((p["outstanding_points_opening"], p["outstanding_points"],
                          p["outstanding_value"], p["fees_kept"], p["breakage_kept"]),
                         (0, outstanding, outstanding, fee_a, 0))
        self.assertEqual(p["sum_net"] - p["deposit_change"] - p["kept"], 0)
        self.assertTrue(p["balanced"])
        # The old purchase was booked now though it occurred 400 days ago: listed as late.
        self.assertEqual([x["ref"] for x in s.json["late_entries"]], ["a-old"])

        # Each store sees its own row only, and not the program's figures.
        for store in (self.a, self.b):
            own = self.statement(store["api_key"])
            self.assertEqual(own.status, 200, own)
            self.assertEqual([row["store_id"] for row in own.json["stores"]], [store["store_id"]])
            self.assertNotIn("program", own.json)
        self.assertEqual(self.statement(self.a["api_key"]).json["stores"][0]["net"], net_a)
        self.assertEqual(self.statement(self.a["api_key"]).json["late_entries"][0]["ref"], "a-old")
        self.assertEqual(self.statement(self.b["api_key"]).json["late_entries"], [])
        self.assertEqual(self.statement(self.other["api_key"]).error_code, "forbidden")

        # Economics never apply to the past: this period has entries now.
        again = self.call("PUT", f"/v1/programs/{self.program}/economics", self.op,
                          {"point_value": 2, "effective_from": current})
        self.assertEqual((again.status, again.error_code), (422, "rule_violation"), again)
        self.assertEqual(self.statement(self.op).json["economics"]["point_value"], 1)

        # Close the previous period (it has ended), then a store node syncs a sale made in it.
        previous = previous_period(current)
        self.assertEqual(self.call("POST", f"/v1/programs/{self.program}/settlements/{current}"
                                           "/close", self.op).error_code, "rule_violation")
        self.assertEqual(self.call("POST", f"/v1/programs/{self.program}/settlements/{previous}"
                                           "/close", self.a["api_key"]).status, 403)
        closed = self.call("POST", f"/v1/programs/{self.program}/settlements/{previous}/close",
                           self.op)
        self.assertEqual(closed.status, 200, closed)
        self.assertEqual(closed.json["status"], "closed")
        before = self.statement(self.op, previous).json
        y, mo = map(int, previous.split("-"))
        late_at = iso(datetime.datetime(y, mo, 15, 12, 0, tzinfo=JST))
        self.assertEqual(buy(self.a, "offline-7", 5000, late_at), 50)
        after = self.statement(self.op, previous).json
        self.assertEqual(after["stores"], before["stores"])
        self.assertEqual(after["program"], before["program"])
        self.assertEqual(after["closed_at"], before["closed_at"])
        now_s = self.statement(self.op).json
        ra = {row["store_id"]: row for row in now_s["stores"]}[self.a["store_id"]]
        self.assertEqual(ra["points_issued"], 160 + 50)
        self.assertEqual(ra["late_entries"], 2)
        late = {x["ref"]: x for x in now_s["late_entries"]}
        self.assertEqual(late["offline-7"]["occurred_at"], late_at)    # its own date, shown
        self.assertEqual(now_s["program"]["outstanding_points"], outstanding + 50)
        self.assertEqual(now_s["program"]["outstanding_points_opening"],
                         after["program"]["outstanding_points"])
        ok, why = harness.ledger_consistent(self.hub, self.op, member)
        self.assertTrue(ok, why)

        # CSV and PDF say the same; the CLI too.
        c = self.statement(self.op, current, "csv")
        self.assertEqual(c.status, 200, c)
        self.assertTrue(c.headers.get("Content-Type", "").startswith("text/csv"))
        text = c.raw.lstrip("\ufeff")
        table = list(csv.reader(io.StringIO(text)))
        by_store = {r[2]: r for r in table[1:] if len(r) > 3 and r[0] == current}
        self.assertEqual(int(by_store[self.a["store_id"]][14]), ra["net"])
        self.assertEqual(by_store[self.b["store_id"]][3], "駅前カフェ")
        cli = Cli(self.hub)
        shown = cli.json("hub", "settlement", "show", self.program, "--data", self.hub.data_dir,
                         "--hub", self.hub.url)
        self.assertEqual(shown["stores"], now_s["stores"])
        store_view = cli.json("hub", "settlement", "show", self.program, "--token",
                              self.b["api_key"], "--hub", self.hub.url, "--period", current)
        self.assertEqual([r["store_id"] for r in store_view["stores"]], [self.b["store_id"]])
        out = os.path.join(tempfile.mkdtemp(prefix="kizuna-settle-"), "statement.pdf")
        written = cli.json("hub", "settlement", "export", self.program, "--format", "pdf",
                           "--out", out, "--period", current, "--data", self.hub.data_dir,
                           "--hub", self.hub.url)
        self.assertEqual(written["path"], out)
        with open(out, "rb") as pdf:
            data = pdf.read()
        self.assertTrue(data.startswith(b"%PDF-"))
        self.assertIn(b"NotoSansCJK", data)  # the Japanese font is embedded
        human = cli.run("hub", "settlement", "show", self.program, "--data", self.hub.data_dir,
                        "--hub", self.hub.url).stdout
        self.assertIn("駅前カフェ", human)
        self.assertIn("is paid by the program", human)

    def test_bad_requests_are_refused_naming_the_field(self):
        a = self.statement(self.op, "2026-13")
        self.assertEqual((a.status, (a.json["error"] or {}).get("field")), (400, "period"), a)
        a = self.statement(self.op, None, "xml")
        self.assertEqual(a.status, 400, a)
        a = self.call("PUT", f"/v1/programs/{self.program}/economics", self.op,
                      {"issuing_fee_bp": 20000})
        self.assertEqual((a.status, a.json["error"].get("field")), (400, "issuing_fee_bp"), a)
        a = self.call("PUT", f"/v1/programs/{self.program}/economics", self.op,
                      {"breakage": "stores"})
        self.assertEqual((a.status, a.json["error"].get("field")), (400, "breakage"), a)
        a = self.call("PUT", f"/v1/programs/{self.program}/economics", self.a["api_key"],
                      {"point_value": 1})
        self.assertEqual(a.status, 403, a)
        a = self.call("GET", "/v1/programs/pg_nope/settlements", self.op)
        self.assertEqual(a.status, 404, a)


if __name__ == "__main__":
    harness.main()
