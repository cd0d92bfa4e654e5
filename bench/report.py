#!/usr/bin/env python3
"""Prints bench/run's table from its JSON lines: throughput and latency of every scenario and
baseline, the ratios issue 3 asks for, and each target met or missed."""
import json
import sys


def main(path):
    results = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                results[row["name"]] = row["result"]

    rows = [
        ("hub POST /v1/purchases", "purchases"),
        ("hub POST /v1/purchases, wrk", "wrk_purchases"),
        ("hub GET /v1/members/{id}/usage", "usage"),
        ("hub mix 80% usage / 20% purchases", "mix"),
        ("hub GET /healthz", "healthz"),
        ("pgbench, purchase txn, 32 clients", "pgbench"),
        ("SQLite, 1 purchase per txn", "sqlite_per_txn"),
        ("scale: usage, 1M members/10M entries", "scale_usage"),
        ("node POST /v1/purchases, forwarded", "node_forwarded"),
        ("  the same load direct to the hub", "node_hub_direct"),
        ("node purchases, hub down, 8 conn.", "node_offline_8"),
        ("node purchases, hub down, 64 conn.", "node_offline_64"),
    ]
    print()
    print(f"{'':38} {'per s':>9} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'non-2xx':>8}")
    for label, name in rows:
        r = results.get(name)
        if r is None:
            continue
        rate = r.get("throughput", r.get("tps", 0.0))
        lat = r.get("latency", {})
        bad = r.get("non_2xx", r.get("failed", 0)) + r.get("lost", 0)
        print(f"{label:38} {float(rate):9.0f} {lat.get('p50_ms', 0):8.2f} "
              f"{lat.get('p99_ms', 0):8.2f} {lat.get('p999_ms', 0):9.2f} {bad:8d}")
    print()

    def rate(name):
        r = results.get(name)
        return float(r.get("throughput", r.get("tps", 0.0))) if r else None

    checks = []
    purchases = rate("purchases")
    if purchases is not None:
        p99 = results["purchases"]["latency"]["p99_ms"]
        checks.append(("purchases >= 20,000/s durable", purchases >= 20000, f"{purchases:.0f}/s"))
        checks.append(("purchases p99 <= 10 ms at 64 connections", p99 <= 10, f"{p99:.2f} ms"))
        pg = rate("pgbench")
        if pg:
            checks.append(("purchases >= 2x pgbench", purchases >= 2 * pg, f"{purchases / pg:.2f}x"))
        sq = rate("sqlite_per_txn")
        if sq:
            checks.append(("purchases >= 3.6x per-transaction SQLite", purchases >= 3.6 * sq,
                           f"{purchases / sq:.2f}x"))
    if "wrk_purchases" in results:
        p99 = results["wrk_purchases"]["latency"]["p99_ms"]
        checks.append(("purchases p99 <= 10 ms under wrk", p99 <= 10, f"{p99:.2f} ms"))
    usage = rate("usage")
    if usage is not None:
        checks.append(("usage reads >= 40,000/s", usage >= 40000, f"{usage:.0f}/s"))
    for name in ("purchases", "wrk_purchases", "usage", "mix", "healthz", "scale_usage"):
        r = results.get(name)
        if r is not None:
            checks.append((f"{name}: every answer 2xx, none lost",
                           r.get("non_2xx", 0) == 0 and r.get("lost", 0) == 0,
                           f"{r.get('non_2xx', 0)} non-2xx, {r.get('lost', 0)} lost"))
    if "crash" in results:
        c = results["crash"]
        checks.append(("kill -9 under load: every acknowledged purchase stored",
                       c["acked"] > 0 and c["stored"] == c["acked"],
                       f"{c['stored']:,} of {c['acked']:,}"))
        checks.append(("after kill -9: ledger invariants, kizuna hub check clean",
                       c["violations"] == 0 and c["hub_check_clean"],
                       f"{c['violations']} violations, check "
                       f"{'clean' if c['hub_check_clean'] else 'FAULTS'}"))
    if "seed_scale" in results:
        s = results["seed_scale"]
        checks.append((f"seed {s['members']} members / {s['entries']} entries < 60 s",
                       s["seconds"] < 60, f"{s['seconds']:.1f} s"))
    if "scale_usage" in results:
        p99 = results["scale_usage"]["latency"]["p99_ms"]
        checks.append(("scale: usage p99 <= 5 ms", p99 <= 5, f"{p99:.2f} ms"))
    if "scale_rss" in results:
        rss = results["scale_rss"]["peak_rss_mb"]
        checks.append(("scale: hub peak RSS < 300 MB", rss < 300, f"{rss:.0f} MB"))
    offline = [(float(r["throughput"]), name[len("node_offline_"):])
               for name, r in results.items() if name.startswith("node_offline_")]
    if offline:
        best, connections = max(offline)
        checks.append(("node: purchases while the hub is down >= 5,000/s durable", best >= 5000,
                       f"{best:.0f}/s ({connections} connections)"))
    if "node_forwarded" in results:
        p99 = results["node_forwarded"]["latency"]["p99_ms"]
        checks.append(("node: forwarded purchases p99 <= 20 ms", p99 <= 20, f"{p99:.2f} ms"))
    if "node_drain" in results:
        d = results["node_drain"]
        checks.append((f"node: backlog of {d['events']:,} drained <= 30 s", d["seconds"] <= 30,
                       f"{d['seconds']:.1f} s"))
    dispatch_lines = []
    if "dispatch_selection" in results:
        s = results["dispatch_selection"]
        dispatch_lines.append(
            f"selection: {s['members']:,} members x {s['purchases_per_member']} purchases in "
            f"{s['seconds']:.2f} s, CPU {s['cpu_seconds']:.2f} s "
            f"({s['cpu_seconds'] / s['members'] * 1e6:.0f} us per member), load {s['load1']}")
        if s["members"] >= 100000 and s["purchases_per_member"] >= 10:
            checks.append(("dispatch: selection of 100,000 members (10 purchases each) <= 10 s",
                           s["ok"] and s["seconds"] <= 10, f"{s['seconds']:.2f} s"))
    if "dispatch_letters" in results:
        s = results["dispatch_letters"]
        dispatch_lines.append(
            f"letters: {s['letters']:,} pages ({s['bytes'] / 1e6:.1f} MB) in {s['seconds']:.2f} s, "
            f"CPU {s['cpu_seconds']:.2f} s ({s['cpu_seconds'] / max(1, s['letters']) * 1e3:.2f} "
            f"ms per letter), load {s['load1']}")
        if s["letters"] >= 10000:
            checks.append(("dispatch: letters for 10,000 members <= 60 s", s["seconds"] <= 60,
                           f"{s['seconds']:.2f} s"))
    if "dispatch_email" in results:
        s = results["dispatch_email"]
        rate = s["sent"] / s["seconds"] if s["seconds"] > 0 else 0
        dispatch_lines.append(
            f"email: {s['sent']:,} sent, {s['failed']} failed in {s['seconds']:.2f} s = "
            f"{rate:.0f}/s (its selection included), CPU {s['cpu_seconds']:.2f} s "
            f"({s['cpu_seconds'] / max(1, s['sent']) * 1e6:.0f} us per message), "
            f"load {s['load1']}")
        checks.append(("dispatch: email >= 200 messages/s to a local SMTP server",
                       s["ok"] and s["failed"] == 0 and rate >= 200, f"{rate:.0f}/s"))
    if "dispatch_throughput" in results:
        t = results["dispatch_throughput"]
        dispatch_lines.append(
            f"purchases on one hub: {t['without']:.0f}/s without a run (load {t['without_load1']}), "
            f"{t['with']:.0f}/s during an email run (load {t['with_load1']}; the run selected "
            f"{t['members_selected_in_window']:,} members and sent {t['messages_in_window']:,} "
            f"messages in the window), {t['after']:.0f}/s after it (load {t['after_load1']}); "
            f"dispatch worker at nice {t['dispatch_nice']}")
        checks.append(("dispatch: purchases drop <= 20 % during a run",
                       t["drop_pct"] <= 20 and t["non_2xx"] == 0 and t["lost"] == 0,
                       f"{t['drop_pct']:.1f} %"))
    if dispatch_lines:
        print("offer dispatch:")
        for line in dispatch_lines:
            print("  " + line)
    for name in ("probe_start", "probe_hub"):
        if name in results:
            p = results[name]
            print(f"machine at {name[6:]}: {p['dsync_writes_per_s']} synchronous 8 KiB writes/s, "
                  f"load average {p['load1']}")
    if "hub_rss" in results:
        print(f"hub peak RSS (VmHWM) over the scenarios: {results['hub_rss']['peak_rss_mb']:.0f} MB")
    if "seed_members" in results:
        s = results["seed_members"]
        print(f"seeded {s['members']} members in {s['seconds']:.1f} s")
    print()
    for what, ok, value in checks:
        print(f"  [{'met ' if ok else 'MISS'}] {what:56} {value}")


if __name__ == "__main__":
    main(sys.argv[1])
