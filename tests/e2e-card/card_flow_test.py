#!/usr/bin/env python3
"""The write-once member card end to end, through the real stack and no mock: `kizuna hub
serve`, pcscd with the vpcd virtual reader, kizuna-card-sim as the card, and the `kizuna` store
terminal commands with --card-reader, as a shop assistant would run them (seed [0029]-[0035]).

enroll writes a blank card -> a sale reads it -> reissue writes a second blank card -> the first
card is refused as revoked -> a card whose record was altered is refused offline -> removing the
card mid-sale gives a clear error and no half-done sale; plus the QR form, a foreign card, a
blank card, an issued card offered for a new enrollment, and a reissue from the member's own
terminal with its card writer.

Needs root (it runs pcscd, one per machine; reused if one already answers). Exit 77 = skipped.
Every process it starts is stopped by its PID.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIPPED = 77
# Our pcscd reads tests/e2e-card/readers (CHANNELID 0x7C7B), a port below the kernel's range for
# outgoing connections' local ports (see that file). The packaged /etc/reader.conf.d/vpcd
# (0x8C7B) is used only when a pcscd this test did not start already runs with it.
OWN_VPCD_PORT = 31867
PACKAGED_VPCD_PORT = 35963
READER = "pcsc:Virtual PCD 00 00"
PCSCD_SOCKET = "/run/pcscd/pcscd.comm"
PASSWORD = "correct horse battery staple\n"


def listening(port):
    """Reads /proc: connecting to vpcd's port would itself insert a card."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        return True
        except OSError:
            pass
    return False


def pcscd_answers():
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(PCSCD_SOCKET)
        return True
    except OSError:
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, predicate, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def stop(proc, grace=5):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Stack:
    def __init__(self, kizuna, sim, readers):
        self.kizuna = kizuna
        self.sim = sim
        self.readers = readers
        self.vpcd_port = None
        self.dir = tempfile.mkdtemp(prefix="kizuna-card-flow-")
        self.started = []  # every process this test started, stopped in reverse order
        self.card = None
        self.env = dict(os.environ)
        self.env.update({"HOME": self.dir, "XDG_CONFIG_HOME": os.path.join(self.dir, "config")})
        for name in ("KIZUNA_API_KEY", "KIZUNA_TOKEN", "KIZUNA_CARD_READER"):
            self.env.pop(name, None)

    def path(self, name):
        return os.path.join(self.dir, name)

    def spawn(self, argv, log):
        proc = subprocess.Popen(argv, stdout=open(self.path(log), "a"), stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=self.env)
        self.started.append(proc)
        return proc

    def start(self):
        own = not pcscd_answers()
        if own:
            self.spawn(["/usr/sbin/pcscd", "--foreground", "--config", self.readers], "pcscd.log")

        def reader_open():
            if not pcscd_answers():
                return False
            ports = [OWN_VPCD_PORT] if own else [OWN_VPCD_PORT, PACKAGED_VPCD_PORT]
            self.vpcd_port = next((p for p in ports if listening(p)), None)
            return self.vpcd_port is not None

        what = "pcscd and its vpcd reader" if own else "the vpcd reader of a pcscd already running"
        wait_until(what, reader_open)
        port = free_port()
        self.hub_url = f"http://127.0.0.1:{port}"
        hub = self.spawn([self.kizuna, "hub", "serve", "--data", self.path("hub"), "--listen",
                          f"127.0.0.1:{port}"], "hub.log")

        def healthy():
            if hub.poll() is not None:
                raise AssertionError("hub exited: " + open(self.path("hub.log")).read()[-2000:])
            try:
                return urllib.request.urlopen(self.hub_url + "/healthz", timeout=2).status == 200
            except OSError:
                return False

        wait_until("the hub", healthy, timeout=30)
        self.env["KIZUNA_HUB"] = self.hub_url
        store = self.json("hub", "stores", "add", "駅前書店 渋谷店", "--data", self.path("hub"))
        self.env["KIZUNA_API_KEY"] = store["api_key"]
        self.wait_empty()

    def close(self):
        for proc in reversed(self.started):
            stop(proc)
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- the kizuna command ------------------------------------------------------------------
    def run(self, *args, stdin=None):
        return subprocess.run([self.kizuna, *args], input=stdin, capture_output=True, text=True,
                              env=self.env, timeout=60)

    def json(self, *args, stdin=None):
        p = self.run(*args, "--json", stdin=stdin)
        assert p.returncode == 0, f"kizuna {args} exited {p.returncode}: {p.stderr}{p.stdout}"
        return json.loads(p.stdout)

    def refused(self, *args, code, words, stdin=None):
        p = self.run(*args, stdin=stdin)
        assert p.returncode == code, f"kizuna {args}: exit {p.returncode}, not {code}: {p.stderr}"
        assert words in p.stderr, f"kizuna {args}: {words!r} not in {p.stderr!r}"

    def balance(self, member_id):
        balances = self.json("pos", "lookup", member_id)["balances"]
        return sum(b["points"] for b in balances)

    # --- cards -------------------------------------------------------------------------------
    def blank(self, name, *extra):
        subprocess.run([self.sim, "format", self.path(name), *extra], check=True,
                       capture_output=True)
        return self.path(name)

    def insert(self, image, *extra):
        assert self.card is None, "a card is already in the reader"
        self.card = self.spawn([self.sim, "insert", image, "--vpcd", f"127.0.0.1:{self.vpcd_port}",
                                *extra], "sim.log")
        p = self.run("card", "wait", "--card-reader", READER, "--timeout", "10")
        assert p.returncode == 0, p.stderr

    def remove(self):
        stop(self.card)
        self.card = None
        self.wait_empty()

    def wait_empty(self):
        p = self.run("card", "wait", "--absent", "--card-reader", READER, "--timeout", "10")
        assert p.returncode == 0, p.stderr

    def pulled_out(self):
        """After a card pulled itself out mid-exchange (--remove-after-apdus)."""
        self.card.wait(timeout=5)
        self.card = None
        self.wait_empty()
        # vpcd reports that slot empty at once, before pcscd's own 400 ms presence poll has
        # seen it; a card inserted before that poll would go unnoticed.
        time.sleep(1)


