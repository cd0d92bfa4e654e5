#!/usr/bin/env python3
"""Store node figures (issue 16), through the real binaries on loopback; run by bench/run (skip
with --no-node), or by hand:

  bench/node_bench.py --kizuna build/kizuna [--loadgen build/bench/loadgen] [--clients 8]
                      [--offline-connections 8,64] [--seconds 10] [--backlog 100000]
                      [--results FILE]

  1. forwarding latency: the hub up, --clients loadgen connections sell through the node for
     --seconds: throughput, p50/p99 of the node's answer; then the same load sent to the hub
     directly for comparison;
  2. offline purchases/s, durable: the hub killed -9; for each count in --offline-connections,
     loadgen sells through the node for --seconds (1 s of warm-up first). Every answer must be
     202, and the node's outbox must have grown by exactly the purchases loadgen saw
     acknowledged (a 202 means the sale is in the node's synced outbox: src/pos/README.md,
     "Durability"). Also the node's CPU per sale (utime + stime of its process from /proc, which
     other load on the machine does not inflate);
  3. backlog drain: the offline rounds' sales synced first (untimed), the hub down again, the
     outbox topped up from empty to --backlog purchases, the hub started, the time until
     the node's outbox is empty (POST /v1/node/sync in a loop; the node also syncs on its timer).

The load comes from bench/loadgen (one thread, hand-written HTTP over Asio) so that the client
costs little next to the node on a 2-core machine; its purchases name a member by id (8 members
enrolled through the node, so it holds their balances), one line each. The machine's 1-minute
load average is printed beside each figure. With --results, one JSON line per figure is appended
(bench/run's format: {"name": ..., "result": {...}}).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "e2e-node"))
import harness  # noqa: E402
from harness import Hub  # noqa: E402
from store_node_test import Node  # noqa: E402

MEMBERS = 8


def load_average():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def cpu_seconds(pid):
    """utime + stime of the whole process (every thread), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="kizuna-node-bench-")
        self.seed = os.path.join(self.work, "seed.txt")

    def record(self, name, result):
        if self.args.results:
            with open(self.args.results, "a") as f:
                f.write(json.dumps({"name": name, "result": result}) + "\n")

    def write_seed(self, api_key, members):
        # bench/seed_file.hpp's format; loadgen needs an operator line, which purchases never use.
        with open(self.seed, "w") as f:
            f.write("# kizuna bench seed v1\noperator unused\n")
            f.write(f"store bench {api_key}\n")
            for member_id, card in members:
                f.write(f"member {member_id} {card}\n")

    def loadgen(self, port, connections, seconds, warmup=0.0, acked=None, prefix="b"):
        command = [self.args.loadgen, "--target", f"127.0.0.1:{port}", "--seed-file", self.seed,
                   "--scenario", "purchases", "--connections", str(connections),
                   "--duration", str(seconds), "--warmup", str(warmup), "--id-prefix", prefix,
                   "--json"]
        if acked:
            command += ["--acked-ids", acked]
        run = subprocess.run(command, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"loadgen failed ({run.returncode}): {run.stdout[-2000:]} "
                               f"{run.stderr[-2000:]}")
        return json.loads(run.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kizuna", required=True)
    parser.add_argument("--loadgen", help="default: bench/loadgen beside --kizuna")
    parser.add_argument("--clients", type=int, default=8, help="connections while forwarding")
    parser.add_argument("--offline-connections", default="8,64",
                        help="comma-separated connection counts for the offline runs")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--backlog", type=int, default=100000)
    parser.add_argument("--results", help="append one JSON line per figure to this file")
    args = parser.parse_args()
    harness.KIZUNA = os.path.abspath(args.kizuna)
    args.loadgen = os.path.abspath(
        args.loadgen or os.path.join(os.path.dirname(harness.KIZUNA), "bench", "loadgen"))
    if not os.access(args.loadgen, os.X_OK):
        sys.exit(f"node_bench: {args.loadgen} is not built (cmake --build build --target loadgen)")
    offline_connections = [int(c) for c in args.offline_connections.split(",") if c]
    if not offline_connections:
        sys.exit("node_bench: --offline-connections needs at least one count")
    bench = Bench(args)

    def drain(node, what):
        """POST /v1/node/sync until the outbox is empty (one call pushes until it is empty or
        fails; an hour at most)."""
        start = time.perf_counter()
        while True:
            a = node.call("POST", "/v1/node/sync", timeout=3600)
            if a.status == 200 and a.json["outbox_pending"] == 0:
                return
            if time.perf_counter() - start > 3600:
                raise RuntimeError(f"{what}: outbox not drained: {a} {node.log()}")
            time.sleep(0.05)

    def restart_node(node, hub, key):
        """The node on its data dir again, pointed at the hub's current port."""
        node.stop()
        return Node(hub.url, key, data_dir=node.data_dir,
                    extra_args=["--log-level", "warn"]).start()
    print(f"load average {load_average():.2f} at the start; {os.cpu_count()} cores")

    hub = Hub().start()
    store = hub.create_store("Bench Books", "physical")
    key = store["api_key"]
    node = Node(hub.url, key, extra_args=["--log-level", "warn"]).start()
    try:
        node.sync_until_drained()
        members = []
        for i in range(MEMBERS):
            a = node.call("POST", "/v1/members", {
                "password": "correct horse 42",
                "profile": {"name": f"Bench {i}", "email": f"bench{i}@example.jp"}})
            assert a.status == 201, a
            members.append((a.json["member_id"], a.json["card"]["card_number"]))
        bench.write_seed(key, members)

        # 1. forwarding, hub up (first, while the hub runs).
        for label, port, name in (("forwarded purchases", node.port, "node_forwarded"),
                                  ("direct to the hub  ", hub.port, "node_hub_direct")):
            load = load_average()
            r = bench.loadgen(port, args.clients, args.seconds, warmup=1, prefix=name)
            lat = r["latency"]
            print(f"{label}: {r['throughput']:.0f}/s, p50 {lat['p50_ms']:.2f} ms, p99 "
                  f"{lat['p99_ms']:.2f} ms ({args.clients} connections, {args.seconds:.0f} s; "
                  f"load {load:.2f})")
            bench.record(name, dict(r, load_average=load))

        # 2. offline, durable.
        hub.kill9()
        a = node.call("POST", "/v1/purchases", {
            "purchase_id": "first-offline", "member_id": members[0][0],
            "lines": [{"name": "Tea", "category": "drinks", "quantity": 1, "unit_price": 250}]})
        assert a.status == 202, a
        rate = 0.0
        for connections in offline_connections:
            acked = os.path.join(bench.work, f"acked-{connections}.txt")
            before = node.status()["outbox_pending"]
            cpu_before = cpu_seconds(node.proc.pid)
            load = load_average()
            r = bench.loadgen(node.port, connections, args.seconds, warmup=1, acked=acked,
                              prefix=f"off{connections}")
            cpu = cpu_seconds(node.proc.pid) - cpu_before
            grown = node.status()["outbox_pending"] - before
            with open(acked) as f:
                acknowledged = sum(1 for line in f if line.strip())
            if (set(r["statuses"]) != {"202"} or r["non_2xx"] or r["lost"]
                    or grown != acknowledged):
                raise RuntimeError(f"offline: answers {r['statuses']}, {r['non_2xx']} non-2xx, "
                                   f"{r['lost']} lost; the outbox grew by {grown} for "
                                   f"{acknowledged} purchases acknowledged")
            lat = r["latency"]
            print(f"offline purchases:   {r['throughput']:.0f}/s durable, p50 {lat['p50_ms']:.2f} "
                  f"ms, p99 {lat['p99_ms']:.2f} ms ({connections} connections, "
                  f"{args.seconds:.0f} s; node CPU {cpu / grown * 1e6:.0f} us per sale; load "
                  f"{load:.2f}; outbox grew by {grown} = purchases acknowledged)")
            bench.record(f"node_offline_{connections}",
                         dict(r, load_average=load, node_cpu_us_per_sale=cpu / grown * 1e6))
            rate = r["throughput"]

        # 3. backlog drain of --backlog events. The offline rounds above queued more than that
        # (or fewer); they reach the hub first, untimed, so the timed drain is exactly the
        # backlog topped up from an empty outbox with the hub down again.
        hub.start()
        node = restart_node(node, hub, key)
        drain(node, "the offline rounds' sales")
        hub.kill9()
        start = time.perf_counter()
        queued = node.status()["outbox_pending"]
        round_ = 0
        while queued < args.backlog:
            round_ += 1
            r = bench.loadgen(node.port, offline_connections[-1],
                              max(0.5, min(30, (args.backlog - queued) / max(rate, 500))),
                              prefix=f"top{round_}")
            rate = r["throughput"]
            queued = node.status()["outbox_pending"]
        print(f"backlog topped up to {queued} offline purchases in "
              f"{time.perf_counter() - start:.1f} s")
        hub.start()
        # The node still points at the old port: restart it on the hub's new one (the drain time
        # includes the node's start).
        load = load_average()
        start = time.perf_counter()
        node = restart_node(node, hub, key)
        drain(node, "the backlog")
        drained = time.perf_counter() - start
        print(f"backlog of {queued} drained in {drained:.1f} s ({queued / drained:.0f} events/s; "
              f"load {load:.2f})")
        bench.record("node_drain", {"events": queued, "seconds": drained,
                                    "throughput": queued / drained, "load_average": load})
    finally:
        node.stop()
        hub.stop()
    print(f"load average {load_average():.2f} at the end")


if __name__ == "__main__":
    main()
