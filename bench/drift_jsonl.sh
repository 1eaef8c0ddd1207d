#!/usr/bin/env bash
# JSON Lines benchmark: `amlops drift` on the same rows as CSV and as Azure ML data-collector
# JSON Lines (events of 100 rows), alternating runs, medians. Goal: JSON Lines within 2x of CSV.
#
#   bench/drift_jsonl.sh [ROWS]        default 1000000 rows a side
#   RUNS=7 bench/drift_jsonl.sh        runs of each format (default 5)
#
# Data (bench/drift_jsonl_gen.py, standard-library Python) and results live in bench-data/jsonl-<ROWS>/
# (git-ignored). Both formats must give the same report (checked before timing).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ROWS="${1:-1000000}"
RUNS="${RUNS:-5}"
DATA="$ROOT/bench-data/jsonl-$ROWS"
[[ -f "$DATA/target.jsonl" ]] || python3 "$ROOT/bench/drift_jsonl_gen.py" "$DATA" "$ROWS"
(cd "$ROOT" && cargo build --profile perf -p amlops --quiet)
AMLOPS="$ROOT/target/perf/amlops"

run() { # format -> wall seconds
  local start end
  start=$(date +%s.%N)
  "$AMLOPS" drift --baseline "$DATA/baseline.$1" --target "$DATA/target.$1" --output "$DATA/report.$1.json" > /dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{v[NR]=$1} END{print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

cat "$DATA"/*.csv "$DATA"/*.jsonl > /dev/null # warm the page cache
run csv > /dev/null
run jsonl > /dev/null
python3 - "$DATA" <<'PY'
import json, sys
d = sys.argv[1]
a, b = (json.load(open(f"{d}/report.{f}.json")) for f in ("csv", "jsonl"))
assert a["columns"] == b["columns"] and a["rows"] == b["rows"], "CSV and JSON Lines reports differ"
PY
csv_t=(); jsonl_t=()
for ((i = 0; i < RUNS; i++)); do
  csv_t+=("$(run csv)")
  jsonl_t+=("$(run jsonl)")
done
mc=$(echo "${csv_t[*]}" | median); mj=$(echo "${jsonl_t[*]}" | median)
size() { du -m "$DATA/baseline.$1" "$DATA/target.$1" | awk '{s+=$1} END{print s}'; }
printf "rows a side: %s, runs: %s\n" "$ROWS" "$RUNS"
printf "csv:   %s MiB, median %.2f s (runs: %s)\n" "$(size csv)" "$mc" "${csv_t[*]}"
printf "jsonl: %s MiB, median %.2f s (runs: %s)\n" "$(size jsonl)" "$mj" "${jsonl_t[*]}"
printf "jsonl / csv: %.2fx (goal: at most 2x)\n" "$(echo "$mj / $mc" | bc -l)"
