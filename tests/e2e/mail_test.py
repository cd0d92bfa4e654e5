#!/usr/bin/python3
"""Member mail delivered over SMTP by the real `kizuna hub serve --smtp`, to a real local SMTP
server (Debian's python3-aiosmtpd on 127.0.0.1 writing a maildir, as in
tests/unit/mail/smtp_test.py): self-service enrollment confirmed with the token from the mail
that arrived, the "already a member" mail, 451 then 250 delivered exactly once, 550 given up
with the server's reason, and mail spooled while no SMTP server was configured delivered after
a restart with one.

Usage: mail_test.py --kizuna build/kizuna [unittest args]
"""

import email
import email.policy
import mailbox
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from aiosmtpd.controller import Controller

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Hub  # noqa: E402

PASSWORD = "correct horse 42"
FROM = "hub@example.jp"


class Sink:
    """An SMTP server storing each message in a maildir; refuses per `mode`: ok, rcpt451:N (the
    first N RCPTs get 451), rcpt550 (every RCPT gets 550)."""

    def __init__(self, mode="ok"):
        self.dir = tempfile.mkdtemp(prefix="kizuna-maildir-")
        self.maildir = mailbox.Maildir(os.path.join(self.dir, "maildir"), create=True)
        self.mode, _, n = mode.partition(":")
        self.left = int(n) if n else 0
        self.rcpts = 0  # RCPT commands seen, refused ones included
        self.controller = Controller(self, hostname="127.0.0.1", port=harness.free_port())
        self.controller.start()

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.controller.port}"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpts += 1
        if self.mode == "rcpt550":
            return "550 5.1.1 No such user here"
        if self.mode == "rcpt451" and self.left > 0:
            self.left -= 1
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.maildir.add(envelope.content)
        return "250 Message accepted for delivery"

    def messages(self):
        return [email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
                for m in self.maildir]

    def wait_for(self, count, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.maildir) >= count:
                return self.messages()
            time.sleep(0.1)
        raise AssertionError(f"{count} messages expected, the maildir has {len(self.maildir)}")

    def stop(self):
        self.controller.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def spool_files(hub, sub=""):
    path = os.path.join(hub.data_dir, "mail-outbox", sub)
    return sorted(n for n in os.listdir(path) if os.path.isfile(os.path.join(path, n))) \
        if os.path.isdir(path) else []


