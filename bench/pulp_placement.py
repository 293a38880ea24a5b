#!/usr/bin/python3
"""The seed's way of placing one object: build the problem in PuLP and call the CBC binary.

Reads placement problems (one JSON object per line, written by build/bench/optimizer_bench) and
solves each as its own MILP, exactly as bench/README.md describes:
  binaries x_s (site s holds a replica) and y_s (s is the primary)
  min  constant + sum a_s x_s + sum b_s y_s
  s.t. sum x = k; sum y = 1; y_s <= x_s; y_s = 0 off the tier's class (when active);
       sum_{s under the SLA} x_s >= 1 (when active); sum_{s of provider p} x_s <= 1 (when active)
Writes {"solved": n, "seconds": wall time of building and solving, "objectives": [...],
"masks": [...]} as JSON to the output file. Usage: pulp_placement.py IN.jsonl OUT.json
"""
import json
import sys
import time

import pulp


def solve(p, solver):
    sites = [s for s in range(p["n"]) if p["allowed"] >> s & 1]
    prob = pulp.LpProblem("placement", pulp.LpMinimize)
    x = {s: pulp.LpVariable(f"x{s}", cat="Binary") for s in sites}
    y = {s: pulp.LpVariable(f"y{s}", cat="Binary") for s in sites}
    prob += p["constant"] + pulp.lpSum(p["a"][s] * x[s] + p["b"][s] * y[s] for s in sites)
    prob += pulp.lpSum(x.values()) == p["k"]
    prob += pulp.lpSum(y.values()) == 1
    for s in sites:
        prob += y[s] <= x[s]
        if p["class_active"] and not (p["cls"] >> s & 1):
            prob += y[s] == 0
    if p["sla_active"]:
        prob += pulp.lpSum(x[s] for s in sites if p["sla"] >> s & 1) >= 1
    if p["diversity_active"]:
        for prov in set(p["provider"][s] for s in sites):
            prob += pulp.lpSum(x[s] for s in sites if p["provider"][s] == prov) <= 1
    status = prob.solve(solver)
    if pulp.LpStatus[status] != "Optimal":
        return None, 0
    mask = 0
    for s in sites:
        if x[s].value() > 0.5:
            mask |= 1 << s
    return pulp.value(prob.objective), mask


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    problems = []
    with open(sys.argv[1]) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                problems.append(json.loads(line))
            except json.JSONDecodeError as e:
                print(f"{sys.argv[1]}:{n}: not JSON: {e}", file=sys.stderr)
                return 1
    solver = pulp.COIN_CMD(path="/usr/bin/cbc", msg=False)
    objectives, masks = [], []
    t0 = time.perf_counter()
    for p in problems:
        obj, mask = solve(p, solver)
        objectives.append(obj)
        masks.append(mask)
    seconds = time.perf_counter() - t0
    with open(sys.argv[2], "w") as f:
        json.dump({"solved": len(problems), "seconds": seconds, "objectives": objectives,
                   "masks": masks}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
