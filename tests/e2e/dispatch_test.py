#!/usr/bin/python3
"""Offer dispatch (seed function 8, issue 18) through the real `kizuna hub serve`, a real local
SMTP server (Debian's python3-aiosmtpd on 127.0.0.1 writing a maildir) and the real CLI:
targeting by purchase history, consent, Japanese MIME parsed back with Python's `email`, one-click
unsubscribe (RFC 8058) honoured by the next run, 451 then 250 delivered once, 550 failed with the
server's reason, a hub killed -9 mid-run resuming without mailing anybody twice, and the print
channel's letters and labels read back with poppler (pdfinfo, pdftotext).

Usage: dispatch_test.py --kizuna build/kizuna [unittest args]
"""

import asyncio
import collections
import datetime
import email
import email.policy
import mailbox
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

from aiosmtpd.controller import Controller

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cli, Hub  # noqa: E402

PASSWORD = "correct horse 42"
FROM = "offers@example.jp"
CONTACT = "support@example.jp"
BOOKS_TITLE = "本の秋フェア 全品20%オフ"
COFFEE_TITLE = "コーヒー豆 2袋目半額"
LONG_ADDRESS = "北海道札幌市中央区北一条西二丁目一番地 札幌中央ビルディング第三別館 十二階 一二〇五号室 経理部会計課 佐々木部長気付"  # 60 characters
MM = 72 / 25.4


class Sink:
    """An SMTP server storing each message in a maildir. `script` maps an address to the
    answers its RCPTs get in turn (then 250): e.g. {"a@x": ["451 4.3.0 busy"]}."""

    def __init__(self, script=None, slow=()):
        self.slow = set(slow)  # DATA for these waits 3 s before its 250
        self.dir = tempfile.mkdtemp(prefix="kizuna-maildir-")
        self.maildir = mailbox.Maildir(os.path.join(self.dir, "maildir"), create=True)
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.rcpts = collections.Counter()
        # Addresses whose next mail is their email confirmation: address -> token once received.
        self.confirming = set()
        self.confirmations = {}
        self.controller = Controller(self, hostname="127.0.0.1", port=harness.free_port())
        self.controller.start()

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.controller.port}"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.confirming is not None and address in self.confirming:
            # The enrollment's email confirmation (issue 17): taken aside, not counted.
            envelope.rcpt_tos.append(address)
            return "250 OK"
        self.rcpts[address] += 1
        answers = self.script.get(address)
        if answers:
            answer = answers[0]
            if not answer.startswith("550"):
                answers.pop(0)
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.confirming is not None and self.confirming.intersection(envelope.rcpt_tos):
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            text = "".join(part.get_content() for part in message.walk()
                           if part.get_content_maintype() == "text")
            found = re.search(r"/v1/email-confirmations/([A-Za-z0-9_\-]+)", text)
            if found:
                for address in envelope.rcpt_tos:
                    self.confirmations[address] = found.group(1)
            return "250 Message accepted for delivery"
        if self.slow.intersection(envelope.rcpt_tos):
            await asyncio.sleep(3)
        self.maildir.add(envelope.content)
        return "250 Message accepted for delivery"

    def messages(self):
        return [email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
                for m in self.maildir]

    def by_address(self):
        out = collections.defaultdict(list)
        for m in self.messages():
            out[str(m["To"]).strip("<>")].append(m)
        return out

    def stop(self):
        self.controller.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def recent(days):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def text_of(message):
    part = message.get_body(preferencelist=("plain",))
    return part.get_content()


def html_of(message):
    part = message.get_body(preferencelist=("html",))
    return part.get_content()