def wait_until(condition, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class MailDelivery(unittest.TestCase):
    def setUp(self):
        self.sinks, self.hubs = [], []

    def tearDown(self):
        for hub in self.hubs:
            hub.stop()
        for sink in self.sinks:
            sink.stop()

    def sink(self, mode="ok"):
        sink = Sink(mode)
        self.sinks.append(sink)
        return sink

    def hub(self, sink=None, data_dir=None):
        args = ("--smtp", sink.url, "--mail-from", FROM, "--mail-retry-base", "1") if sink else ()
        hub = Hub(data_dir).start(extra_args=args)
        self.hubs.append(hub)
        return hub

    def enroll(self, hub, address):
        a = hub.call("POST", "/v1/members", None,
                     {"password": PASSWORD, "profile": {"name": "山田 花子", "email": address}})
        self.assertEqual(a.status, 202, a)

    def test_enrollment_is_confirmed_with_the_token_from_the_delivered_mail(self):
        sink = self.sink()
        hub = self.hub(sink)
        self.enroll(hub, "hanako@example.jp")
        [msg] = sink.wait_for(1)
        self.assertEqual(msg["To"].addresses[0].addr_spec, "hanako@example.jp")
        self.assertEqual(msg["From"].addresses[0].addr_spec, FROM)
        self.assertEqual(str(msg["Subject"]), "Confirm your Kizuna enrollment")
        self.assertIsNotNone(msg["Date"].datetime)
        self.assertTrue(msg["Message-ID"].endswith("@example.jp>"), msg["Message-ID"])
        text = msg.get_body(preferencelist=("plain",)).get_content()
        token = harness.token_in(text)
        self.assertTrue(token, text)

        a = hub.call("POST", "/v1/members/confirmations", None, {"token": token})
        self.assertEqual(a.status, 201, a)
        self.assertTrue(a.json["member_id"], a)
        self.assertRegex(a.json["card"]["card_number"], r"^\d{16}$")
        member_id = a.json["member_id"]

        # The same address again: the same answer, and the mail tells the member.
        self.enroll(hub, "hanako@example.jp")
        messages = sink.wait_for(2)
        again = [m for m in messages if m["Message-ID"] != msg["Message-ID"]]
        self.assertEqual(len(again), 1)
        text = again[0].get_body(preferencelist=("plain",)).get_content()
        self.assertIn("already has a membership", text)
        self.assertIn(member_id, text)
        self.assertIsNone(harness.token_in(text))

        wait_until(lambda: len(spool_files(hub, "sent")) == 2, "both files in sent/")
        self.assertEqual(spool_files(hub), [])
        self.assertIn(f"member mail from {FROM} is delivered through {sink.url}", hub.log())
        # SIGTERM stops the delivery thread with the rest of the hub.
        started = time.time()
        hub.stop()
        self.assertEqual(hub.proc.returncode, 0, hub.log())
        self.assertLess(time.time() - started, 10)

    def test_a_deferred_mail_is_delivered_exactly_once(self):
        sink = self.sink("rcpt451:1")
        hub = self.hub(sink)
        self.enroll(hub, "aki@example.jp")
        [msg] = sink.wait_for(1)
        self.assertEqual(sink.rcpts, 2, "refused once, then accepted")
        wait_until(lambda: len(spool_files(hub, "sent")) == 1, "the file in sent/")
        time.sleep(2.5)  # past two more retry periods: nothing is sent again
        self.assertEqual(len(sink.maildir), 1)
        self.assertEqual(sink.rcpts, 2)
        self.assertEqual(spool_files(hub), [])
        self.assertIn("451 4.3.0", hub.log())

    def test_a_refused_recipient_is_given_up_with_the_servers_reason(self):
        sink = self.sink("rcpt550")
        hub = self.hub(sink)
        self.enroll(hub, "nobody@example.jp")
        wait_until(lambda: len(spool_files(hub, "failed")) == 2, "the file and its reason")
        name, reason = spool_files(hub, "failed")
        self.assertEqual(reason, name + ".reason")
        with open(os.path.join(hub.data_dir, "mail-outbox", "failed", reason)) as f:
            self.assertIn("550 5.1.1 No such user here", f.read())
        self.assertEqual(spool_files(hub), [])
        self.assertEqual(len(sink.maildir), 0)
        time.sleep(1.5)
        self.assertEqual(sink.rcpts, 1, "never retried")

    def test_mail_spooled_without_smtp_is_delivered_after_a_restart_with_it(self):
        hub = self.hub()
        self.assertIn("no --smtp: member mail", hub.log())
        self.enroll(hub, "ken@example.jp")
        self.assertEqual(len(harness.mails_to(hub, "ken@example.jp")), 1)
        hub.stop()
        sink = self.sink()
        hub = self.hub(sink, data_dir=hub.data_dir)
        [msg] = sink.wait_for(1)
        self.assertEqual(msg["To"].addresses[0].addr_spec, "ken@example.jp")
        wait_until(lambda: len(spool_files(hub, "sent")) == 1, "the file in sent/")
        self.assertEqual(harness.mails_to(hub, "ken@example.jp"), [])

    def test_smtp_without_a_plain_sender_address_is_a_usage_error(self):
        for extra in ([], ["--mail-from", "Kizuna <hub@example.jp>"]):
            data = tempfile.mkdtemp(prefix="kizuna-e2e-")
            p = subprocess.run([harness.KIZUNA, "hub", "serve", "--data", data, "--listen",
                                "127.0.0.1:0", "--smtp", "smtp://127.0.0.1:25", *extra],
                               capture_output=True, text=True, timeout=30)
            shutil.rmtree(data, ignore_errors=True)
            self.assertEqual(p.returncode, 2, p)
            self.assertIn("--mail-from", p.stderr)


if __name__ == "__main__":
    harness.main()
