#!/usr/bin/env bash
# Trains a random forest and boosted trees on each real trace in ../shared/traces with
# `dim train`, judges both against the heuristic with `dim evaluate` (the last 30% of the trace's
# time span, which training never saw), prints AUC, precision and recall of the three, and
# writes reliability diagrams (gnuplot) beside the models.
# Usage: bench/ml_traces.sh [OUT_DIR]   (default: build/bench-ml)
# The label is scaled to the 54-minute IBM trace: hot = >= 3 accesses in the next 300 s
# (docs/ml.md explains the choice).
set -euo pipefail
cd "$(dirname "$0")/.."
DIM="${DIM_BINARY:-build/dim}"
OUT="${1:-build/bench-ml}"
TRACES="${DIM_TRACES:-../shared/traces}"
LABEL=(--horizon 300 --min-accesses 3 --step 60)
mkdir -p "$OUT"
shopt -s nullglob
traces=("$TRACES"/*/*.csv "$TRACES"/*.csv)
if [ ${#traces[@]} -eq 0 ]; then
  echo "no traces in $TRACES: nothing to evaluate" >&2
  exit 1
fi
printf '%-34s %-29s %8s %10s %8s %8s\n' trace predictor AUC precision recall rows
for t in "${traces[@]}"; do
  name=$(basename "$t" .csv)
  for kind in rf gbt; do
    "$DIM" train --trace "$t" --model "$kind" "${LABEL[@]}" --quiet --out "$OUT/$name-$kind.dim" >/dev/null
    "$DIM" evaluate --model "$OUT/$name-$kind.dim" --trace "$t" --step 60 --quiet --json \
      --plot "$OUT/$name-$kind-reliability.svg" >"$OUT/$name-$kind.json"
  done
  /usr/bin/python3 - "$OUT" "$name" <<'PY'
import json, sys
out, name = sys.argv[1], sys.argv[2]
rows = []
for kind in ("rf", "gbt"):
    j = json.load(open(f"{out}/{name}-{kind}.json"))
    rows.append((j["kind"], j["model"], j["rows"]))
    heur = j["heuristic"]
rows.append(("heuristic", heur, rows[-1][2]))
for who, m, n in rows:
    print(f"{name:<34} {who:<29} {m['auc']:8.4f} {m['precision']:10.4f} {m['recall']:8.4f} {n:8d}")
PY
done