class World:
    """A hub with one chain of two stores (books, coffee) and their offers."""

    def __init__(self, hub, sink=None):
        self.hub = hub
        self.op = hub.operator_token
        self.program = hub.create_program("駅前チェーン")
        self.books = hub.create_store("本の森 駅前店", "physical", self.program)
        self.coffee = hub.create_store("珈琲館 駅前店", "physical", self.program)
        self.books_offer = self.offer(self.books, BOOKS_TITLE, ["books"])
        self.coffee_offer = self.offer(self.coffee, COFFEE_TITLE, ["coffee"])
        self.purchases = 0
        self.sink = sink

    def offer(self, store, title, categories):
        a = self.hub.call("POST", "/v1/offers", store["api_key"],
                          {"title": title, "body": "期間中、対象商品がお得です。\n詳しくは店頭で。",
                           "categories": categories, "valid_to": "2027-12-31T00:00:00Z"})
        assert a.status == 201, a
        return a.json["offer_id"]

    def member(self, name, email_address, email_offers, postal_offers, address="東京都渋谷区道玄坂1-2-3",
               postal_code="150-0043"):
        sink = self.sink
        if sink is not None and email_address:
            sink.confirming.add(email_address)
        a = self.hub.call("POST", "/v1/members", self.books["api_key"],
                          {"password": PASSWORD,
                           "profile": {"name": name, "email": email_address,
                                       "postal_code": postal_code, "address": address},
                           "consents": {"email_offers": email_offers,
                                        "postal_offers": postal_offers}})
        assert a.status == 201, a
        if sink is not None and email_address:
            # Only a confirmed email gets offers (issue 17): confirm it from the mailbox.
            deadline = time.time() + 30
            while email_address not in sink.confirmations and time.time() < deadline:
                time.sleep(0.05)
            token = sink.confirmations.get(email_address)
            assert token, f"no confirmation mail reached {email_address}"
            c = self.hub.call("GET", f"/v1/email-confirmations/{token}", None)
            assert c.status == 200, c
            sink.confirming.discard(email_address)
        return a.json["member_id"]

    def buy(self, member_id, store, category, days_ago=5):
        self.purchases += 1
        # Days ago: a sale older than today's business day reaches the hub only through a store
        # node's sync, with its original time.
        body = {"purchase_id": f"p-{self.purchases}", "member_id": member_id,
                "currency": "JPY", "occurred_at": recent(days_ago),
                "lines": [{"name": "品物", "category": category, "quantity": 2,
                           "unit_price": 1500}]}
        a = self.hub.call("POST", "/v1/sync/push", store["api_key"],
                          {"events": [{"event_id": f"ev-p-{self.purchases}",
                                       "type": "purchase.created",
                                       "occurred_at": body["occurred_at"], "body": body}]})
        assert a.status == 200, a
        assert a.json["results"][0]["status"] == "applied", a

    def dispatch(self, channels, dry_run=False):
        a = self.hub.call("POST", "/v1/dispatches", self.op,
                          {"channels": channels, "dry_run": dry_run})
        assert a.status == 202, a
        return a.json["dispatch_id"]

    def wait_done(self, dispatch_id, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            a = self.hub.call("GET", f"/v1/dispatches/{dispatch_id}", self.op)
            assert a.status == 200, a
            if a.json["status"] in ("done", "failed"):
                return a.json
            time.sleep(0.2)
        raise AssertionError(f"dispatch {dispatch_id} not done: {a.json}\n{self.hub.log()}")

    def recipients(self, dispatch_id):
        rows, cursor = [], None
        while True:
            path = f"/v1/dispatches/{dispatch_id}/recipients?limit=3"
            if cursor:
                path += "&cursor=" + urllib.parse.quote(cursor)
            a = self.hub.call("GET", path, self.op)
            assert a.status == 200, a
            rows += a.json["recipients"]
            cursor = a.json["next_cursor"]
            if not cursor:
                return rows


def serve_args(sink, *more):
    return ["--smtp", sink.url, "--mail-from", FROM, "--mail-sender-name", "Kizuna 会員サービス",
            "--mail-contact", CONTACT, "--dispatch-retry-base", "1", *more]


class OfferDispatch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.defer = "defer@example.jp"
        cls.reject = "reject@example.jp"
        cls.sink = Sink({cls.defer: ["451 4.3.0 Mailbox busy, try again later"],
                         cls.reject: ["550 5.1.1 No such user here"]})
        cls.hub = Hub()
        cls.hub.start(extra_args=serve_args(cls.sink))
        w = cls.world = World(cls.hub, cls.sink)
        cls.hanako = w.member("山田 花子", "hanako@example.jp", True, True)
        cls.taro = w.member("佐藤 太郎", "taro@example.jp", True, False)
        cls.ichiro = w.member("鈴木 一郎", "ichiro@example.jp", False, False)
        cls.deferred = w.member("高橋 次郎", cls.defer, True, False)
        cls.rejected = w.member("田中 三郎", cls.reject, True, False)
        cls.long = w.member("伊藤 長住所", "", False, True, LONG_ADDRESS, "060-0001")
        for m in (cls.hanako, cls.ichiro, cls.deferred, cls.long):
            w.buy(m, w.books, "books")
        for m in (cls.taro, cls.rejected):
            w.buy(m, w.coffee, "coffee")
        cls.run1 = w.dispatch(["email", "print"])
        cls.done1 = w.wait_done(cls.run1, timeout=90)

    @classmethod
    def tearDownClass(cls):
        cls.hub.stop()
        cls.sink.stop()

    def test_1_books_buyer_gets_books_coffee_buyer_coffee_no_consent_nothing(self):
        mails = self.sink.by_address()
        self.assertEqual(set(mails), {"hanako@example.jp", "taro@example.jp", self.defer},
                         self.hub.log())
        hanako = text_of(mails["hanako@example.jp"][0])
        self.assertIn(BOOKS_TITLE, hanako)
        self.assertNotIn(COFFEE_TITLE, hanako)
        taro = text_of(mails["taro@example.jp"][0])
        self.assertIn(COFFEE_TITLE, taro)
        self.assertNotIn(BOOKS_TITLE, taro)
        self.assertNotIn("ichiro@example.jp", self.sink.rcpts)
        counts = self.done1["counts"]
        self.assertEqual(self.done1["status"], "done")
        self.assertEqual(counts["members"], 6)
        self.assertEqual(counts["sent"], 3)
        self.assertEqual(counts["failed"], 1)
        self.assertEqual(counts["unknown"], 0)
        self.assertEqual(counts["ready"], 2)  # hanako and the long address: postal consent

    def test_2_every_message_parses_with_japanese_subject_and_unsubscribe_headers(self):
        for m in self.sink.messages():
            self.assertIn("様へのおすすめ", str(m["Subject"]))
            self.assertTrue(str(m["Subject"]).startswith("【Kizuna 会員サービス】"))
            raw_subject = m.get("Subject").__class__  # decoded by the policy
            self.assertIsNotNone(raw_subject)
            self.assertEqual(str(m["List-Unsubscribe-Post"]), "List-Unsubscribe=One-Click")
            self.assertRegex(str(m["List-Unsubscribe"]).strip(),
                             r"^<http://127\.0\.0\.1:\d+/v1/unsubscribe\?token=u1\.\d+\.email\.[0-9a-f]{64}>$")
            text = text_of(m)
            self.assertIn("送信者: Kizuna 会員サービス <" + FROM + ">", text)
            self.assertIn(CONTACT, text)
            self.assertIn("お選びした理由", text)
            self.assertIn("/v1/unsubscribe?token=", html_of(m))
        raw = next(iter(self.sink.maildir)).as_bytes()
        self.assertIn(b"=?UTF-8?B?", raw)  # the subject is RFC 2047 encoded on the wire

    def test_3_deferred_delivered_once_rejected_failed_with_reason(self):
        self.assertEqual(len(self.sink.by_address()[self.defer]), 1)
        self.assertEqual(self.sink.rcpts[self.defer], 2)  # 451, then 250
        rows = {(r["member_id"], r["channel"]): r for r in self.world.recipients(self.run1)}
        self.assertEqual(rows[(self.deferred, "email")]["state"], "sent")
        self.assertEqual(rows[(self.deferred, "email")]["attempts"], 2)
        failed = rows[(self.rejected, "email")]
        self.assertEqual(failed["state"], "failed")
        self.assertIn("550", failed["reason"])
        self.assertEqual(self.sink.rcpts[self.reject], 1)  # a 5xx is not retried
        item = rows[(self.hanako, "email")]["items"][0]
        self.assertEqual(item["offer_id"], self.world.books_offer)
        self.assertIn("books", item["explanation"])
        self.assertNotIn((self.ichiro, "email"), rows)

    def test_4_letters_and_labels(self):
        out = tempfile.mkdtemp(prefix="kizuna-dispatch-pdf-")
        cli = Cli(self.hub)
        cli.run("hub", "dispatch", "letters", self.run1, "--out", f"{out}/letters.pdf",
                "--data", self.hub.data_dir)
        cli.run("hub", "dispatch", "labels", self.run1, "--out", f"{out}/labels.pdf",
                "--data", self.hub.data_dir)
        cli.run("hub", "dispatch", "labels", self.run1, "--out", f"{out}/labels24.pdf",
                "--per-page", "24", "--data", self.hub.data_dir)
        letters = subprocess.run(["pdftotext", f"{out}/letters.pdf", "-"], capture_output=True,
                                 text=True, check=True).stdout
        for needle in ("山田 花子 様", "〒150-0043", "伊藤 長住所 様", "〒060-0001", BOOKS_TITLE,
                       "本の森 駅前店", "お選びした理由"):
            self.assertIn(needle, letters)
        self.assertNotIn("佐藤 太郎", letters)  # no postal consent
        self.assertEqual(pdf_pages(f"{out}/letters.pdf"), 2)
        self.assertEqual(pdf_pages(f"{out}/labels.pdf"), 1)
        labels = subprocess.run(["pdftotext", f"{out}/labels.pdf", "-"], capture_output=True,
                                text=True, check=True).stdout
        self.assertIn("〒150-0043", labels)
        self.assertIn("山田 花子 様", labels)
        # The long address is the second label (member id order may put it first): every word
        # of each label lies inside that label's cell of the 2 x 6 grid.
        for per_page, path in ((12, f"{out}/labels.pdf"), (24, f"{out}/labels24.pdf")):
            words = pdf_words(path)
            self.assertTrue(any("〒060-0001" in w[4] for w in words), words)
            cols, rows = (2, 6) if per_page == 12 else (3, 8)
            width, height = (210 - 16) * MM / cols, (297 - 24) * MM / rows
            for x0, y0, x1, y1, text in words:
                col, row = int((x0 - 8 * MM) // width), int((y0 - 12 * MM) // height)
                cell = (8 * MM + col * width, 12 * MM + row * height)
                self.assertLessEqual(x1, cell[0] + width + 0.5, (per_page, text))
                self.assertLessEqual(y1, cell[1] + height + 0.5, (per_page, text))
            self.assertTrue(any("気付" in w[4] for w in words), (per_page, words))
        shutil.rmtree(out, ignore_errors=True)

    def test_5_unsubscribe_link_and_next_run_skips_the_member(self):
        mail = self.sink.by_address()["hanako@example.jp"][0]
        url = str(mail["List-Unsubscribe"]).strip().strip("<>")
        page = harness.http("GET", url)
        self.assertEqual(page.status, 200)
        self.assertIn('method="post"', page.raw)
        a = harness.http("POST", url, raw=b"List-Unsubscribe=One-Click")
        self.assertEqual(a.status, 200, a)
        self.assertIn("配信を停止しました", a.raw)
        forged = harness.http("POST", url[:-1] + ("0" if url[-1] != "0" else "1"))
        self.assertEqual(forged.status, 404)
        # A new books offer: the books buyers qualify again, except hanako, who left.
        new_offer = self.world.offer(self.world.books, "新刊入荷のお知らせ", ["books"])
        before = self.sink.by_address()
        run2 = self.world.dispatch(["email"])
        done = self.world.wait_done(run2, timeout=60)
        after = self.sink.by_address()
        self.assertEqual(len(after["hanako@example.jp"]), len(before["hanako@example.jp"]))
        self.assertEqual(len(after[self.defer]), len(before[self.defer]) + 1)
        texts = [text_of(m) for m in after[self.defer]]
        new_texts = [t for t in texts if "新刊入荷のお知らせ" in t]
        self.assertEqual(len(new_texts), 1, texts)
        self.assertNotIn(BOOKS_TITLE, new_texts[0])  # never the same offer twice
        self.assertEqual(sum(BOOKS_TITLE in t for t in texts), 1, texts)
        rows = {r["member_id"]: r for r in self.world.recipients(run2)}
        self.assertNotIn(self.hanako, rows)
        self.assertEqual(rows[self.deferred]["items"][0]["offer_id"], new_offer)
        self.assertEqual(len(rows[self.deferred]["items"]), 1)
        # The coffee offer never reached the 550 address, so it is offered again (and fails).
        self.assertEqual(rows[self.rejected]["items"][0]["offer_id"], self.world.coffee_offer)
        self.assertEqual(set(rows), {self.deferred, self.rejected})
        self.assertEqual(done["counts"]["sent"], 1)

    def test_6_dry_run_only_reports_and_cli(self):
        self.world.offer(self.world.coffee, "モーニングセット 100円引き", ["coffee"])
        before = len(self.sink.messages())
        cli = Cli(self.hub)
        started = cli.json("hub", "dispatch", "run", "--dry-run", "--channel", "email",
                           "--data", self.hub.data_dir)
        done = self.world.wait_done(started["dispatch_id"])
        self.assertTrue(done["dry_run"])
        self.assertEqual(done["counts"]["planned"], 2)  # taro and the rejected address
        self.assertEqual(done["counts"]["sent"], 0)
        time.sleep(1)
        self.assertEqual(len(self.sink.messages()), before)
        shown = cli.json("hub", "dispatch", "show", started["dispatch_id"], "--data",
                         self.hub.data_dir)
        self.assertEqual(shown["status"], "done")
        listed = cli.json("hub", "dispatch", "list", "--data", self.hub.data_dir)
        self.assertIn(started["dispatch_id"], [d["dispatch_id"] for d in listed["dispatches"]])
        human = cli.run("hub", "dispatch", "show", started["dispatch_id"], "--data",
                        self.hub.data_dir).stdout
        self.assertIn("planned (dry run)", human)
        # The dry run recorded nothing: a real run now still picks the new coffee offer.
        run = self.world.dispatch(["email"])
        self.assertEqual(self.world.wait_done(run)["counts"]["sent"], 1)  # taro (reject fails)


class CrashMidRun(unittest.TestCase):
    def test_hub_killed_mid_run_resumes_and_mails_nobody_twice(self):
        """Killed -9 while one message is with the SMTP server (its DATA answer held back):
        after the restart that row is `unknown` and never sent again, the rest are sent once."""
        sink = Sink()
        hub = Hub()
        try:
            hub.start(extra_args=serve_args(sink, "--dispatch-rate", "4"))
            w = World(hub, sink)
            members = [w.member(f"会員 {i:02d}", f"m{i:02d}@example.jp", True, False)
                       for i in range(24)]
            # The run sends in member id order: the first member's message is the one held
            # back, so that there is always work left for the restarted hub.
            first = min(range(len(members)), key=lambda i: members[i])
            slow = f"m{first:02d}@example.jp"
            sink.slow.add(slow)
            for m in members:
                w.buy(m, w.books, "books")
            run = w.dispatch(["email"])
            deadline = time.time() + 30
            while sink.rcpts[slow] == 0 and time.time() < deadline:
                time.sleep(0.02)
            time.sleep(0.3)  # the DATA is sent; its answer waits
            hub.kill9()
            got_before = len(sink.messages())
            self.assertLess(got_before, 24)
            hub.start(extra_args=serve_args(sink, "--dispatch-rate", "50"))
            cli = Cli(hub)  # the restarted hub listens on a new port
            p = cli.run("hub", "dispatch", "run", "--dry-run", "--progress", "--data",
                        hub.data_dir)
            self.assertIn("dispatch id", p.stdout)
            self.assertIn("100%", p.stderr)
            done = w.wait_done(run, timeout=60)
            time.sleep(3)  # the held-back message may still land in the maildir
            counts = sink.by_address()
            print(f"\n  killed after {got_before} messages; after the restart: "
                  f"{done['counts']}", file=sys.stderr)
            self.assertTrue(all(n == 1 for n in sink.rcpts.values()), sink.rcpts)
            self.assertEqual(len(sink.rcpts), 24)
            self.assertTrue(all(len(v) == 1 for v in counts.values()),
                            {k: len(v) for k, v in counts.items()})
            self.assertGreater(len(counts), got_before)  # it went on after the restart
            self.assertEqual(done["counts"]["unknown"], 1, done)
            self.assertEqual(done["counts"]["sent"], 23, done)
            rows = {r["member_id"]: r for r in w.recipients(run)}
            unknown = [r for r in rows.values() if r["state"] == "unknown"]
            self.assertEqual(unknown[0]["member_id"], members[first])
            self.assertIn("unknown", unknown[0]["reason"])
        finally:
            hub.stop()
            sink.stop()


class BreakerPause(unittest.TestCase):
    def test_consecutive_failures_pause_the_run_then_it_resumes(self):
        addresses = [f"x{i}@example.jp" for i in range(3)]
        sink = Sink({a: ["550 5.7.1 Refused"] for a in addresses})
        hub = Hub()
        try:
            hub.start(extra_args=serve_args(sink, "--dispatch-breaker", "2",
                                            "--dispatch-pause", "2"))
            w = World(hub, sink)
            for i, address in enumerate(addresses):
                w.buy(w.member(f"拒否 {i}", address, True, False), w.books, "books")
            run = w.dispatch(["email"])
            deadline, seen = time.time() + 30, None
            while time.time() < deadline:
                seen = hub.call("GET", f"/v1/dispatches/{run}", w.op).json
                if seen["status"] == "paused":
                    break
                time.sleep(0.05)
            self.assertEqual(seen["status"], "paused", seen)
            self.assertIn("2 failures in a row", seen["error"])
            self.assertIn("550", seen["error"])
            self.assertEqual(seen["counts"]["failed"], 2)
            self.assertIsNotNone(seen["paused_until"])
            done = w.wait_done(run, timeout=30)  # resumes after the pause, fails the third
            self.assertEqual(done["counts"]["failed"], 3, done)
            self.assertIsNone(done["error"])
        finally:
            hub.stop()
            sink.stop()


def pdf_pages(path):
    info = subprocess.run(["pdfinfo", path], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def pdf_words(path):
    """(xMin, yMin, xMax, yMax, text) of every word, in points from the top left."""
    html = subprocess.run(["pdftotext", "-bbox", path, "-"], capture_output=True, text=True,
                          check=True).stdout
    words = []
    for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                         r'yMax="([\d.]+)">([^<]*)</word>', html):
        words.append((float(m.group(1)), float(m.group(2)), float(m.group(3)),
                      float(m.group(4)), m.group(5)))
    return words


if __name__ == "__main__":
    harness.main()
