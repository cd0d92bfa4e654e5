#!/usr/bin/env python3
"""End-to-end: redemption limits, campaign points, tiers and member merge (issue 19 items 3-6),
through the real `kizuna` binary over HTTP and its CLI.

- a redemption over the monthly cap (and each other limit) is refused with 422 redemption_limit
  naming the limit;
- 64 concurrent grants race for one campaign's budget: never over it, exactly budget/points win;
- campaign lots, expiring sooner, are spent first (the lots table of the hub's SQLite file);
- crossing a tier threshold changes the very next purchase's points;
- a merge keeps the sum of balances, revokes the other member's cards, and `kizuna hub check`
  finds every invariant holding afterwards;
- the offers a dispatch sent the merged-away member follow the merge (its dry run counts them):
  the next run does not send them to the survivor again.

Usage: loyalty_test.py --kizuna build/kizuna [unittest args]
"""

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cli, Hub  # noqa: E402

PASSWORD = "correct horse 42"


class Loyalty(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.hub = Hub().start()
        cls.enrolled = 0

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()

    # --- helpers -------------------------------------------------------------------------------
    def program_with_stores(self, name, count=1):
        program = self.hub.create_program(name)
        stores = [self.hub.create_store(f"{name} {i}", "physical", program) for i in range(count)]
        return program, stores

    def enroll(self, store, hub=None):
        hub = hub or self.hub
        Loyalty.enrolled += 1
        a = hub.call("POST", "/v1/members", store["api_key"], {
            "password": PASSWORD,
            "profile": {"name": f"Member {Loyalty.enrolled}",
                        "email": f"loyalty{Loyalty.enrolled}@example.jp"},
            "consents": {"email_offers": False, "postal_offers": False, "share_profile": False}})
        self.assertEqual(a.status, 201, a)
        return a.json["member_id"], a.json["card"]["card_number"]

    def buy(self, store, member_id, purchase_id, amount, hub=None):
        a = (hub or self.hub).call("POST", "/v1/purchases", store["api_key"], {
            "purchase_id": purchase_id, "member_id": member_id,
            "lines": [{"name": "Book", "quantity": 1, "unit_price": amount}]})
        self.assertEqual(a.status, 201, a)
        return a.json

    def redeem(self, store, member_id, redemption_id, points, hub=None):
        return (hub or self.hub).call("POST", "/v1/redemptions", store["api_key"], {
            "redemption_id": redemption_id, "member_id": member_id, "points": points})

    def assertLimit(self, answer, limit):
        self.assertEqual(answer.status, 422, answer)
        self.assertEqual(answer.json["error"]["code"], "redemption_limit", answer)
        self.assertEqual(answer.json["error"]["limit"], limit, answer)

    def balance(self, member_id, program_id, hub=None):
        usage = harness.usage_all(hub or self.hub, (hub or self.hub).operator_token, member_id)
        return sum(b["points"] for b in usage["balances"] if b["program_id"] == program_id)

    # --- item 3: redemption limits ---------------------------------------------------------------
    def test_redemption_over_the_monthly_cap_is_refused_naming_the_limit(self):
        program, (store, issuer) = self.program_with_stores("Capped chain", 2)
        m, _ = self.enroll(store)
        self.buy(store, m, "cap-p1", 300000)  # 3,000 points
        limits = {"per_member_month": 500, "per_transaction": 400, "minimum_balance": 100,
                  "non_accepting_stores": [issuer["store_id"]]}
        put = self.hub.call("PUT", f"/v1/programs/{program}/redemption-limits",
                            self.hub.operator_token, limits)
        self.assertEqual(put.status, 200, put)
        shown = self.hub.call("GET", f"/v1/programs/{program}", store["api_key"])
        self.assertEqual(shown.status, 200, shown)
        self.assertEqual(shown.json["redemption_limits"], limits)

        self.assertEqual(self.redeem(store, m, "cap-r1", 300).status, 201)
        over = self.redeem(store, m, "cap-r2", 201)  # 300 + 201 > 500 this month
        self.assertLimit(over, "per_member_month")
        self.assertEqual(self.balance(m, program), 2700, "a refused redemption changes nothing")
        self.assertEqual(self.redeem(store, m, "cap-r3", 200).status, 201)  # exactly the cap
        self.assertLimit(self.redeem(store, m, "cap-r4", 1), "per_member_month")
        # The other limits name themselves too (a fresh member: no monthly use yet).
        m2, _ = self.enroll(store)
        self.buy(store, m2, "cap-p2", 5000)  # 50 points
        self.assertLimit(self.redeem(issuer, m2, "cap-r5", 10), "store_does_not_accept")
        self.assertLimit(self.redeem(store, m2, "cap-r6", 401), "per_transaction")
        self.assertLimit(self.redeem(store, m2, "cap-r7", 10), "minimum_balance")
        # Only the operator sets limits.
        self.assertEqual(self.hub.call("PUT", f"/v1/programs/{program}/redemption-limits",
                                       store["api_key"], limits).status, 403)

    # --- item 4: campaigns -----------------------------------------------------------------------
    def test_campaign_budget_raced_by_64_concurrent_grants_is_never_exceeded(self):
        program, (store,) = self.program_with_stores("Race chain")
        members = [self.enroll(store)[0] for _ in range(4)]
        c = self.hub.call("POST", "/v1/campaigns", self.hub.operator_token,
                          {"name": "Race", "budget_points": 960, "validity_days": 30,
                           "program_id": program})
        self.assertEqual(c.status, 201, c)
        campaign = c.json["campaign_id"]
        answers = [None] * 64
        start = threading.Barrier(64)

        def grant(i):
            start.wait()
            answers[i] = self.hub.call("POST", f"/v1/campaigns/{campaign}/grants",
                                       store["api_key"],
                                       {"grant_id": f"race-{i}", "member_id": members[i % 4],
                                        "points": 30})

        threads = [threading.Thread(target=grant, args=(i,)) for i in range(64)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = [a.status for a in answers]
        self.assertEqual(statuses.count(201), 960 // 30, statuses)  # 32 grants of 30 fit
        self.assertEqual(statuses.count(422), 64 - 960 // 30, statuses)
        refusals = {a.error_code for a in answers if a.status == 422}
        self.assertEqual(refusals, {"rule_violation"})
        shown = self.hub.call("GET", f"/v1/campaigns/{campaign}", self.hub.operator_token)
        self.assertEqual(shown.json["granted_points"], 960, shown)
        self.assertEqual(shown.json["budget_left"], 0, shown)
        granted = sum(self.balance(m, program) for m in members)
        self.assertEqual(granted, 960)
        for m in members:
            ok, why = harness.ledger_consistent(self.hub, self.hub.operator_token, m)
            self.assertTrue(ok, why)
        # The same grant again answers the first time's grant and grants nothing more.
        winner = next(i for i, a in enumerate(answers) if a.status == 201)
        again = self.hub.call("POST", f"/v1/campaigns/{campaign}/grants", store["api_key"],
                              {"grant_id": f"race-{winner}", "member_id": members[winner % 4],
                               "points": 30})
        self.assertEqual(again.status, 200, again)
        self.assertEqual(again.json["balance"], answers[winner].json["balance"])
        other = self.hub.call("POST", f"/v1/campaigns/{campaign}/grants", store["api_key"],
                              {"grant_id": f"race-{winner}", "member_id": members[winner % 4],
                               "points": 5})
        self.assertEqual((other.status, other.error_code), (409, "idempotency_conflict"), other)
        # Another program's store does not see the campaign at all.
        _, (stranger,) = self.program_with_stores("Stranger chain")
        foreign = self.hub.call("POST", f"/v1/campaigns/{campaign}/grants", stranger["api_key"],
                                {"grant_id": "x", "member_id": members[0], "points": 1})
        self.assertEqual(foreign.status, 404, foreign)

    def test_campaign_lots_expire_sooner_and_are_spent_first_with_history_naming_them(self):
        hub = Hub().start()  # its own: the lots are read from its file once it has stopped
        try:
            program = hub.create_program("Bonus chain")
            store = hub.create_store("Bonus 1", "physical", program)
            m, _ = self.enroll(store, hub)
            self.buy(store, m, "bonus-p1", 50000, hub)  # 500 points, valid 365 days
            cli = Cli(hub)
            created = cli.json("hub", "campaign", "create", "春のボーナス", "--program", program,
                               "--budget", "1000", "--validity-days", "7", "--data", hub.data_dir)
            campaign = created["campaign_id"]
            grant = cli.json("hub", "campaign", "grant", campaign, m, "200", "--grant-id", "g1",
                             "--data", hub.data_dir)
            self.assertEqual(grant["balance"], 700, grant)
            shown = cli.run("hub", "campaign", "show", campaign, "--data", hub.data_dir)
            self.assertIn("春のボーナス", shown.stdout)
            self.assertIn("g1", shown.stdout)

            self.assertEqual(self.redeem(store, m, "bonus-r1", 250, hub).status, 201)
            usage = harness.usage_all(hub, hub.operator_token, m)
            bonus = [e for e in usage["entries"] if e["ref"] == f"campaign:{campaign}:g1"]
            self.assertEqual(len(bonus), 1, usage["entries"])
            self.assertEqual(bonus[0]["delta"], 200)
            self.assertIn("春のボーナス", bonus[0]["note"])
        finally:
            hub.stop()
        # The lots as the hub stored them: the campaign's (7 days) was drawn first, to zero.
        db = sqlite3.connect(f"file:{hub.data_dir}/kizuna.db?mode=ro", uri=True)
        try:
            lots = db.execute("SELECT purchase_id, earned, remaining, expires_at - earned_at"
                              " FROM lots WHERE member_id = ? ORDER BY lot_id", (m,)).fetchall()
        finally:
            db.close()
        self.assertEqual(lots, [("bonus-p1", 500, 450, 365 * 86400), (None, 200, 0, 7 * 86400)])
        # `kizuna hub check` holds each grant to its entry and lot, and a budget to its grants.
        self.assertEqual(self.check(hub.data_dir)[0], 0)
        db = sqlite3.connect(f"{hub.data_dir}/kizuna.db")
        try:
            with db:
                db.execute("UPDATE campaigns SET granted_points = granted_points + 1")
        finally:
            db.close()
        code, report = self.check(hub.data_dir)
        self.assertEqual(code, 1, report)
        faults = [f["detail"] for f in report["faults"] if f["kind"] == "record"]
        self.assertEqual(faults, [f"campaign {campaign}: granted_points 201, grants total 200"])

    def check(self, data_dir):
        p = subprocess.run([harness.KIZUNA, "hub", "check", "--data", data_dir, "--json"],
                           capture_output=True, text=True, timeout=120)
        return p.returncode, json.loads(p.stdout)

    # --- item 5: tiers ---------------------------------------------------------------------------
    def test_crossing_a_tier_threshold_changes_the_next_purchases_points(self):
        program, (store,) = self.program_with_stores("Tier chain")
        tiers = {"basis": "spend", "tiers": [
            {"name": "Regular", "threshold": 0, "multiplier": 1},
            {"name": "Silver", "threshold": 50000, "multiplier": 1.5},
            {"name": "Gold", "threshold": 200000, "multiplier": 2}]}
        put = self.hub.call("PUT", f"/v1/programs/{program}/tiers", self.hub.operator_token, tiers)
        self.assertEqual(put.status, 200, put)
        m, _ = self.enroll(store)
        look = self.hub.call("GET", f"/v1/members/{m}", store["api_key"])
        self.assertEqual(look.json["tier"]["name"], "Regular", look)
        self.assertEqual(look.json["tier"]["next"], {"name": "Silver", "remaining": 50000})

        self.assertEqual(self.buy(store, m, "tier-p1", 40000)["points_earned"], 400)
        # This purchase crosses Silver's threshold: it still earns at Regular...
        self.assertEqual(self.buy(store, m, "tier-p2", 20000)["points_earned"], 200)
        look = self.hub.call("GET", f"/v1/members/{m}", store["api_key"])
        self.assertEqual(look.json["tier"]["name"], "Silver", look)
        self.assertEqual(look.json["tier"]["multiplier"], 1.5)
        self.assertEqual(look.json["tier"]["next"], {"name": "Gold", "remaining": 140000})
        # ...and the very next one earns at Silver.
        self.assertEqual(self.buy(store, m, "tier-p3", 10000)["points_earned"], 150)
        usage = harness.usage_all(self.hub, self.hub.operator_token, m)
        notes = [e["note"] for e in usage["entries"] if e["ref"] == "tier-p3"]
        self.assertIn("Silver tier, x1.5", notes[0])
        # Down only at the period's end: refunds take the 12-month spend below Silver's threshold,
        # yet Silver holds until the end of the year and the next purchase still earns at it.
        for purchase_id, amount in (("tier-p1", 40000), ("tier-p2", 20000)):
            refund = self.hub.call("POST", f"/v1/purchases/{purchase_id}/refunds",
                                   store["api_key"], {"refund_id": f"rf-{purchase_id}",
                                                      "amount": amount})
            self.assertEqual(refund.status, 201, refund)
        look = self.hub.call("GET", f"/v1/members/{m}", store["api_key"])
        self.assertEqual(look.json["tier"]["value"], 10000, look)
        self.assertEqual(look.json["tier"]["name"], "Silver", look)
        self.assertTrue(look.json["tier"]["held_until"].endswith("-01-01T00:00:00Z"), look)
        self.assertEqual(self.buy(store, m, "tier-p4", 10000)["points_earned"], 150)
        shown = self.hub.call("GET", f"/v1/programs/{program}", self.hub.operator_token)
        self.assertEqual(shown.json["tiers"]["tiers"][1]["name"], "Silver", shown)

    def test_points_basis_tier_counts_points_earned(self):
        program, (store,) = self.program_with_stores("Points tier chain")
        put = self.hub.call("PUT", f"/v1/programs/{program}/tiers", self.hub.operator_token,
                            {"basis": "points", "tiers": [
                                {"name": "Bronze", "threshold": 0},
                                {"name": "Silver", "threshold": 300, "multiplier": 2}]})
        self.assertEqual(put.status, 200, put)
        m, _ = self.enroll(store)
        self.assertEqual(self.buy(store, m, "pt-p1", 29900)["points_earned"], 299)
        look = self.hub.call("GET", f"/v1/members/{m}", store["api_key"])
        self.assertEqual(look.json["tier"]["next"], {"name": "Silver", "remaining": 1}, look)
        self.assertEqual(self.buy(store, m, "pt-p2", 100)["points_earned"], 1)
        self.assertEqual(self.buy(store, m, "pt-p3", 10000)["points_earned"], 200)
        look = self.hub.call("GET", f"/v1/members/{m}", store["api_key"])
        self.assertEqual((look.json["tier"]["name"], look.json["tier"]["next"]), ("Silver", None))

    # --- item 6: merge ---------------------------------------------------------------------------
    def test_merge_keeps_the_sum_of_balances_and_every_invariant(self):
        hub = Hub().start()
        try:
            self.merge_on(hub)
        finally:
            hub.stop()
        code, report = self.check(hub.data_dir)
        self.assertEqual(code, 0, report)
        self.assertTrue(report["clean"] and report["ledger_checked"], report)

    def merge_on(self, hub):
        program = hub.create_program("Merge chain")
        store = hub.create_store("Merge 1", "physical", program)
        other = hub.create_store("Elsewhere", "physical", None)  # its own program
        survivor, _ = self.enroll(store, hub)
        twin, twin_card = self.enroll(store, hub)
        self.buy(store, survivor, "mg-s1", 30000, hub)
        self.buy(store, twin, "mg-t1", 45000, hub)
        self.buy(other, twin, "mg-t2", 12000, hub)
        self.assertEqual(self.redeem(store, twin, "mg-r1", 50, hub).status, 201)
        c = hub.call("POST", "/v1/campaigns", store["api_key"],
                     {"name": "Welcome", "budget_points": 100, "validity_days": 10})
        self.assertEqual(c.status, 201, c)
        g = hub.call("POST", f"/v1/campaigns/{c.json['campaign_id']}/grants", store["api_key"],
                     {"grant_id": "w1", "member_id": twin, "points": 40})
        self.assertEqual(g.status, 201, g)

        def balances(member_id):
            usage = harness.usage_all(hub, hub.operator_token, member_id)
            return {b["program_id"]: b["points"] for b in usage["balances"]}

        before = {m: balances(m) for m in (survivor, twin)}
        total_before = sum(sum(b.values()) for b in before.values())
        cli = Cli(hub)
        dry = cli.run("hub", "members", "merge", survivor, twin, "--dry-run", "--data",
                      hub.data_dir)
        self.assertIn("Dry run: nothing changed.", dry.stdout)
        self.assertEqual(balances(twin), before[twin], "a dry run changes nothing")
        refused = cli.run("hub", "members", "merge", survivor, twin, "--data", hub.data_dir,
                          stdin="no\n", check=False)
        self.assertNotEqual(refused.returncode, 0, refused)
        self.assertEqual(balances(twin), before[twin], "an unconfirmed merge changes nothing")

        merged = cli.run("hub", "members", "merge", survivor, twin, "--data", hub.data_dir,
                         stdin="merge\n")
        self.assertIn("Merged.", merged.stdout)
        after = balances(survivor)
        self.assertEqual(sum(after.values()), total_before)
        self.assertEqual(after[program], before[survivor][program] + before[twin][program])
        self.assertEqual(after[other["program_id"]], before[twin][other["program_id"]])
        self.assertEqual(balances(twin), {})
        usage = harness.usage_all(hub, hub.operator_token, survivor)
        self.assertEqual({p["purchase_id"] for p in usage["purchases"]},
                         {"mg-s1", "mg-t1", "mg-t2"})
        ok, why = harness.ledger_consistent(hub, hub.operator_token, survivor)
        self.assertTrue(ok, why)
        # The merged member's card is revoked; spending with it is refused.
        use = hub.call("POST", "/v1/redemptions", store["api_key"],
                       {"redemption_id": "mg-r2", "card_number": twin_card, "points": 1})
        self.assertEqual((use.status, use.error_code), (409, "card_revoked"), use)
        # A sale naming the merged-away member id earns for the survivor, never for the closed
        # record (a till that still has the old id, a store node's sale made offline before it
        # heard of the merge).
        sale = self.buy(store, twin, "mg-t3", 10000, hub)
        self.assertEqual(sale["member_id"], survivor, sale)
        self.assertEqual(balances(twin), {})
        self.assertEqual(balances(survivor)[program], after[program] + sale["points_earned"])
        # Irreversible and once only.
        again = hub.call("POST", f"/v1/members/{survivor}/merge", hub.operator_token,
                         {"from_member_id": twin, "confirm": True})
        self.assertEqual(again.status, 422, again)
        # Only the operator merges.
        self.assertEqual(hub.call("POST", f"/v1/members/{survivor}/merge", store["api_key"],
                                  {"from_member_id": twin}).status, 403)

    def test_merge_moves_offers_sent_so_the_survivor_is_not_sent_them_again(self):
        hub = Hub().start()
        try:
            survivor, offer_id = self.offers_sent_follow_the_merge(hub)
        finally:
            hub.stop()
        # As the hub stored it: the offer is recorded as sent to the survivor only.
        db = sqlite3.connect(f"file:{hub.data_dir}/kizuna.db?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT member_id FROM offers_sent WHERE offer_id = ?",
                              (offer_id,)).fetchall()
        finally:
            db.close()
        self.assertEqual(rows, [(survivor,)])
        code, report = self.check(hub.data_dir)
        self.assertEqual(code, 0, report)

    def offers_sent_follow_the_merge(self, hub):
        store = hub.create_store("本の森", "physical", None)
        offer = hub.call("POST", "/v1/offers", store["api_key"],
                         {"title": "本の秋フェア", "body": "全品20%オフ", "categories": ["books"],
                          "valid_to": "2099-12-31T00:00:00Z"})
        self.assertEqual(offer.status, 201, offer)
        offer_id = offer.json["offer_id"]

        def enroll(name):
            a = hub.call("POST", "/v1/members", store["api_key"], {
                "password": PASSWORD,
                "profile": {"name": name, "postal_code": "150-0043",
                            "address": "東京都渋谷区道玄坂1-2-3"},
                "consents": {"email_offers": False, "postal_offers": True}})
            self.assertEqual(a.status, 201, a)
            return a.json["member_id"]

        def dispatch_print():
            a = hub.call("POST", "/v1/dispatches", hub.operator_token, {"channels": ["print"]})
            self.assertEqual(a.status, 202, a)
            run = a.json["dispatch_id"]
            for _ in range(300):
                d = hub.call("GET", f"/v1/dispatches/{run}", hub.operator_token).json
                if d["status"] in ("done", "failed"):
                    break
                time.sleep(0.1)
            self.assertEqual(d["status"], "done", d)
            rows = hub.call("GET", f"/v1/dispatches/{run}/recipients?limit=100",
                            hub.operator_token).json["recipients"]
            return {(r["member_id"], i.get("offer_id")) for r in rows for i in r["items"]
                    if r["state"] == "ready"}

        survivor, twin = enroll("山田 花子"), enroll("山田 花子 (重複)")
        # Only the twin has bought books: the first run sends the offer to the twin alone.
        bought = hub.call("POST", "/v1/purchases", store["api_key"], {
            "purchase_id": "of-t1", "member_id": twin,
            "lines": [{"name": "新刊", "category": "books", "unit_price": 3000}]})
        self.assertEqual(bought.status, 201, bought)
        self.assertEqual(dispatch_print(), {(twin, offer_id)})

        dry = hub.call("POST", f"/v1/members/{survivor}/merge", hub.operator_token,
                       {"from_member_id": twin})
        self.assertEqual(dry.status, 200, dry)
        self.assertEqual(dry.json["moves"]["offers_sent"], 1, dry)
        self.assertEqual(dry.json["ends"]["dispatch_pending_skipped"], 0, dry)
        text = Cli(hub).run("hub", "members", "merge", survivor, twin, "--dry-run", "--data",
                            hub.data_dir).stdout
        self.assertRegex(text, r"offers sent:\s+1")
        merged = hub.call("POST", f"/v1/members/{survivor}/merge", hub.operator_token,
                          {"from_member_id": twin, "confirm": True})
        self.assertEqual((merged.status, merged.json["merged"]), (200, True), merged)

        # The survivor now has the twin's books purchase, and was already sent the offer.
        self.assertEqual(dispatch_print(), set())
        return survivor, offer_id


if __name__ == "__main__":
    harness.main()
