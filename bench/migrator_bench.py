#!/usr/bin/python3
"""Migrator benchmark: copy throughput of `dim migrator` between two local sites and between two
s3rver sites, against `rclone copy --checksum` on the same data in the same run, plus the peak
RSS of `dim migrator` moving one 1 GiB object, and the per-task overhead: files per second
moving --small-tasks 4 KiB objects local -> local, both tools. Prints MiB/s and peak RSS per case
(medians of --runs runs), the ratios, and whether the goals hold: >= 1.0x rclone's throughput,
RSS < 64 MiB.

  bench/migrator_bench.py [--build build] [--runs 3] [--objects 16x16M,128x256K] [--huge-mib 1024]
                          [--pairs local,s3rver] [--small-tasks 2048] [--json out.json]

Each run seeds fresh data (build/bench/migrator_seed), drains the copy tasks with
`dim migrator --drain` (4 workers), checks that every copy is done and re-reads every byte from
the destination, then copies the same source with rclone (4 transfers) into a fresh destination;
the order of the two alternates between runs, and `sync` runs before each timed tool so neither
pays for writing back the seed's (or the other tool's) dirty pages. s3rver is started on 127.0.0.1 with a free port in
a temp dir and stopped at the end (also on failure). Peak RSS is the child's ru_maxrss.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from bench_ports import free_port, wait_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKERS = 4


def proc_cpu(pid):
    """CPU seconds (user + system) process pid has used so far; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def timed(argv, env=None, log=None, server_pid=None):
    """Runs argv to completion; returns (seconds, peak RSS in MiB, CPU seconds of the child plus
    those the server process used meanwhile). Exits on failure."""
    server_before = proc_cpu(server_pid) if server_pid else 0.0
    start = time.monotonic()
    p = subprocess.Popen(argv, env=env, stdout=log or subprocess.DEVNULL, stderr=log or subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    secs = time.monotonic() - start
    if p.returncode != 0:
        if log:
            log.flush()
        sys.exit(f"failed ({p.returncode}): {' '.join(argv)}" + (f"; log {log.name}" if log else ""))
    cpu = usage.ru_utime + usage.ru_stime
    if server_pid:
        cpu += proc_cpu(server_pid) - server_before
    return secs, usage.ru_maxrss / 1024, cpu


def run_json(argv):
    out = subprocess.run(argv, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(argv)}\n{out.stdout}{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


class Pair:
    """Two sites, src and dst, as dim config lines and as rclone remotes."""

    def __init__(self, name, tmp, s3_port=None):
        self.name, self.tmp, self.s3_port = name, tmp, s3_port

    def site_lines(self, run):
        if self.name == "local":
            return ('[[sites]]\nname = "src"\nprovider = "p1"\nclass = "cold"\npath = "src"\n\n'
                    '[[sites]]\nname = "dst"\nprovider = "p2"\nclass = "hot"\npath = "dst"\n')
        out = ""
        for site, cls in [("src", "cold"), ("dst", "hot")]:
            out += (f'[[sites]]\nname = "{site}"\nprovider = "p-{site}"\nclass = "{cls}"\ntype = "s3"\n'
                    f'endpoint = "http://127.0.0.1:{self.s3_port}"\nbucket = "{site}-{run}"\n'
                    f'access_key = "S3RVER"\nsecret_key = "S3RVER"\nregion = "us-east-1"\n'
                    f'path_style = true\ncreate_bucket = true\n\n')
        return out

    def rclone_src(self, data_dir, run):
        return os.path.join(data_dir, "sites", "src") if self.name == "local" else f"s3src:src-{run}"

    def rclone_dst(self, run):
        return os.path.join(self.tmp, f"rclone-dst-{run}") if self.name == "local" else f"s3dst:rclone-{run}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--objects", default="16x16M,128x256K", help="COUNTxSIZE,... per run")
    ap.add_argument("--huge-mib", type=int, default=1024, help="peak RSS moving one object this big (0: skip)")
    ap.add_argument("--pairs", default="local,s3rver")
    ap.add_argument("--small-tasks", type=int, default=2048,
                    help="also move this many 4 KiB objects local -> local: files/s (0: skip)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    ap.add_argument("--json", help="also write the raw results here")
    args = ap.parse_args()
    dim = os.path.join(args.build, "dim")
    seed = os.path.join(args.build, "bench", "migrator_seed")
    s3rver = os.path.join(ROOT, "node_modules", ".bin", "s3rver")
    rclone = shutil.which("rclone") or "/usr/bin/rclone"
    for path, hint in [(dim, "scripts/build"), (seed, "scripts/build"), (rclone, "scripts/install-deps (rclone)")]:
        if not os.path.exists(path):
            sys.exit(f"missing {path}: run {hint}")
    pairs = [p for p in args.pairs.split(",") if p]
    if "s3rver" in pairs and not os.path.exists(s3rver):
        sys.exit(f"missing {s3rver}: run scripts/install-deps (npm ci)")

    tmp = tempfile.mkdtemp(prefix="dim-migbench-")
    procs = []
    env = dict(os.environ)
    env.pop("AWS_CA_BUNDLE", None)  # rclone must run without it (TOOLCHAIN.md)
    rclone_conf = os.path.join(tmp, "rclone.conf")
    results = {}  # (pair, tool) -> [{"mibs":..., "rss":...}]
    notes = []
    try:
        s3_port = None
        s3_pid = None
        if "s3rver" in pairs:
            s3_port = free_port()
            sv = subprocess.Popen([s3rver, "--silent", "-a", "127.0.0.1", "-p", str(s3_port), "-d",
                                   os.path.join(tmp, "s3rver")], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
            procs.append(sv)
            s3_pid = sv.pid
            wait_port(s3_port, sv, "s3rver")
        with open(rclone_conf, "w") as f:
            # Two remotes for the one server: rclone copies within one remote server-side
            # (CopyObject, no bytes through rclone); across remotes it streams them like dim.
            for remote in ["s3src", "s3dst"] if s3_port else []:
                f.write(f"[{remote}]\ntype = s3\nprovider = Other\naccess_key_id = S3RVER\n"
                        f"secret_access_key = S3RVER\nendpoint = http://127.0.0.1:{s3_port}\n"
                        f"force_path_style = true\nregion = us-east-1\n\n")
        env["RCLONE_CONFIG"] = rclone_conf

        def dim_config(pair, run, data_dir):
            path = os.path.join(tmp, f"{pair.name}-{run}.toml")
            with open(path, "w") as f:
                f.write(f'data_dir = "{data_dir}"\n\n[migrator]\nworkers = {WORKERS}\n'
                        f'pair_concurrency = {WORKERS}\ngrowing_window_s = 0\npoll_interval_ms = 20\n\n'
                        + pair.site_lines(run))
            return path

        def drain(cfg, tag, pair):
            with open(os.path.join(tmp, f"{pair.name}-{tag}.log"), "w") as log:
                return timed([dim, "migrator", "--config", cfg, "--drain", "--drain-timeout", "1800",
                              "--progress-interval", "5"], log=log,
                             server_pid=s3_pid if pair.name == "s3rver" else None)

        def rclone_copy(pair, tag, data_dir, seeded):
            # --fast-list: s3rver answers delimiter listings with nothing (rclone would find no
            # file to copy); one recursive listing works on both pairs.
            argv = [rclone, "copy", "--checksum", "--fast-list", "--transfers", str(WORKERS),
                    pair.rclone_src(data_dir, tag), pair.rclone_dst(tag)]
            with open(os.path.join(tmp, f"rclone-{pair.name}-{tag}.log"), "w") as log:
                out = timed(argv, env=env, log=log, server_pid=s3_pid if pair.name == "s3rver" else None)
            # The baseline must have copied everything too.
            size = subprocess.run([rclone, "size", "--json", "--fast-list", pair.rclone_dst(tag)],
                                  env=env, capture_output=True, text=True)
            got = json.loads(size.stdout or "{}") if size.returncode == 0 else {}
            if got.get("count") != seeded["objects"] or got.get("bytes") != seeded["bytes"]:
                sys.exit(f"{pair.name} {tag}: rclone copied {got or size.stderr.strip()}, seeded {seeded}")
            return out

        def fsync_tree(root):
            """fsyncs every file and directory under root (what a durable copy pays); seconds."""
            start = time.monotonic()
            for d, _, files in os.walk(root):
                for name in files + ["."]:
                    fd = os.open(os.path.join(d, name), os.O_RDONLY)
                    try:
                        os.fsync(fd)
                    finally:
                        os.close(fd)
            return time.monotonic() - start

        def case(pair, tag, objects, tools):
            """Seeds fresh objects, runs the tools in order; None and why if dim cannot use the pair."""
            data_dir = os.path.join(tmp, f"{pair.name}-{tag}")
            cfg = dim_config(pair, tag, data_dir)
            check = subprocess.run([dim, "config", "check", cfg], capture_output=True, text=True)
            if check.returncode != 0:
                return None, f"dim cannot use {pair.name} sites: {(check.stderr or check.stdout).strip()}"
            seeded = run_json([seed, "seed", "--config", cfg, "--objects", objects])
            out = {}
            for tool in tools:
                os.sync()  # untimed: the seed's and the previous tool's dirty pages reach the disk
                secs, rss, cpu = drain(cfg, tag, pair) if tool == "dim" else rclone_copy(pair, tag, data_dir, seeded)
                out[tool] = {"mibs": seeded["bytes"] / secs / 1048576, "secs": secs, "rss": rss, "cpu": cpu,
                             "files_s": seeded["objects"] / secs,
                             "mib_per_cpu_s": seeded["bytes"] / max(cpu, 1e-6) / 1048576,
                             "bytes": seeded["bytes"]}
                if tool == "rclone" and pair.name == "local":
                    # rclone does not fsync; the migrator fsyncs every blob before it commits it.
                    # Also time rclone plus an fsync of what it wrote: the same durability.
                    fs = fsync_tree(pair.rclone_dst(tag))
                    out["rclone+fsync"] = {"mibs": seeded["bytes"] / (secs + fs) / 1048576,
                                           "files_s": seeded["objects"] / (secs + fs),
                                           "secs": secs + fs, "rss": rss, "cpu": cpu,
                                           "mib_per_cpu_s": out[tool]["mib_per_cpu_s"],
                                           "bytes": seeded["bytes"]}
                if tool == "dim":
                    checked = run_json([seed, "check", "--config", cfg])
                    if checked["verified"] != seeded["objects"] or checked["bytes"] != seeded["bytes"]:
                        sys.exit(f"{pair.name} {tag}: {checked} after seeding {seeded}")
            # Free the disk before the next case.
            shutil.rmtree(data_dir, ignore_errors=True)
            shutil.rmtree(os.path.join(tmp, f"rclone-dst-{tag}"), ignore_errors=True)
            return out, None

        for run in range(args.runs):
            for pname in list(pairs):
                pair = Pair(pname, tmp, s3_port)
                # The migrator goes first in even runs, rclone in odd ones, on the same fresh data.
                order = ["dim", "rclone"] if run % 2 == 0 else ["rclone", "dim"]
                out, skip = case(pair, f"r{run}", args.objects, order)
                if skip:
                    notes.append(skip)
                    print(f"{pname}: NOT run — {skip}", flush=True)
                    pairs.remove(pname)
                    continue
                m, r = out["dim"], out["rclone"]
                results.setdefault((pname, "dim"), []).append(m)
                results.setdefault((pname, "rclone"), []).append(r)
                durable = ""
                if "rclone+fsync" in out:
                    results.setdefault((pname, "rclone+fsync"), []).append(out["rclone+fsync"])
                    durable = (f"  rclone+fsync {out['rclone+fsync']['mibs']:7.1f} MiB/s "
                               f"ratio {m['mibs'] / out['rclone+fsync']['mibs']:.2f}x")
                print(f"run {run + 1}/{args.runs} {pname:7} {m['bytes'] / 1048576:7.0f} MiB  dim migrator "
                      f"{m['mibs']:7.1f} MiB/s (rss {m['rss']:5.1f} MiB, {m['cpu']:.1f} cpu-s)  rclone "
                      f"{r['mibs']:7.1f} MiB/s (rss {r['rss']:5.1f} MiB, {r['cpu']:.1f} cpu-s)  ratio "
                      f"{m['mibs'] / r['mibs']:.2f}x{durable}  load {os.getloadavg()[0]:.1f}", flush=True)

        small = []
        for run in range(args.runs if args.small_tasks > 0 else 0):
            order = ["dim", "rclone"] if run % 2 == 0 else ["rclone", "dim"]
            out, skip = case(Pair("local", tmp), f"small{run}", f"{args.small_tasks}x4K", order)
            if skip:
                sys.exit(skip)
            small.append(out)
            print(f"run {run + 1}/{args.runs} {args.small_tasks} x 4 KiB local: dim migrator "
                  f"{out['dim']['files_s']:7.0f} files/s ({out['dim']['cpu']:.1f} cpu-s)  rclone "
                  f"{out['rclone']['files_s']:7.0f} files/s ({out['rclone']['cpu']:.1f} cpu-s)  "
                  f"rclone+fsync {out['rclone+fsync']['files_s']:7.0f} files/s  ratio "
                  f"{out['dim']['files_s'] / out['rclone']['files_s']:.2f}x  load {os.getloadavg()[0]:.1f}",
                  flush=True)

        huge = None
        if args.huge_mib:
            out, skip = case(Pair("local", tmp), "huge", f"1x{args.huge_mib}M", ["dim"])
            if skip:
                sys.exit(skip)
            huge = m = out["dim"]
            results[("huge", "dim")] = [m]
            print(f"{args.huge_mib} MiB object, local -> local: dim migrator {m['mibs']:.1f} MiB/s, "
                  f"peak RSS {m['rss']:.1f} MiB", flush=True)

        def med(pname, tool, field):
            return statistics.median(x[field] for x in results[(pname, tool)])

        print()
        print(f"Medians of {args.runs} runs ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
              f"objects {args.objects}, {WORKERS} workers / transfers)")
        print("CPU-s: the tool's user + system time, plus on the s3rver pair the server's during that run")
        print("| pair | dim migrator MiB/s | rclone copy --checksum MiB/s | ratio | rclone + fsync MiB/s | ratio "
              "| dim MiB per CPU-s | rclone MiB per CPU-s | ratio | dim peak RSS MiB | rclone peak RSS MiB |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        ok = True
        for pname in pairs:
            ratio = med(pname, "dim", "mibs") / med(pname, "rclone", "mibs")
            ok &= ratio >= 1.0
            durable = "— | —"
            if (pname, "rclone+fsync") in results:
                d = med(pname, "rclone+fsync", "mibs")
                durable = f"{d:.1f} | {med(pname, 'dim', 'mibs') / d:.2f}x"
            dc, rc = med(pname, "dim", "mib_per_cpu_s"), med(pname, "rclone", "mib_per_cpu_s")
            print(f"| {pname} | {med(pname, 'dim', 'mibs'):.1f} | {med(pname, 'rclone', 'mibs'):.1f} | "
                  f"{ratio:.2f}x | {durable} | {dc:.1f} | {rc:.1f} | {dc / rc:.2f}x | "
                  f"{med(pname, 'dim', 'rss'):.1f} | {med(pname, 'rclone', 'rss'):.1f} |")
        print()
        for pname in pairs:
            # The goal is judged on the ratio of the medians; the paired ratios (dim / rclone within
            # each run, on the same data minutes apart) are shown beside it, since the host's speed
            # drifts between runs more than it does within one.
            ratio = med(pname, "dim", "mibs") / med(pname, "rclone", "mibs")
            paired = [d["mibs"] / r["mibs"] for d, r in zip(results[(pname, "dim")], results[(pname, "rclone")])]
            print(f"goal {pname} throughput >= 1.0x rclone: {ratio:.3f}x — {'met' if ratio >= 1.0 else 'NOT met'} "
                  f"(per-run ratios {', '.join(f'{x:.2f}' for x in paired)}; "
                  f"their median {statistics.median(paired):.3f}x)")
            if (pname, "rclone+fsync") in results:
                d = med(pname, "dim", "mibs") / med(pname, "rclone+fsync", "mibs")
                print(f"     {pname} vs rclone with the same durability (+ fsync of its files): {d:.2f}x")
        for note in notes:
            print(f"not measured: {note}")
        if small:
            def smed(tool, field):
                return statistics.median(o[tool][field] for o in small)
            d, r, rf = smed("dim", "files_s"), smed("rclone", "files_s"), smed("rclone+fsync", "files_s")
            print(f"per-task overhead, {args.small_tasks} x 4 KiB local -> local (medians): dim migrator "
                  f"{d:.0f} files/s ({smed('dim', 'cpu'):.2f} cpu-s), rclone {r:.0f} files/s "
                  f"({smed('rclone', 'cpu'):.2f} cpu-s) = {d / r:.2f}x, rclone+fsync {rf:.0f} files/s = "
                  f"{d / rf:.2f}x")
        if huge:
            print(f"goal peak RSS moving {args.huge_mib} MiB < 64 MiB: {huge['rss']:.1f} MiB — "
                  f"{'met' if huge['rss'] < 64 else 'NOT met'}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({**{f"{k[0]}|{k[1]}": v for k, v in results.items()}, "small": small}, f, indent=1)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
