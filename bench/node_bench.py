#!/usr/bin/env python3
"""Store node figures (issue 16), through the real binaries on loopback; not part of `make test`.

  1. offline purchases/s, durable: the hub is stopped; C clients sell through the node for D s
     (each answer 202 means the sale is in the node's synced outbox);
  2. backlog drain: N purchases queued offline, the hub started, the time until the node's outbox
     is empty (POST /v1/node/sync in a loop; the node also syncs on its timer);
  3. forwarding latency: the hub up, C clients sell through the node for D s: p50/p99 of the
     node's answer, and the same load sent to the hub directly for comparison.

Usage: bench/node_bench.py --kizuna build/kizuna [--clients 8] [--seconds 10] [--backlog 100000]
"""

import argparse
import http.client
import json
import os
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "e2e-node"))
import harness  # noqa: E402
from harness import Hub  # noqa: E402
from store_node_test import Node  # noqa: E402


def sell(port, token, card, seconds=None, count=None, expect=(201, 202)):
    """Sells on one keep-alive connection until `seconds` pass or `count` sales are made;
    returns the latencies (s) of the answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies = []
    deadline = time.time() + seconds if seconds else None
    while (deadline is None or time.time() < deadline) and (count is None or len(latencies) < count):
        body = json.dumps({"purchase_id": uuid.uuid4().hex, "card_number": card,
                           "lines": [{"name": "Tea", "category": "drinks", "quantity": 1,
                                      "unit_price": 250}]})
        start = time.perf_counter()
        conn.request("POST", "/v1/purchases", body, headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - start)
        if response.status not in expect:
            raise RuntimeError(f"HTTP {response.status}")
    conn.close()
    return latencies


def run_clients(clients, **kwargs):
    results = [None] * clients
    errors = []

    def work(i):
        try:
            results[i] = sell(**kwargs)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    latencies = sorted(x for r in results for x in r)
    return latencies, elapsed


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kizuna", required=True)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--backlog", type=int, default=100000)
    args = parser.parse_args()
    harness.KIZUNA = os.path.abspath(args.kizuna)

    hub = Hub().start()
    store = hub.create_store("Bench Books", "physical")
    node = Node(hub.url, store["api_key"], extra_args=["--log-level", "warn"]).start()
    node.sync_until_drained()
    a = node.call("POST", "/v1/members", {"password": "correct horse 42",
                                          "profile": {"name": "Bench", "email": "b@example.jp"}})
    card = a.json["card"]["card_number"]
    try:
        # 3. forwarding, hub up (first, while the hub runs).
        lat, elapsed = run_clients(args.clients, port=node.port, token=store["api_key"],
                                   card=card, seconds=args.seconds, expect=(201,))
        print(f"forwarded purchases: {len(lat) / elapsed:.0f}/s, p50 {percentile(lat, 50)*1e3:.2f} "
              f"ms, p99 {percentile(lat, 99)*1e3:.2f} ms ({args.clients} clients, "
              f"{args.seconds:.0f} s)")
        lat, elapsed = run_clients(args.clients, port=hub.port, token=store["api_key"],
                                   card=card, seconds=args.seconds, expect=(201,))
        print(f"direct to the hub:   {len(lat) / elapsed:.0f}/s, p50 {percentile(lat, 50)*1e3:.2f} "
              f"ms, p99 {percentile(lat, 99)*1e3:.2f} ms")

        # 1. offline, durable.
        hub.kill9()
        lat, elapsed = run_clients(args.clients, port=node.port, token=store["api_key"],
                                   card=card, seconds=args.seconds, expect=(202,))
        print(f"offline purchases:   {len(lat) / elapsed:.0f}/s durable, p50 "
              f"{percentile(lat, 50)*1e3:.2f} ms, p99 {percentile(lat, 99)*1e3:.2f} ms")

        # 2. backlog drain.
        queued = node.status()["outbox_pending"]
        per_client = max(0, args.backlog - queued) // args.clients + 1
        start = time.perf_counter()
        run_clients(args.clients, port=node.port, token=store["api_key"], card=card,
                    count=per_client, expect=(202,))
        queued = node.status()["outbox_pending"]
        print(f"backlog topped up to {queued} offline purchases in "
              f"{time.perf_counter() - start:.1f} s")
        hub.start()
        # The node still points at the old port: restart it on the hub's new one (the drain time
        # includes the node's start).
        node.stop()
        node = Node(hub.url, store["api_key"], data_dir=node.data_dir,
                    extra_args=["--log-level", "warn"])
        start = time.perf_counter()
        node.start()
        node.sync_until_drained(timeout=3600)
        drained = time.perf_counter() - start
        print(f"backlog of {queued} drained in {drained:.1f} s ({queued / drained:.0f} events/s)")
    finally:
        node.stop()
        hub.stop()


if __name__ == "__main__":
    main()
