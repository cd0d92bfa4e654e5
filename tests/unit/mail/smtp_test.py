#!/usr/bin/python3
"""Sends through SmtpSender (the mail_send tool) to a real local SMTP server, Debian's
python3-aiosmtpd on 127.0.0.1, which writes each message to a maildir; every delivered message
is parsed back with Python's email package.

  smtp_test.py MAIL_SEND                 the checks (ctest: mail_smtp_test)
  smtp_test.py MAIL_SEND --bench COUNT [CONNECTIONS]   messages per second for COUNT messages
"""
import email
import email.policy
import mailbox
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

SUBJECT_PREFIX = "【絆】秋の読書フェア：文庫本ポイント2倍のお知らせ（"


class Handler:
    """Stores each message in a maildir; refuses per `mode`:
    ok, rcpt451:N (first N RCPTs get 451), data451:N (first N DATAs get 451), rcpt550."""

    def __init__(self, maildir, mode):
        self.maildir = mailbox.Maildir(maildir, create=True)
        self.mode, _, n = mode.partition(":")
        self.left = int(n) if n else 0
        self.received = []  # the DATA as it came over the wire
        self.sessions = 0  # EHLOs: one per SMTP connection

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.mode == "rcpt550":
            return "550 5.1.1 No such user here"
        if self.mode == "rcpt451" and self.left > 0:
            self.left -= 1
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.mode == "data451" and self.left > 0:
            self.left -= 1
            return "451 4.3.0 Queue full, try again later"
        self.maildir.add(envelope.content)
        self.received.append(envelope.content)
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Credentials:
    """AUTH PLAIN/LOGIN against one user and password; remembers every attempt."""

    def __init__(self, user, password):
        self.expected = (user.encode(), password.encode())
        self.attempts = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        self.attempts.append((auth_data.login, auth_data.password, session.ssl is not None))
        # handled=False: aiosmtpd itself answers 535 on failure.
        return AuthResult(success=(auth_data.login, auth_data.password) == self.expected,
                          handled=False)


