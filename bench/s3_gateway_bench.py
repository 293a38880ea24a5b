#!/usr/bin/python3
"""S3 gateway benchmark: GET and PUT of 4 KiB and 64 MiB objects against `dim serve`'s gateway
and, in the same run and on the same data, against s3rver (npm) — plus 64 MiB GETs of the same
file from nginx over loopback. Prints requests/s, MB/s, p50/p99 latency and the server's peak
RSS per case (medians of --runs runs), the ratios, and whether the goals hold:
4 KiB GET >= 10x s3rver, 64 MiB GET >= 50% of nginx.

  bench/s3_gateway_bench.py [--build build] [--runs 3] [--seconds 8] [--json out.json]

Servers are started on 127.0.0.1 with free ports in a temp dir and stopped at the end (also on
failure). Needs build/dim, build/bench/s3_load, node_modules/.bin/s3rver (npm ci) and nginx.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from bench_ports import free_port, wait_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL, LARGE = 4096, 64 << 20


def peak_rss_kb(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def reset_peak(pids):
    for pid in pids:
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM to the current RSS
        except OSError:
            pass


def cpu_seconds(pids):
    """User + system CPU time the processes have used so far."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def children(pid):
    try:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
        return [int(x) for x in out.split()]
    except OSError:
        return []


class Servers:
    def __init__(self, args, tmp):
        self.procs = []
        self.args = args
        self.tmp = tmp

    def start(self, argv, **kw):
        p = subprocess.Popen(argv, stdout=kw.pop("stdout", subprocess.DEVNULL),
                             stderr=kw.pop("stderr", subprocess.DEVNULL), start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8, help="duration of each 4 KiB case")
    ap.add_argument("--large-requests", type=int, default=16, help="requests per 64 MiB case")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--warmup", type=float, default=3,
                    help="seconds of unrecorded 4 KiB GETs and PUTs per server first (s3rver's JIT warms up)")
    ap.add_argument("--huge-mib", type=int, default=0,
                    help="also PUT and GET one object of this many MiB through the gateway (peak RSS)")
    ap.add_argument("--json", help="also write the raw results here")
    args = ap.parse_args()
    dim = os.path.join(args.build, "dim")
    load = os.path.join(args.build, "bench", "s3_load")
    s3rver = os.path.join(ROOT, "node_modules", ".bin", "s3rver")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    for path, hint in [(dim, "scripts/build"), (load, "scripts/build"), (s3rver, "scripts/install-deps (npm ci)"),
                       (nginx, "scripts/install-deps (nginx)")]:
        if not os.path.exists(path):
            sys.exit(f"missing {path}: run {hint}")

    tmp = tempfile.mkdtemp(prefix="dim-s3bench-")
    servers = Servers(args, tmp)
    try:
        # Data-in-Motion's gateway.
        gw_port, api_port = free_port(), free_port()
        log = open(os.path.join(tmp, "dim.log"), "w")
        gw = servers.start([dim, "serve", "--data-dir", os.path.join(tmp, "dim"), "--api-listen",
                            f"127.0.0.1:{api_port}", "--s3-listen", f"127.0.0.1:{gw_port}", "--log-level", "warn"],
                           stdout=log, stderr=log)
        wait_port(gw_port, gw, "dim serve")
        creds = dict(line.strip().split("=", 1) for line in open(os.path.join(tmp, "dim", "s3-credentials")))
        # s3rver (it does not check signatures; it gets the same signed requests).
        s3_port = free_port()
        sv = servers.start([s3rver, "--silent", "-a", "127.0.0.1", "-p", str(s3_port), "-d",
                            os.path.join(tmp, "s3rver"), "--configure-bucket", "bench"])
        wait_port(s3_port, sv, "s3rver")
        # nginx with the same 64 MiB file.
        www = os.path.join(tmp, "www")
        os.makedirs(www)
        subprocess.run([load, "--op", "put", "--size", str(LARGE), "--write-body", os.path.join(www, "obj-large")],
                       check=True)
        ng_port = free_port()
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""user root; worker_processes 2; daemon off; pid {tmp}/nginx.pid; error_log {tmp}/nginx.err;
events {{ worker_connections 256; }}
http {{ access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;
  client_body_temp_path {tmp}/nb; proxy_temp_path {tmp}/np; fastcgi_temp_path {tmp}/nf;
  uwsgi_temp_path {tmp}/nu; scgi_temp_path {tmp}/ns;
  server {{ listen 127.0.0.1:{ng_port}; root {www}; }} }}
