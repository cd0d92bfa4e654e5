"""Member self-care and honest records (issue 17 items 5-6, issue 18 item 5), through the real
`kizuna hub serve` and CLI: log-out ends the session on the hub, a password reset link works
once, an email typed at a counter is unconfirmed (no offers by mail) until its owner follows the
link, and its owner can take it over; a duplicate phone is refused unless shared; profile and
consents change with a `member.updated` event; leaving erases the profile and forfeits the
points with every invariant kept (`kizuna hub check`); a refunded purchase shows its refund and
net figures; names stand beside ids; an offer's points multiplier changes what a purchase earns.
Mail is read from the hub's spool (DIR/mail-outbox), as queued for delivery.

Usage: selfcare_test.py --kizuna build/kizuna [unittest args]
"""

import json
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cli, Hub, mails_to  # noqa: E402

PASSWORD = "correct horse 42"
PROFILE = {"name": "佐藤 花子", "name_kana": "サトウ ハナコ"}


def link_token(text, marker):
    match = re.search(re.escape(marker) + r"([A-Za-z0-9_\-]+)", text)
    return match.group(1) if match else None


class SelfCare(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub().start()
        cls.program = cls.hub.create_program("Ekimae 駅前 chain")
        cls.store = cls.hub.create_store("Shibuya Books 渋谷", program_id=cls.program)
        cls.key = cls.store["api_key"]

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()

    def enroll(self, email=None, phone=None, shared_phone=None, consents=None):
        profile = dict(PROFILE)
        if email:
            profile["email"] = email
        if phone:
            profile["phone"] = phone
        body = {"password": PASSWORD, "profile": profile,
                "consents": consents or {"email_offers": True, "share_profile": True}}
        if shared_phone is not None:
            body["shared_phone"] = shared_phone
        return self.hub.call("POST", "/v1/members", self.key, body)

    def login(self, login, password=PASSWORD):
        a = self.hub.call("POST", "/v1/sessions", None, {"login": login, "password": password})
        return a

    def buy(self, member_id, purchase_id, amount, category="books"):
        a = self.hub.call("POST", "/v1/purchases", self.key, {
            "purchase_id": purchase_id, "member_id": member_id,
            "lines": [{"name": "本", "category": category, "unit_price": amount}]})
        self.assertEqual(a.status, 201, a)
        return a.json

    def test_logout_revokes_the_token_on_the_hub(self):
        member = self.enroll().json["member_id"]
        token = self.login(member).json["token"]
        other = self.login(member).json["token"]
        path = f"/v1/members/{member}/usage"
        self.assertEqual(self.hub.call("GET", path, token).status, 200)
        self.assertEqual(self.hub.call("DELETE", "/v1/sessions/current", token).status, 200)
        self.assertEqual(self.hub.call("GET", path, token).status, 401)
        self.assertEqual(self.hub.call("GET", path, other).status, 200)
        # Everywhere, through the CLI: the other session stops too.
        cli = Cli(self.hub)
        cli.run("member", "login", "--login", member, "--password-stdin", stdin=PASSWORD + "\n")
        out = cli.json("member", "logout", "--everywhere")
        self.assertGreaterEqual(out["sessions_ended"], 2)
        self.assertEqual(self.hub.call("GET", path, other).status, 401)

    def test_duplicate_phone_is_409_unless_shared(self):
        self.assertEqual(self.enroll(phone="090-1111-2222").status, 201)
        again = self.enroll(phone="09011112222")
        self.assertEqual(again.status, 409, again)
        self.assertEqual(again.json["error"]["field"], "profile.phone")
        self.assertIn("already registered", again.json["error"]["message"])
        self.assertEqual(self.enroll(phone="090-1111-2222", shared_phone=True).status, 201)

    def test_counter_email_is_unconfirmed_until_the_link_and_then_offers_may_be_mailed(self):
        email = "hanako.counter@example.jp"
        member = self.enroll(email=email).json["member_id"]
        token = self.login(member).json["token"]
        me = self.hub.call("GET", f"/v1/members/{member}", token).json
        self.assertFalse(me["email_confirmed"])
        self.assertFalse(me["offers_by_email"])
        mail = mails_to(self.hub, email)[-1]
        link = link_token(mail, "/v1/email-confirmations/")
        self.assertIsNotNone(link, mail)
        self.assertEqual(self.hub.call("GET", f"/v1/email-confirmations/{link}").status, 200)
        me = self.hub.call("GET", f"/v1/members/{member}", token).json
        self.assertTrue(me["email_confirmed"])
        self.assertTrue(me["offers_by_email"])

    def test_the_owner_of_a_mailbox_takes_over_an_unconfirmed_claim(self):
        email = "victim@example.jp"
        squatter = self.enroll(email=email).json["member_id"]
        # The owner enrolls by self-service: the confirmation goes out, not "already a member".
        a = self.hub.call("POST", "/v1/members", None, {
            "password": PASSWORD, "profile": {"name": "本人", "email": email},
            "consents": {"email_offers": True}})
        self.assertEqual(a.status, 202, a)
        token = harness.confirmation_token(self.hub, email)
        owner = self.hub.call("POST", "/v1/members/confirmations", None, {"token": token})
        self.assertEqual(owner.status, 201, owner)
        self.assertEqual(self.login(email).json["member_id"], owner.json["member_id"])
        squatter_token = self.login(squatter).json["token"]
        me = self.hub.call("GET", f"/v1/members/{squatter}", squatter_token).json
        self.assertEqual(me["profile"]["email"], "")

    def test_password_reset_link_works_once(self):
        email = "reset.me@example.jp"
        member = self.enroll(email=email).json["member_id"]
        link = link_token(mails_to(self.hub, email)[-1], "/v1/email-confirmations/")
        self.assertEqual(self.hub.call("GET", f"/v1/email-confirmations/{link}").status, 200)
        old_session = self.login(member).json["token"]
        cli = Cli(self.hub)
        cli.run("member", "forgot-password", "--email", email)
        mail = mails_to(self.hub, email)[-1]
        token = link_token(mail, "reset-password?token=")
        self.assertTrue(token and token.startswith("kzr_"), mail)
        page = self.hub.call("GET", f"/reset-password?token={token}")
        self.assertEqual(page.status, 200)
        self.assertIn("password-resets/complete", page.raw)
        cli.run("member", "reset-password", "--token", token, "--password-stdin",
                stdin="brand new pass 7\n")
        self.assertEqual(self.login(member, "brand new pass 7").status, 201)
        self.assertEqual(self.login(member, PASSWORD).status, 401)
        self.assertEqual(self.hub.call("GET", f"/v1/members/{member}/usage", old_session).status,
                         401)
        again = self.hub.call("POST", "/v1/password-resets/complete", None,
                              {"token": token, "password": "another pass 99"})
        self.assertEqual(again.status, 400, again)
        self.assertEqual(again.json["error"]["field"], "token")
        self.assertEqual(self.login(member, "brand new pass 7").status, 201)

    def test_unconfirmed_email_gets_no_reset_link(self):
        email = "typed.by.store@example.jp"
        self.enroll(email=email)
        before = len(mails_to(self.hub, email))
        a = self.hub.call("POST", "/v1/password-resets", None, {"email": email})
        self.assertEqual(a.status, 202)
        self.assertEqual(len(mails_to(self.hub, email)), before)

    def test_profile_and_consents_change_and_member_updated_is_recorded(self):
        member = self.enroll().json["member_id"]
        cli = Cli(self.hub)
        cli.run("member", "login", "--login", member, "--password-stdin", stdin=PASSWORD + "\n")
        out = cli.json("member", "consents", "--email-offers", "off", "--postal-offers", "on")
        self.assertFalse(out["consents"]["email_offers"])
        self.assertTrue(out["consents"]["postal_offers"])
        out = cli.json("member", "profile", "--address", "東京都渋谷区1-2-3")
        self.assertEqual(out["profile"]["address"], "東京都渋谷区1-2-3")
        bad = cli.run("member", "profile", "--birth-date", "2999-01-01", check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("birth_date", bad.stderr + bad.stdout)
        # The event outbox carries it (a webhook of the store's program would be sent it).
        self.hub.stop()
        try:
            import sqlite3
            db = sqlite3.connect(os.path.join(self.hub.data_dir, "kizuna.db"))
            rows = db.execute("SELECT payload FROM events WHERE type = 'member.updated'"
                              " AND member_id = ?", (member,)).fetchall()
            db.close()
        finally:
            self.hub.start()
        changed = [c for (payload,) in rows for c in json.loads(payload)["changed"]]
        self.assertIn("consents.email_offers", changed)
        self.assertIn("profile.address", changed)
        self.assertNotIn("東京都", "".join(p for (p,) in rows))

    def test_refunded_purchase_shows_the_refund_names_and_current_card(self):
        enrolled = self.enroll().json
        member = enrolled["member_id"]
        self.buy(member, "sale-r1", 5000)
        a = self.hub.call("POST", "/v1/purchases/sale-r1/refunds", self.key,
                          {"refund_id": "ref-r1", "amount": 5000})
        self.assertEqual(a.status, 201, a)
        reissued = self.hub.call("POST", f"/v1/members/{member}/cards", self.key,
                                 {"password": PASSWORD})
        self.assertEqual(reissued.status, 201, reissued)
        lookup = self.hub.call("GET", f"/v1/members/{member}", self.key).json
        p = [x for x in lookup["purchases"] if x["purchase_id"] == "sale-r1"][0]
        self.assertEqual(p["refunds"][0]["refund_id"], "ref-r1")
        self.assertEqual(p["net_total"], 0)
        self.assertEqual(p["net_points"], 0)
        self.assertEqual(p["store_name"], "Shibuya Books 渋谷")
        self.assertEqual(p["program_name"], "Ekimae 駅前 chain")
        self.assertEqual(lookup["card"]["card_number"], reissued.json["card"]["card_number"])
        self.assertEqual(lookup["card"]["status"], "active")
        token = self.login(member).json["token"]
        usage = self.hub.call("GET", f"/v1/members/{member}/usage", token).json
        self.assertEqual(usage["balances"][0]["program_name"], "Ekimae 駅前 chain")
        self.assertEqual(usage["purchases"][0]["refunds"][0]["amount"], 5000)
        self.assertTrue(all(e.get("store_name") == "Shibuya Books 渋谷"
                            for e in usage["entries"] if e["store_id"]))
        offers = self.hub.call("GET", "/v1/offers", token).json["offers"]
        self.assertTrue(all("store_name" in o for o in offers))

    def test_offer_multiplier_changes_the_points_earned(self):
        member = self.enroll().json["member_id"]
        self.assertEqual(self.buy(member, "mul-0", 1000)["points_earned"], 10)
        a = self.hub.call("POST", "/v1/offers", self.key, {
            "title": "文庫本 ポイント3倍", "categories": ["books"],
            "valid_to": "2099-01-01T00:00:00Z", "points_multiplier": 3})
        self.assertEqual(a.status, 201, a)
        offer = a.json["offer_id"]
        self.assertEqual(self.buy(member, "mul-1", 1000)["points_earned"], 30)
        self.assertEqual(self.buy(member, "mul-2", 1000, category="food")["points_earned"], 10)
        edited = self.hub.call("PATCH", f"/v1/offers/{offer}", self.key,
                               {"points_multiplier": 2, "title": "ポイント2倍"})
        self.assertEqual(edited.status, 200, edited)
        self.assertEqual(self.buy(member, "mul-3", 1000)["points_earned"], 20)
        self.assertEqual(self.hub.call("DELETE", f"/v1/offers/{offer}", self.key).status, 200)
        self.assertEqual(self.buy(member, "mul-4", 1000)["points_earned"], 10)
        listed = self.hub.call("GET", "/v1/offers", self.key).json["offers"]
        self.assertNotIn(offer, [o["offer_id"] for o in listed])

    def test_errors_name_the_check_digit_and_the_mistyped_command(self):
        member = self.enroll().json
        number = member["card"]["card_number"]
        wrong = number[:15] + str((int(number[15]) + 1) % 10)
        a = self.hub.call("POST", "/v1/sessions", None, {"login": wrong, "password": PASSWORD})
        self.assertEqual(a.status, 400, a)
        self.assertIn("check digit", a.json["error"]["message"])
        a = self.hub.call("POST", "/v1/purchases", self.key, {
            "purchase_id": "cd-1", "card_number": wrong,
            "lines": [{"name": "本", "unit_price": 100}]})
        self.assertEqual(a.status, 400, a)
        self.assertIn("check digit", a.json["error"]["message"])
        cli = Cli(self.hub, api_key=self.key)
        p = cli.run("pos", "sale", "--card", wrong, "--item", "Tea,drinks,150", check=False)
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("check digit", p.stderr + p.stdout)
        p = cli.run("member", "logot", check=False)
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("unknown command 'logot'", p.stderr)
        self.assertIn("did you mean 'logout'", p.stderr)

    def test_z_leaving_erases_the_profile_and_keeps_every_invariant(self):
        email = "leaving@example.jp"
        enrolled = self.enroll(email=email, phone="03-5555-0001").json
        member = enrolled["member_id"]
        self.buy(member, "leave-1", 12345)
        cli = Cli(self.hub)
        cli.run("member", "login", "--login", member, "--password-stdin", stdin=PASSWORD + "\n")
        wrong = cli.run("member", "leave", "--yes", "--password-stdin", stdin="nope nope 1\n",
                        check=False)
        self.assertNotEqual(wrong.returncode, 0)
        out = cli.json("member", "leave", "--yes", "--password-stdin", stdin=PASSWORD + "\n")
        self.assertEqual(out["status"], "left")
        self.assertEqual(out["points_forfeited"][0]["points"], 123)
        self.assertEqual(self.login(member).status, 401)
        card = enrolled["card"]["card_number"]
        a = self.hub.call("POST", "/v1/purchases", self.key, {
            "purchase_id": "leave-2", "card_number": card,
            "lines": [{"name": "本", "unit_price": 100}]})
        self.assertEqual(a.status, 409, a)
        # By member id too: a member who left earns nothing (the balance stays forfeited).
        by_id = self.hub.call("POST", "/v1/purchases", self.key, {
            "purchase_id": "leave-3", "member_id": member,
            "lines": [{"name": "本", "unit_price": 100}]})
        self.assertEqual((by_id.status, by_id.error_code), (422, "rule_violation"), by_id)
        self.assertIn("has left the program", by_id.json["error"]["message"], by_id)
        lookup = self.hub.call("GET", f"/v1/members/{member}", self.key).json
        self.assertNotIn("profile", lookup)
        # The address and phone are free again.
        self.assertEqual(self.enroll(email=email, phone="03-5555-0001").status, 201)
        self.hub.stop()
        try:
            db = os.path.join(self.hub.data_dir, "kizuna.db")
            import sqlite3
            con = sqlite3.connect(db)
            row = con.execute("SELECT name, email, phone, address, password_hash, status"
                              " FROM members WHERE member_id = ?", (member,)).fetchone()
            balance = con.execute("SELECT points FROM balances WHERE member_id = ?",
                                  (member,)).fetchone()
            con.close()
            self.assertEqual(row, ("", "", "", "", "", "closed"))
            self.assertEqual(balance, (0,))
            check = subprocess.run([harness.KIZUNA, "hub", "check", "--data", self.hub.data_dir],
                                   capture_output=True, text=True, timeout=120)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        finally:
            self.hub.start()


if __name__ == "__main__":
    harness.main()
