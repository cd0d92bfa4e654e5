#!/usr/bin/env python3
"""End-to-end: a store node killed -9 while it takes offline sales from many tills at once.

The hub is down; 8 clients sell through the node concurrently (so its writer batches them into
shared commits) and the node is killed -9 with requests in flight. Restarted, the node must
still hold every sale it answered 202 (its outbox, and its answer: a retry gets 200 with the
same body), and once the hub is back each of those sales must be at the hub exactly once; a
sale that was in flight at the kill may be there or not, never twice.

Usage: node_crash_test.py --kizuna build/kizuna [unittest args]
"""

import http.client
import json
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness  # noqa: E402
from harness import Hub  # noqa: E402
from store_node_test import PASSWORD, FaultProxy, Node, sale  # noqa: E402

CLIENTS = 8


class NodeCrash(unittest.TestCase):
    def setUp(self):
        self.hub = Hub().start()
        self.addCleanup(self.hub.stop)
        self.store = self.hub.create_store("Ekimae Books", "physical")
        self.proxy = FaultProxy(self.hub.port)
        self.addCleanup(self.proxy.stop)
        self.node = Node(self.proxy.url, self.store["api_key"],
                         extra_args=["--sync-interval", "300ms"])
        self.addCleanup(self.node.stop)
        self.node.start()
        self.node.sync_until_drained()

    def sell_until_killed(self, card, seconds):
        """CLIENTS threads sell on keep-alive connections; the node is killed -9 after
        `seconds`. Returns (ids answered 202 with their answers, every id sent)."""
        acked, sent = {}, set()
        lock = threading.Lock()
        headers = {"Authorization": f"Bearer {self.store['api_key']}",
                   "Content-Type": "application/json"}

        def client(i):
            conn = http.client.HTTPConnection("127.0.0.1", self.node.port, timeout=30)
            n = 0
            while True:
                n += 1
                body = sale(card, 100 * (n % 9 + 1), purchase_id=f"k-{i}-{n}")
                with lock:
                    sent.add(body["purchase_id"])
                try:
                    conn.request("POST", "/v1/purchases", json.dumps(body), headers)
                    response = conn.getresponse()
                    answer = response.read()
                except (OSError, http.client.HTTPException):
                    return  # the node is gone
                self.assertEqual(response.status, 202, answer)
                with lock:
                    acked[body["purchase_id"]] = (body, json.loads(answer))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(seconds)
        self.node.kill9()
        for t in threads:
            t.join(timeout=60)
        return acked, sent

    def test_offline_sales_answered_202_survive_kill9_of_the_node(self):
        a = self.node.call("POST", "/v1/members", {
            "password": PASSWORD, "profile": {"name": "Kimura Sora", "email": "sora@example.jp"}})
        self.assertEqual(a.status, 201, a)
        member, card = a.json["member_id"], a.json["card"]["card_number"]

        self.hub.kill9()
        acked, sent = self.sell_until_killed(card, 3.0)
        self.assertGreater(len(acked), 100, "too few sales before the kill to test anything")

        # Restarted, still offline: every sale answered 202 is in the outbox, and its answer is
        # kept (a till that retries gets the first answer again).
        self.node.start()
        pending = self.node.status()["outbox_pending"]
        self.assertGreaterEqual(pending, len(acked))
        self.assertLessEqual(pending, len(sent))
        for purchase_id in sorted(acked)[:: max(1, len(acked) // 20)]:
            body, first = acked[purchase_id]
            again = self.node.call("POST", "/v1/purchases", body)
            self.assertEqual(again.status, 200, again)
            self.assertEqual(again.json["points_earned"], first["points_earned"])
            self.assertTrue(again.json["replayed"])

        # Back: each acknowledged sale at the hub exactly once.
        self.hub.start()
        self.proxy.upstream_port = self.hub.port
        self.node.sync_until_drained(timeout=300)
        token = self.hub.call("POST", "/v1/sessions",
                              body={"login": member, "password": PASSWORD}).json["token"]
        usage = harness.usage_all(self.hub, token, member)
        seen = [p["purchase_id"] for p in usage["purchases"]]
        self.assertEqual(len(seen), len(set(seen)), "a purchase twice at the hub")
        self.assertTrue(set(acked) <= set(seen),
                        f"{len(set(acked) - set(seen))} acknowledged sales missing at the hub")
        self.assertTrue(set(seen) <= sent, "a purchase at the hub that no till sent")
        self.assertEqual(len(seen), pending)
        ok, why = harness.ledger_consistent(self.hub, token, member)
        self.assertTrue(ok, why)


if __name__ == "__main__":
    harness.main()