""")
        ng = servers.start([nginx, "-c", conf, "-p", tmp])
        wait_port(ng_port, ng, "nginx")

        gw_keys = (creds["aws_access_key_id"], creds["aws_secret_access_key"])
        targets = {
            "gateway": {"endpoint": f"http://127.0.0.1:{gw_port}", "pids": lambda: [gw.pid], "keys": gw_keys},
            "s3rver": {"endpoint": f"http://127.0.0.1:{s3_port}", "pids": lambda: [sv.pid] + children(sv.pid),
                       "keys": ("S3RVER", "S3RVER")},  # s3rver's fixed key pair
        }

        def run_load(target, op, size, key, extra):
            endpoint, (access, secret) = target["endpoint"], target.get("keys", ("", ""))
            argv = [load, "--endpoint", endpoint, "--access", access, "--secret", secret,
                    "--bucket", "bench", "--key", key, "--op", op, "--size", str(size)] + extra
            out = subprocess.run(argv, capture_output=True, text=True, timeout=900)
            if out.returncode != 0:
                sys.exit(f"s3_load failed: {' '.join(argv)}\n{out.stdout}{out.stderr}")
            return json.loads(out.stdout.strip().splitlines()[-1])

        # Buckets and the objects the GETs read.
        subprocess.run([load, "--endpoint", targets["gateway"]["endpoint"], "--access", creds["aws_access_key_id"],
                        "--secret", creds["aws_secret_access_key"], "--bucket", "bench", "--op", "mkbucket"],
                       check=True, capture_output=True)
        for t in targets.values():
            for size, key in [(SMALL, "obj-small"), (LARGE, "obj-large")]:
                run_load(t, "put", size, key, ["--requests", "1", "--concurrency", "1"])

        small = ["--seconds", str(args.seconds), "--concurrency", str(args.concurrency)]
        if args.warmup > 0:
            for t in targets.values():
                for op, key in [("get", "obj-small"), ("put", "put-small")]:
                    run_load(t, op, SMALL, key, ["--seconds", str(args.warmup), "--concurrency", str(args.concurrency)])
        large = ["--requests", str(args.large_requests), "--concurrency", "2"]
        cases = [("GET 4 KiB", "get", SMALL, "obj-small", small),
                 ("PUT 4 KiB", "put", SMALL, "put-small", small),
                 ("GET 64 MiB", "get", LARGE, "obj-large", large),
                 ("PUT 64 MiB", "put", LARGE, "put-large", ["--requests", str(max(4, args.large_requests // 2)),
                                                            "--concurrency", "2"])]
        results = {}  # (case, target) -> list of runs
        for run in range(args.runs):
            for name, op, size, key, extra in cases:
                for tname, t in targets.items():
                    pids = t["pids"]()
                    reset_peak(pids)
                    cpu0 = cpu_seconds(pids)
                    r = run_load(t, op, size, key, extra)
                    r["peak_rss_mb"] = peak_rss_kb(pids) / 1024
                    r["cpu_us_per_req"] = 1e6 * (cpu_seconds(pids) - cpu0) / max(r["requests"], 1)
                    results.setdefault((name, tname), []).append(r)
                    print(f"run {run + 1}/{args.runs} {name:10} {tname:8} {r['rps']:9.1f} req/s "
                          f"{r['mbps']:8.1f} MB/s p99 {r['p99_ms']:8.2f} ms rss {r['peak_rss_mb']:6.1f} MB"
                          f" cpu/req {r['cpu_us_per_req']:9.0f} us errors {r['errors']}", flush=True)
            pids = [ng.pid] + children(ng.pid)
            reset_peak(pids)
            cpu0 = cpu_seconds(pids)
            r = run_load({"endpoint": f"http://127.0.0.1:{ng_port}"}, "get", LARGE, "obj-large", large + ["--plain"])
            r["peak_rss_mb"] = peak_rss_kb(pids) / 1024
            r["cpu_us_per_req"] = 1e6 * (cpu_seconds(pids) - cpu0) / max(r["requests"], 1)
            results.setdefault(("GET 64 MiB", "nginx"), []).append(r)
            print(f"run {run + 1}/{args.runs} GET 64 MiB nginx    {r['rps']:9.1f} req/s {r['mbps']:8.1f} MB/s "
                  f"p99 {r['p99_ms']:8.2f} ms rss {r['peak_rss_mb']:6.1f} MB cpu/req {r['cpu_us_per_req']:9.0f} us", flush=True)

        if args.huge_mib:
            size = args.huge_mib << 20
            for op in ["put", "get"]:
                pids = targets["gateway"]["pids"]()
                reset_peak(pids)
                base = peak_rss_kb(pids) / 1024
                r = run_load(targets["gateway"], op, size, "obj-huge", ["--requests", "1", "--concurrency", "1"])
                r["peak_rss_mb"] = peak_rss_kb(pids) / 1024
                print(f"{op.upper()} {args.huge_mib} MiB gateway: {r['mbps']:.1f} MB/s, peak RSS "
                      f"{r['peak_rss_mb']:.1f} MB (RSS before {base:.1f} MB)", flush=True)

        def med(case, target, field):
            return statistics.median(r[field] for r in results[(case, target)])

        print()
        print(f"Medians of {args.runs} runs ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
              f"concurrency {args.concurrency} for 4 KiB, 2 for 64 MiB)")
        print("| case | server | req/s | MB/s | p99 ms | peak RSS MB | server CPU µs/req | gateway / baseline |")
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        for name, *_ in cases:
            for tname in ["gateway", "s3rver"] + (["nginx"] if name == "GET 64 MiB" else []):
                ratio = ""
                if tname != "gateway":
                    field = "rps" if "4 KiB" in name else "mbps"
                    ratio = f"{med(name, 'gateway', field) / max(med(name, tname, field), 1e-9):.2f}x"
                print(f"| {name} | {tname} | {med(name, tname, 'rps'):.1f} | {med(name, tname, 'mbps'):.1f} | "
                      f"{med(name, tname, 'p99_ms'):.2f} | {med(name, tname, 'peak_rss_mb'):.1f} | "
                      f"{med(name, tname, 'cpu_us_per_req'):.0f} | {ratio} |")
        small_ratio = med("GET 4 KiB", "gateway", "rps") / med("GET 4 KiB", "s3rver", "rps")
        large_ratio = med("GET 64 MiB", "gateway", "mbps") / med("GET 64 MiB", "nginx", "mbps")
        run_ratios = [g["rps"] / max(s["rps"], 1e-9)
                      for g, s in zip(results[("GET 4 KiB", "gateway")], results[("GET 4 KiB", "s3rver")])]
        cpu_ratio = med("GET 4 KiB", "s3rver", "cpu_us_per_req") / max(med("GET 4 KiB", "gateway", "cpu_us_per_req"), 1e-9)
        print()
        print(f"4 KiB GET, gateway / s3rver per run: {', '.join(f'{x:.1f}x' for x in run_ratios)}; "
              f"server CPU per request: s3rver uses {cpu_ratio:.1f}x the gateway's; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"goal 4 KiB GET >= 10x s3rver: {small_ratio:.1f}x — {'met' if small_ratio >= 10 else 'NOT met'}")
        print(f"goal 64 MiB GET >= 50% of nginx: {100 * large_ratio:.0f}% — {'met' if large_ratio >= 0.5 else 'NOT met'}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({f"{k[0]}|{k[1]}": v for k, v in results.items()}, f, indent=1)
    finally:
        servers.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
