#!/usr/bin/python3
"""Storage backends benchmark: 64 MiB PUTs and GETs through Data-in-Motion's S3 backend on s3rver
and its Azure Blob backend on azurite, through the full site stack (RetryingStore(ChaosStore(
backend))) and through the bare backend, with a plain libcurl client (bench's s3_load: no
hashing, body from memory or discarded) on the same s3rver as the baseline in the same run; 4 KiB
PUTs with and without 30% injected throttling; and the client's peak RSS while one 256 MiB
object goes up and comes back. Prints medians of --runs runs, the ratios and whether the goals
hold: S3 backend >= 80% of the plain client's MB/s (GET, and PUT as one part like the plain
client; the default 8 MiB multipart PUT is shown beside it); the decorators cost <= 10%; peak
RSS of a 256 MiB round trip < 64 MiB above the idle client. The throttled case reports how many
operations still failed after the retries (storage.retry_max_throttled_attempts, 10 by default).

Every figure is given per wall-second and per CPU-second of the client (user + system time of
the timed calls): on a shared, loaded machine the wall figures move 2x from run to run, while
the CPU-second figures say what the client itself costs. 64 MiB PUT bodies are generated in
memory before the timing starts (--source memory), as the baseline sends them; the 256 MiB
round trip streams them (PatternSource), so memory never depends on the size. Within a run the
stack and bare cases alternate their order, so neither always runs first.

  bench/storage_backends_bench.py [--build build] [--runs 3] [--requests 4] [--get-requests 12]

Servers are started by scripts/test-server on 127.0.0.1 with free ports in a temp dir and
stopped at the end (also on failure). Needs build/bench/{store_load,s3_load} and the npm
packages (scripts/install-deps).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LARGE, SMALL, HUGE = 64 << 20, 4096, 256 << 20
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")


def start_server(kind, tmp):
    d = os.path.join(tmp, kind)
    out = subprocess.run([os.path.join(ROOT, "scripts", "test-server"), kind, "start", d],
                         capture_output=True, text=True, timeout=180)
    if out.returncode != 0:
        sys.exit(f"{kind} did not start: {out.stderr}")
    return d, out.stdout.strip().split("=", 1)[1]


def stop_server(d):
    subprocess.run([os.path.join(ROOT, "scripts", "test-server"), "stop", d], timeout=60)


def run(argv):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{out.stdout}{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--requests", type=int, default=4, help="64 MiB PUTs per case")
    ap.add_argument("--get-requests", type=int, default=12,
                    help="64 MiB GETs per case (they take little CPU: more of them time it better)")
    ap.add_argument("--small-requests", type=int, default=200, help="4 KiB PUTs per case")
    ap.add_argument("--json", help="also write the raw results here")
    args = ap.parse_args()
    store_load = os.path.join(args.build, "bench", "store_load")
    s3_load = os.path.join(args.build, "bench", "s3_load")
    for p in [store_load, s3_load]:
        if not os.path.exists(p):
            sys.exit(f"missing {p}: run scripts/build")

    tmp = tempfile.mkdtemp(prefix="dim-storagebench-")
    dirs = []
    try:
        s3dir, s3ep = start_server("s3rver", tmp)
        dirs.append(s3dir)
        azdir, azep = start_server("azurite", tmp)
        dirs.append(azdir)
        s3 = ["--type", "s3", "--endpoint", s3ep, "--bucket", "bench", "--access", "S3RVER", "--secret", "S3RVER"]
        az = ["--type", "azure", "--endpoint", azep + "/devstoreaccount1", "--bucket", "bench",
              "--access", "devstoreaccount1", "--secret", AZURITE_KEY]
        plain = [s3_load, "--endpoint", s3ep, "--access", "S3RVER", "--secret", "S3RVER", "--bucket", "bench"]
        subprocess.run(plain + ["--op", "mkbucket"], check=True, capture_output=True)
        run(plain + ["--op", "put", "--key", "plain-large", "--size", str(LARGE), "--requests", "1",
                     "--concurrency", "1"])
        n = ["--requests", str(args.requests)]
        ng = ["--requests", str(args.get_requests)]
        mem = ["--source", "memory"]
        cases = {
            ("GET 64 MiB", "s3 plain libcurl"): lambda: run(plain + ["--op", "get", "--key", "plain-large", "--size",
                                                                     str(LARGE), "--concurrency", "1"] + ng),
            ("GET 64 MiB", "s3 stack"): lambda: run([store_load] + s3 + ["--op", "get", "--size", str(LARGE)] + ng),
            ("GET 64 MiB", "s3 bare"): lambda: run([store_load] + s3 + ["--op", "get", "--size", str(LARGE), "--bare"] + ng),
            ("PUT 64 MiB", "s3 plain libcurl"): lambda: run(plain + ["--op", "put", "--key", "plain-put", "--size",
                                                                     str(LARGE), "--concurrency", "1"] + n),
            ("PUT 64 MiB", "s3 stack, one part"): lambda: run([store_load] + s3 + mem + [
                "--op", "put", "--size", str(LARGE), "--part-size-mb", "128"] + n),
            ("PUT 64 MiB", "s3 bare, one part"): lambda: run([store_load] + s3 + mem + [
                "--op", "put", "--size", str(LARGE), "--part-size-mb", "128", "--bare"] + n),
            ("PUT 64 MiB", "s3 stack"): lambda: run([store_load] + s3 + mem + ["--op", "put", "--size", str(LARGE)] + n),
            ("PUT 64 MiB", "s3 bare"): lambda: run([store_load] + s3 + mem + ["--op", "put", "--size", str(LARGE),
                                                                             "--bare"] + n),
            ("GET 64 MiB", "azure stack"): lambda: run([store_load] + az + ["--op", "get", "--size", str(LARGE)] + ng),
            ("GET 64 MiB", "azure bare"): lambda: run([store_load] + az + ["--op", "get", "--size", str(LARGE), "--bare"] + ng),
            ("PUT 64 MiB", "azure stack"): lambda: run([store_load] + az + mem + ["--op", "put", "--size", str(LARGE)] + n),
            ("PUT 64 MiB", "azure bare"): lambda: run([store_load] + az + mem + ["--op", "put", "--size", str(LARGE),
                                                                                "--bare"] + n),
            ("PUT 4 KiB", "s3 stack"): lambda: run([store_load] + s3 + ["--op", "put", "--size", str(SMALL),
                                                                       "--requests", str(args.small_requests)]),
            ("PUT 4 KiB", "s3 stack, 30% throttled"): lambda: run(
                [store_load] + s3 + ["--op", "put", "--size", str(SMALL), "--requests", str(args.small_requests),
                                     "--throttle", "0.3"]),
        }
        results = {}
        loads = [os.getloadavg()[0]]
        for r in range(args.runs):
            keys = list(cases)
            if r % 2 == 1:  # bare before stack in odd runs
                for i in range(len(keys) - 1):
                    a, b = keys[i], keys[i + 1]
                    if a[0] == b[0] and a[1].replace("stack", "bare") == b[1] and "stack" in a[1]:
                        keys[i], keys[i + 1] = b, a
            for key in keys:
                res = cases[key]()
                results.setdefault(key, []).append(res)
                mbs = res.get("mb_s", res.get("mbps", 0))
                ops = res.get("ops_s", res.get("rps", 0))
                cpu = res.get("cpu_s", 0)
                per_cpu = (res.get("size", 0) * (res.get("requests", 0) - res.get("errors", 0)) / 1e6 / cpu) if cpu else 0
                print(f"run {r + 1}/{args.runs} {key[0]:10} {key[1]:24} {ops:9.1f} ops/s {mbs:8.1f} MB/s"
                      f" {per_cpu:8.0f} MB/CPU-s retries {res.get('retries', 0)} failed after retries"
                      f" {res.get('errors', 0)}" + (f" ({res['last_error']})" if res.get("errors") else ""),
                      flush=True)
            loads.append(os.getloadavg()[0])
        huge = {}
        for name, flags in [("s3", s3), ("azure", az)]:
            idle = run([store_load] + flags + ["--op", "put", "--size", "1", "--requests", "1"])["peak_rss_kb"]
            put = run([store_load] + flags + ["--op", "put", "--size", str(HUGE), "--requests", "1"])
            get = run([store_load] + flags + ["--op", "get", "--size", str(HUGE), "--requests", "1"])
            huge[name] = (idle / 1024, put["peak_rss_kb"] / 1024, get["peak_rss_kb"] / 1024)
            print(f"256 MiB {name}: peak RSS idle {huge[name][0]:.1f} MB, PUT {huge[name][1]:.1f} MB, "
                  f"GET (incl. writing it first) {huge[name][2]:.1f} MB", flush=True)

        def med(key, field):
            vals = [x.get(field, x.get({"mb_s": "mbps", "ops_s": "rps"}.get(field, field), 0)) for x in results[key]]
            return statistics.median(vals)

        def per_cpu(key):  # MB per CPU-second of the client
            return statistics.median(
                x["size"] * (x["requests"] - x.get("errors", 0)) / 1e6 / x["cpu_s"] for x in results[key])

        print()
        print(f"Medians of {args.runs} runs ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, sequential, "
              f"{args.get_requests} x 64 MiB GET, {args.requests} x 64 MiB PUT, {args.small_requests} x 4 KiB PUT; "
              f"1-min load average "
              f"{min(loads):.1f}-{max(loads):.1f})")
        print("| case | client | ops/s | MB/s | MB/CPU-s | failed after retries | ratio (wall; CPU) |")
        print("|---|---|---:|---:|---:|---:|---|")
        for key in cases:
            case, client = key
            ratio = ""
            bare = (case, client.replace("stack", "bare"))
            if "stack" in client and bare in cases:
                ratio = (f"{med(key, 'mb_s') / med(bare, 'mb_s'):.2f}x bare; "
                         f"{per_cpu(key) / per_cpu(bare):.2f}x bare")
                if client.startswith("s3") and ("GET" in case or "one part" in client):
                    ratio = f"{med(key, 'mb_s') / med((case, 's3 plain libcurl'), 'mb_s'):.2f}x plain, " + ratio
            elif "throttled" in client:
                ratio = f"{med(key, 'ops_s') / med((case, 's3 stack'), 'ops_s'):.2f}x unthrottled"
            failed = sum(x.get("errors", 0) for x in results[key])
            total = sum(x.get("requests", 0) for x in results[key])
            print(f"| {case} | {client} | {med(key, 'ops_s'):.1f} | {med(key, 'mb_s'):.1f} | {per_cpu(key):.0f} "
                  f"| {failed}/{total} | {ratio} |")
        print()
        g = min(med(("GET 64 MiB", "s3 stack"), "mb_s") / med(("GET 64 MiB", "s3 plain libcurl"), "mb_s"),
                med(("PUT 64 MiB", "s3 stack, one part"), "mb_s") / med(("PUT 64 MiB", "s3 plain libcurl"), "mb_s"))
        print(f"goal S3 backend >= 80% of plain libcurl (worse of GET, single-part PUT; wall): {100 * g:.0f}% — "
              f"{'met' if g >= 0.8 else 'NOT met'}")
        pairs = [(c, f"{b} stack{p}") for c, b, p in [("GET 64 MiB", "s3", ""), ("PUT 64 MiB", "s3", ""),
                                                     ("PUT 64 MiB", "s3", ", one part"), ("GET 64 MiB", "azure", ""),
                                                     ("PUT 64 MiB", "azure", "")]]
        d_wall = min(med(k, "mb_s") / med((k[0], k[1].replace("stack", "bare")), "mb_s") for k in pairs)
        d_cpu = min(per_cpu(k) / per_cpu((k[0], k[1].replace("stack", "bare"))) for k in pairs)
        print(f"goal decorators cost <= 10% (worst stack/bare): per CPU-second {100 * d_cpu:.0f}% — "
              f"{'met' if d_cpu >= 0.9 else 'NOT met'}; per wall-second {100 * d_wall:.0f}%"
              f" (server- and load-bound, noisy)")
        grow = max(max(p, q) - i for i, p, q in huge.values())
        print(f"goal 256 MiB round trip peak RSS < 64 MiB above idle: +{grow:.1f} MB — "
              f"{'met' if grow < 64 else 'NOT met'}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({f"{k[0]}|{k[1]}": v for k, v in results.items()}, f, indent=1)
    finally:
        for d in dirs:
            stop_server(d)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