def altered_signature(image_text):
    """The image with one bit of its first record's signature flipped."""
    lines = image_text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("record "):
            last = int(line[-1], 16) ^ 0x1
            lines[i] = line[:-1] + format(last, "X")
            return "\n".join(lines) + "\n"
    raise AssertionError("no record on the card")


def flow(s):
    sale = ("pos", "sale", "--item", "緑茶,drinks,1500")

    # Enrollment writes the new member's card onto a blank card.
    first = s.blank("first.img")
    s.insert(first)
    enrolled = s.json("pos", "enroll", "--name", "山田 花子", "--email", "hanako@example.jp",
                      "--password-stdin", "--card-reader", READER, stdin=PASSWORD)
    member = enrolled["member_id"]
    card1 = enrolled["card"]
    read = s.json("card", "read", "--card-reader", READER)
    assert read["record"] == card1["record"] and read["verified"] is True, read
    assert read["card"]["member_id"] == member, read

    # A sale reads the card.
    bought = s.json(*sale, "--card-reader", READER)
    assert bought["points_earned"] == 15 and bought["balance"] == 15, bought

    # An issued card is never issued again: refused before the hub is asked.
    s.refused("pos", "enroll", "--name", "佐藤 一郎", "--email", "ichiro@example.jp",
              "--password-stdin", "--card-reader", READER, stdin=PASSWORD, code=1,
              words="write-once")
    found = s.json("pos", "search", "--email", "ichiro@example.jp")
    assert not found.get("members", found.get("matches")), found
    s.remove()

    # Reissue writes a second blank card; the balance stays with the member.
    second = s.blank("second.img")
    s.insert(second)
    reissued = s.json("pos", "reissue", member, "--password-stdin", "--card-reader", READER,
                      stdin=PASSWORD)
    card2 = reissued["card"]
    assert card2["generation"] == 2 and card2["card_number"] != card1["card_number"], reissued
    assert s.json("card", "read", "--card-reader", READER)["record"] == card2["record"]
    s.remove()

    # The first card is genuine but revoked: the hub refuses it.
    s.insert(first)
    s.refused(*sale, "--card-reader", READER, code=1, words="card_revoked")
    s.remove()
    assert s.balance(member) == 15

    # A card whose record was altered is refused offline, before the hub is asked.
    altered = s.path("altered.img")
    with open(second) as f, open(altered, "w") as out:
        out.write(altered_signature(f.read()))
    s.insert(altered)
    s.refused(*sale, "--card-reader", READER, code=1, words="signature does not verify")
    s.remove()
    assert s.balance(member) == 15

    # Pulled out in the middle of the sale: a clear error, nothing sold.
    s.insert(second, "--remove-after-apdus", "1")
    s.refused(*sale, "--card-reader", READER, code=3, words="removed")
    s.pulled_out()
    assert s.balance(member) == 15

    # Put back, the second card works: sale, redemption and lookup by card.
    s.insert(second)
    assert s.json(*sale, "--card-reader", READER)["balance"] == 30
    assert s.json("pos", "redeem", "--points", "10", "--card-reader", READER)["balance"] == 20
    assert s.json("pos", "lookup", "--card-reader", READER)["member_id"] == member
    s.remove()

    # A bank card (another application) and a blank card where an issued one is expected.
    s.insert(s.blank("foreign.img", "--foreign"))
    s.refused(*sale, "--card-reader", READER, code=1, words="not a Kizuna card")
    s.remove()
    s.insert(s.blank("blank.img"))
    s.refused(*sale, "--card-reader", READER, code=1, words="blank")
    s.remove()

    # The QR form: PNG decodes (zbarimg) to the same record, which the till accepts as a card.
    png, svg, pdf = s.path("card.png"), s.path("card.svg"), s.path("card.pdf")
    s.json("member", "card", "--record", card2["record"], "--name", "山田 花子", "--png", png,
           "--svg", svg, "--pdf", pdf)
    scanned = subprocess.run(["zbarimg", "--quiet", "--raw", png], capture_output=True,
                             text=True).stdout.strip()
    assert scanned == card2["record"], scanned
    assert s.json(*sale, "--card", scanned)["balance"] == 35
    forged = card2["record"][:-2] + ("AA" if not card2["record"].endswith("AA") else "BA")
    s.refused(*sale, "--card", forged, code=1, words="card refused")
    with open(pdf, "rb") as f:
        assert f.read(5) == b"%PDF-"

    # The member's own terminal with a card writer (seed [0035]): reissue onto a third card.
    s.json("member", "login", "--login", member, "--password-stdin", stdin=PASSWORD)
    s.insert(s.blank("third.img"))
    card3 = s.json("member", "reissue", "--password-stdin", "--card-reader", READER,
                   stdin=PASSWORD)["card"]
    assert card3["generation"] == 3, card3
    assert s.json(*sale, "--card-reader", READER)["balance"] == 50
    s.remove()
    s.refused(*sale, "--card", scanned, code=1, words="card_revoked")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kizuna", required=True)
    parser.add_argument("--sim", required=True)
    parser.add_argument("--readers", required=True, help="reader configuration for our pcscd")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("skipped: needs root to run pcscd (CI runs as root)")
        return SKIPPED
    for need in ("/usr/sbin/pcscd", "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"):
        if not os.path.exists(need):
            print(f"skipped: {need} is missing (scripts/bootstrap test)")
            return SKIPPED
    if shutil.which("zbarimg") is None:
        print("skipped: zbarimg is missing (scripts/bootstrap test)")
        return SKIPPED
    started = time.time()
    stack = Stack(args.kizuna, args.sim, args.readers)
    try:
        stack.start()
        flow(stack)
    finally:
        stack.close()
    print(f"card flow passed in {time.time() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
