#!/usr/bin/env python3
"""End-to-end: `kizuna demo` (what `make demo` runs) starts a store node for the demo's first
physical store beside its hub, prints the node's address, and stops it with the rest.

Checks, through the real binary on loopback: the summary names the node's URL and store; the
node answers as a store node, syncs with the demo hub, and sells through it (the sale is at the
hub); on SIGTERM the demo exits cleanly and the node's port is closed.

Usage: demo_node_test.py --kizuna build/kizuna [unittest args]
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness  # noqa: E402
from harness import http  # noqa: E402


def read_summary(proc, timeout=180):
    """The JSON summary the demo prints once it serves (it spans several lines)."""
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"demo exited with {proc.poll()} before its summary: {text}")
        text += line
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            continue
    raise RuntimeError("no summary in time")


class DemoStoreNode(unittest.TestCase):
    def test_demo_runs_a_store_node_for_its_physical_store(self):
        work = tempfile.mkdtemp(prefix="kizuna-demo-node-")
        self.addCleanup(shutil.rmtree, work, True)
        hub_port, node_port = harness.free_port(), harness.free_port()
        log = open(os.path.join(work, "demo.log"), "w")
        self.addCleanup(log.close)
        proc = subprocess.Popen(
            [harness.KIZUNA, "demo", "--members", "20", "--data", os.path.join(work, "hub"),
             "--listen", f"127.0.0.1:{hub_port}", "--node-listen", f"127.0.0.1:{node_port}",
             "--json"],
            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True)

        def stop():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.addCleanup(stop)
        summary = read_summary(proc)

        node = summary["store_node"]
        self.assertEqual(node["url"], f"http://127.0.0.1:{node_port}")
        store = next(s for s in summary["stores"] if s["store_id"] == node["store_id"])
        self.assertEqual(store["kind"], "physical")
        self.assertEqual(summary["stores"][0]["store_id"], node["store_id"])
        a = http("GET", node["url"] + "/healthz")
        self.assertEqual(a.status, 200, a)
        self.assertEqual(a.json["role"], "store-node")
        a = http("POST", node["url"] + "/v1/node/sync", store["api_key"], {})
        self.assertEqual(a.status, 200, a)
        self.assertTrue(a.json["hub_reachable"])

        # A sale through the node is at the demo hub at once.
        member = summary["members_to_try"][0]
        sale = {"purchase_id": f"p-{uuid.uuid4().hex}", "card_number": member["card_number"],
                "lines": [{"name": "Novel", "category": "books", "quantity": 1,
                           "unit_price": 1200}]}
        a = http("POST", node["url"] + "/v1/purchases", store["api_key"], sale)
        self.assertEqual(a.status, 201, a)
        a = http("GET", f"{summary['url']}/v1/members/{member['member_id']}", store["api_key"])
        self.assertEqual(a.status, 200, a)
        self.assertIn(sale["purchase_id"], [p["purchase_id"] for p in a.json["purchases"]])

        # Stopped with the rest of the demo.
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=30), 0)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", node_port), timeout=2).close()


if __name__ == "__main__":
    harness.main()
