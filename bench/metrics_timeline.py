#!/usr/bin/env python3
"""Per-second timeline of a running hub, from its own /metrics: purchases answered, the hub's own
p99 bucket for POST /v1/purchases (time from the request read to its response ready, so it
includes the wait for the log sync, not time in socket buffers), log syncs and their mean
latency, checkpoints and log restarts. Tells a server-side latency tail (and what coincides with
it) from a client's own stalls.

  bench/metrics_timeline.py --target 127.0.0.1:PORT --token-file DATA/operator.token [--seconds 60]
"""
import argparse
import json
import time
import urllib.request


def sample(url, token):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    metrics = {}
    with urllib.request.urlopen(request, timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("#") or " " not in line:
                continue
            key, value = line.rsplit(" ", 1)
            metrics[key] = float(value)
    buckets = {}
    for key, value in metrics.items():
        if key.startswith("kizuna_http_request_duration_seconds_bucket{") and \
                'method="POST"' in key and 'route="/v1/purchases"' in key:
            buckets[key.split('le="')[1].split('"')[0]] = value
    return time.monotonic(), metrics, buckets


def p99_bucket(before, after):
    bounds = sorted((b for b in after if b != "+Inf"), key=float) + ["+Inf"]
    counts = [after.get(b, 0) - before.get(b, 0) for b in bounds]  # cumulative
    if not counts or counts[-1] <= 0:
        return "-", 0
    for bound, count in zip(bounds, counts):
        if count >= 0.99 * counts[-1]:
            return bound, counts[-1]
    return "+Inf", counts[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", required=True)
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    token = open(args.token_file).read().strip()
    url = f"http://{args.target}/metrics"
    print("t_s  purchases/s  server_p99<=s  log_syncs  mean_sync_ms  checkpoints  log_restarts")
    start, metrics, buckets = sample(url, token)
    previous = (start, metrics, buckets)
    for _ in range(args.seconds):
        time.sleep(max(0.0, 1.0 - (time.monotonic() - previous[0])))
        now, metrics, buckets = sample(url, token)
        t0, m0, b0 = previous
        bound, answered = p99_bucket(b0, buckets)
        syncs = metrics.get("kizuna_storage_log_syncs_total", 0) - \
            m0.get("kizuna_storage_log_syncs_total", 0)
        sync_s = metrics.get("kizuna_storage_log_sync_seconds_total", 0) - \
            m0.get("kizuna_storage_log_sync_seconds_total", 0)
        print(json.dumps({
            "t_s": round(now - start, 1),
            "purchases_per_s": round(answered / (now - t0)),
            "server_p99_le_s": bound,
            "log_syncs": int(syncs),
            "mean_sync_ms": round(1000 * sync_s / syncs, 2) if syncs else 0,
            "checkpoints": int(metrics.get("kizuna_storage_checkpoints_total", 0) -
                               m0.get("kizuna_storage_checkpoints_total", 0)),
            "log_restarts": int(metrics.get("kizuna_storage_log_restarts_total", 0) -
                                m0.get("kizuna_storage_log_restarts_total", 0)),
        }), flush=True)
        previous = (now, metrics, buckets)


if __name__ == "__main__":
    main()
