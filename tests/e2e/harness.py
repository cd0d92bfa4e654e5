"""Black-box harness: runs the real `kizuna` binary on loopback and talks to it as a user would.

Nothing here knows Kizuna's internals: it starts `kizuna hub serve`, calls the HTTP API with
urllib and runs CLI commands with subprocess. Every process it starts is stopped by its PID.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

KIZUNA = os.environ.get("KIZUNA_BIN", "")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpAnswer:
    def __init__(self, status, body, headers):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    @property
    def error_code(self):
        return (self.json or {}).get("error", {}).get("code")

    def __repr__(self):
        return f"HTTP {self.status} {self.raw[:400]!r}"


def http(method, url, token=None, body=None, raw=None, timeout=30, headers=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return HttpAnswer(resp.status, resp.read().decode(), dict(resp.headers))
    except urllib.error.HTTPError as e:
        return HttpAnswer(e.code, e.read().decode(), dict(e.headers))


class Hub:
    """A `kizuna hub serve` process on a loopback port with its own data directory."""

    def __init__(self, data_dir=None):
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="kizuna-e2e-")
        self.port = None
        self.proc = None
        self.log_path = os.path.join(self.data_dir, "hub.log")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def operator_token(self):
        with open(os.path.join(self.data_dir, "operator.token")) as f:
            return f.read().strip()

    def start(self, timeout=30, rlimit_nofile=None, extra_args=()):
        """rlimit_nofile: (soft, hard) open-file limits for the hub process; extra_args: more
        `kizuna hub serve` options."""
        self.port = free_port()
        log = open(self.log_path, "a")
        preexec = None
        if rlimit_nofile:
            import resource

            def preexec():
                resource.setrlimit(resource.RLIMIT_NOFILE, rlimit_nofile)
        self.proc = subprocess.Popen(
            [KIZUNA, "hub", "serve", "--data", self.data_dir, "--listen",
             f"127.0.0.1:{self.port}", *extra_args],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=preexec)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited with {self.proc.returncode}: {self.log()}")
            try:
                if http("GET", self.url + "/healthz", timeout=2).status == 200:
                    return self
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"hub did not become healthy: {self.log()}")

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

    # --- API helpers -----------------------------------------------------------------------
    def call(self, method, path, token=None, body=None, raw=None):
        return http(method, self.url + path, token=token, body=body, raw=raw)

    def create_program(self, name):
        a = self.call("POST", "/v1/programs", self.operator_token, {"name": name})
        assert a.status == 201, a
        return a.json["program_id"]

    def create_store(self, name, kind="physical", program_id=None):
        a = self.call("POST", "/v1/stores", self.operator_token,
                      {"name": name, "kind": kind, "program_id": program_id})
        assert a.status == 201, a
        return a.json


class Cli:
    """Runs `kizuna` commands with a private HOME so config and session files stay apart."""

    def __init__(self, hub, api_key=None):
        self.home = tempfile.mkdtemp(prefix="kizuna-cli-")
        self.env = dict(os.environ)
        self.env.update({"HOME": self.home, "XDG_CONFIG_HOME": os.path.join(self.home, ".config"),
                         "KIZUNA_HUB": hub.url})
        self.env.pop("KIZUNA_API_KEY", None)
        self.env.pop("KIZUNA_TOKEN", None)
        if api_key:
            self.env["KIZUNA_API_KEY"] = api_key

    def run(self, *args, stdin=None, check=True, env=None):
        e = dict(self.env)
        e.update(env or {})
        p = subprocess.run([KIZUNA, *args], input=stdin, capture_output=True, text=True, env=e,
                           timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(
                f"kizuna {' '.join(args)} exited {p.returncode}\nstdout: {p.stdout}\n"
                f"stderr: {p.stderr}")
        return p

    def json(self, *args, stdin=None):
        p = self.run(*args, "--json", stdin=stdin)
        return json.loads(p.stdout)


def mails_to(hub, address):
    """The text of the mails the hub queued for `address` in DIR/mail-outbox (one JSON file per
    message: to, subject, text, created_at) and not yet delivered, oldest first."""
    spool = os.path.join(hub.data_dir, "mail-outbox")
    mails = []
    for name in sorted(os.listdir(spool)) if os.path.isdir(spool) else []:
        if not name.endswith(".json"):
            continue
        with open(os.path.join(spool, name), encoding="utf-8") as f:
            mail = json.load(f)
        if mail["to"] == address:
            mails.append(mail["text"])
    return mails


def token_in(text):
    """The token of an enrollment confirmation mail's text, or None."""
    marker = "--token "
    if marker not in text:
        return None
    return text.split(marker, 1)[1].split()[0]


def confirmation_token(hub, address):
    """The token of the newest enrollment confirmation mailed to `address`."""
    for text in reversed(mails_to(hub, address)):
        token = token_in(text)
        if token:
            return token
    raise AssertionError(f"no confirmation mailed to {address}")


def usage_all(hub, token, member_id):
    """A member's whole usage: the pages of GET /v1/members/{id}/usage followed and joined."""
    joined, cursor = None, None
    while True:
        path = f"/v1/members/{member_id}/usage?limit=100"
        if cursor:
            path += "&cursor=" + urllib.parse.quote(cursor, safe="")
        a = hub.call("GET", path, token)
        assert a.status == 200, a
        if joined is None:
            joined = dict(a.json)
        else:
            joined["purchases"] += a.json["purchases"]
            joined["entries"] += a.json["entries"]
        cursor = a.json.get("next_cursor")
        if not cursor:
            joined.pop("next_cursor", None)
            return joined


def ledger_consistent(hub, member_token, member_id):
    """Invariant 1 seen from outside: each balance equals the sum of that program's entries."""
    usage = usage_all(hub, member_token, member_id)
    sums = {}
    for e in usage["entries"]:
        sums[e["program_id"]] = sums.get(e["program_id"], 0) + e["delta"]
    for b in usage["balances"]:
        if b["points"] != sums.get(b["program_id"], 0):
            return False, f"program {b['program_id']}: balance {b['points']} != entries {sums}"
        if b["points"] < 0:
            return False, f"negative balance {b}"
    return True, ""


def main():
    """Every e2e test file's entry point: `--kizuna PATH` (the binary under test), then the rest
    for unittest (a test name, -k ...), verbose."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--kizuna", required=True)
    args, rest = parser.parse_known_args()
    global KIZUNA
    KIZUNA = os.path.abspath(args.kizuna)
    os.environ.setdefault("TMPDIR", tempfile.gettempdir())
    unittest.main(argv=[sys.argv[0], "-v", *rest])