def run(mail_send, mode, count, *args, scheme="smtp", env=None, **server):
    """Runs mail_send against a fresh server; `server` goes to aiosmtpd's Controller (TLS,
    AUTH). Returns mail_send's output lines and the messages received."""
    with tempfile.TemporaryDirectory() as tmp:
        handler = Handler(tmp + "/maildir", mode)
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **server)
        controller.start()
        try:
            out = subprocess.run(
                [mail_send, f"{scheme}://127.0.0.1:{controller.port}", str(count), *args],
                check=True, capture_output=True, text=True, timeout=600,
                env={**os.environ, **(env or {})}).stdout
        finally:
            controller.stop()
        check(len(handler.maildir) == len(handler.received), "the maildir holds what came")
    run.sessions = handler.sessions
    return out.splitlines(), handler.received


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def check_message(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    subject = str(msg["Subject"])
    check(subject.startswith(SUBJECT_PREFIX), f"subject decodes to the Japanese text: {subject!r}")
    check(msg["From"].addresses[0].display_name == "絆ポイント事務局", f"From: {msg['From']}")
    check(msg["To"].addresses[0].display_name.startswith("山田 太郎"), f"To: {msg['To']}")
    check(msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith("@kizuna.example>"),
          f"Message-ID: {msg['Message-ID']}")
    check(msg["Date"].datetime is not None, "Date parses")
    check(msg["List-Unsubscribe"].startswith("<https://kizuna.example/u/"), "List-Unsubscribe")
    check(msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click", "List-Unsubscribe-Post")
    check(msg.get_content_type() == "multipart/alternative", msg.get_content_type())
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    check("文庫本が全品ポイント2倍" in text and "配信停止: https://kizuna.example/u/" in text,
          "plain part with the opt-out contact")
    check("<b>文庫本が全品ポイント2倍</b>" in html, "html part")
    check(all(len(line) <= 998 for line in raw.split(b"\r\n")), "lines within 998 octets")
    check(b"\n" not in raw.replace(b"\r\n", b""), "CRLF line endings only")


def main():
    mail_send = sys.argv[1]
    if len(sys.argv) > 3 and sys.argv[2] == "--bench":
        count = int(sys.argv[3])
        connections = sys.argv[4] if len(sys.argv) > 4 else "1"
        started = time.monotonic()
        out, messages = run(mail_send, "ok", count, "--connections", connections)
        print(out[-1], f"| maildir holds {len(messages)}",
              f"| wall {time.monotonic() - started:.1f}s incl. server start/stop")
        check(len(messages) == count, "every message delivered")
        return

    out, messages = run(mail_send, "ok", 20)
    check(out == [out[-1]] and out[-1].startswith("sent 20 failed 0"), out)
    check(len(messages) == 20, f"20 messages in the maildir, got {len(messages)}")
    for raw in messages:
        check_message(raw)
    check(run.sessions == 1, f"one SMTP connection for all 20, got {run.sessions}")
    print("ok: 20 messages delivered over one connection and parsed")

    for mode in ("rcpt451:1", "data451:1"):
        out, messages = run(mail_send, mode, 1, "--retries", "3")
        check(out[0].startswith("temporary 451 451 4.3.0"), f"{mode}: first attempt {out}")
        check(out[-1].startswith("sent 1 failed 0"), f"{mode}: the retry delivers {out}")
        check(len(messages) == 1, f"{mode}: exactly one message, got {len(messages)}")
        check_message(messages[0])
        print(f"ok: {mode} then 250 delivered once")

    out, messages = run(mail_send, "rcpt451:5", 1, "--retries", "0")
    check(out[0].startswith("temporary 451") and out[-1].startswith("sent 0 failed 1"), out)
    check(not messages, "nothing delivered while the server defers")

    out, messages = run(mail_send, "ok", 30, "--connections", "3")
    check(out == [out[-1]] and out[-1].startswith("sent 30 failed 0"), out)
    check(len(messages) == 30 and run.sessions == 3, f"30 over 3 connections: {run.sessions}")
    for raw in messages:
        check_message(raw)

    out, messages = run(mail_send, "rcpt550", 2, "--retries", "3")
    check(out[0] == "permanent 550 550 5.1.1 No such user here", f"550 reason: {out}")
    check(out[-1].startswith("sent 0 failed 2") and len(out) == 3, f"550 never retried: {out}")
    check(not messages, "nothing delivered on 550")
    print("ok: 550 is permanent with the server's reason")

    # Nobody listening: a temporary failure, with libcurl's reason.
    out = subprocess.run([mail_send, f"smtp://127.0.0.1:{free_port()}", "1"], check=True,
                         capture_output=True, text=True, timeout=60).stdout.splitlines()
    check(out[0].startswith("temporary 0 ") and "onnect" in out[0], f"connection refused: {out}")
    check(out[-1].startswith("sent 0 failed 1"), out)
    print("ok: no server is a temporary failure")

    check_tls_and_auth(mail_send)


def check_tls_and_auth(mail_send):
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = tmp + "/cert.pem", tmp + "/key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        password = {"KIZUNA_SMTP_PASSWORD": "秘密-pass"}
        login = ("--user", "shop", "--ca-file", cert)

        # smtp:// with a user: STARTTLS first, then AUTH inside TLS.
        creds = Credentials("shop", "秘密-pass")
        out, messages = run(mail_send, "ok", 3, *login, env=password, tls_context=context,
                            require_starttls=True, authenticator=creds, auth_require_tls=True)
        check(out[-1].startswith("sent 3 failed 0") and len(messages) == 3, f"STARTTLS: {out}")
        check(creds.attempts and all(tls for _, _, tls in creds.attempts), "AUTH only inside TLS")
        print("ok: STARTTLS + AUTH delivered 3")

        # smtps://: TLS from the first byte.
        creds = Credentials("shop", "秘密-pass")
        out, messages = run(mail_send, "ok", 2, *login, scheme="smtps", env=password,
                            ssl_context=context, authenticator=creds, auth_require_tls=False)
        check(out[-1].startswith("sent 2 failed 0") and len(messages) == 2, f"smtps: {out}")
        check_message(messages[0])
        print("ok: smtps (implicit TLS) + AUTH delivered 2")

        # A wrong password is refused with the server's 535 and never delivers.
        creds = Credentials("shop", "other")
        out, messages = run(mail_send, "ok", 1, *login, env=password, tls_context=context,
                            require_starttls=True, authenticator=creds, auth_require_tls=True)
        check(out[0].startswith("permanent 535") and not messages, f"wrong password: {out}")

        # A server without STARTTLS never sees the password.
        creds = Credentials("shop", "秘密-pass")
        out, messages = run(mail_send, "ok", 1, *login, env=password, authenticator=creds,
                            auth_require_tls=False)
        check(out[0].startswith("temporary") and not messages and not creds.attempts,
              f"no TLS, no AUTH: {out} {creds.attempts}")
        print("ok: wrong password refused; no password without TLS")


if __name__ == "__main__":
    main()
