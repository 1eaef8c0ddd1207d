#!/usr/bin/env bash
# Drift benchmark: `amlops drift` against the numpy/scipy baseline (bench/drift/), side by side.
#
#   bench/drift.sh [SIZES...] [-- FORMATS...]     default: S M -- parquet csv
#   e.g. bench/drift.sh S M L -- parquet
#   RUNS=5 bench/drift.sh L -- parquet            runs of each tool (default 3)
#
# Data, the Python venv and results live in bench-data/ (git-ignored). For every size and
# format it runs both tools RUNS times, alternating, under /usr/bin/time -v (page cache warmed
# before each run), checks that every value agrees to 1e-6 relative and every verdict is equal
# (bench/drift_compare.py), and writes a table with the median wall time, the largest peak RSS
# and the ratio of the medians to bench-data/drift-results.md (each run's times go to
# bench-data/drift-runs.txt).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="${RUNS:-3}"
# shellcheck source=bench/drift_lib.sh
source "$ROOT/bench/drift_lib.sh" # drift_init, drift_build, measure, median, largest, bench_pair

sizes=(); formats=()
while [[ $# -gt 0 && "$1" != "--" ]]; do sizes+=("$1"); shift; done
[[ $# -gt 0 ]] && shift
formats=("$@")
[[ ${#sizes[@]} -eq 0 ]] && sizes=(S M)
[[ ${#formats[@]} -eq 0 ]] && formats=(parquet csv)

drift_init # bench-data/ and its venv
for s in "${sizes[@]}"; do
  [[ -f "$DATA/$s/target.csv" ]] || "$VENV/bin/python" "$ROOT/bench/drift_gen.py" "$DATA" "$s"
done
drift_build

RES="$DATA/drift-results.md"
RUNLOG="$DATA/drift-runs.txt"
{
  echo "| size | format | runs | amlops s (median) | amlops MiB | numpy s (median) | numpy MiB | speed-up | values/verdicts |"
  echo "|---|---|---|---|---|---|---|---|---|"
} > "$RES"
: > "$RUNLOG"
status=0
for s in "${sizes[@]}"; do
  for f in "${formats[@]}"; do
    bench_pair "$s" "$f" "$DATA/$s" "$DATA/$s-"
    [[ "$check" == equal ]] || status=1
    echo "| $s | $f | $RUNS | $aw | $ar | $nw | $nr | $ratio | $check |" | tee -a "$RES"
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); results in $RES, each run in $RUNLOG"
exit $status
