#!/usr/bin/env bash
# Drift benchmark on data sets the engine has never seen (issue 17): `amlops drift` against the
# numpy/scipy baseline on the sets of bench/drift_unseen_gen.py (other distributions, float32,
# int32/int64 both sides of the 5% rule, booleans, nullable strings, nulls, gzip/zstd/snappy/
# uncompressed/lz4/brotli, dictionary on and off, row groups, page v2, no statistics, ...).
#
#   bench/drift_unseen.sh [SETS...] [-- FORMATS...]   default: every set -- parquet csv
#   ROWS=200k bench/drift_unseen.sh                  base rows of the sets (default 2M: about
#                                                    2M baseline and 1.5M target rows a set)
#   RUNS=5 bench/drift_unseen.sh dists ints -- parquet   runs of each tool (default 3)
#   CLEAN=1 bench/drift_unseen.sh                    delete each set's data once it is measured
#   bench-data/.venv/bin/python bench/drift_unseen_gen.py --list     the sets and their columns
#
# Data (bench-data/unseen-<ROWS>/<set>/, with set.json describing it), reports and results live
# in bench-data/ (git-ignored). For every set and format both tools run RUNS times, alternating,
# under /usr/bin/time -v, page cache warmed (bench/drift_lib.sh, shared with bench/drift.sh);
# bench/drift_compare.py checks every value (1e-6 relative) and every verdict, and this script
# also checks that both report the same rows and the same columns. A tool that fails is recorded
# with its error. The table (median wall times, largest peak RSS, speed-up, values equal or not)
# goes to bench-data/drift-unseen-results.md, each run to bench-data/drift-unseen-runs.txt.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUNS="${RUNS:-3}"
ROWS="${ROWS:-2000000}"
CLEAN="${CLEAN:-0}"
# shellcheck source=bench/drift_lib.sh
source "$ROOT/bench/drift_lib.sh" # drift_init, drift_build, measure, median, largest, bench_pair

sets=(); formats=()
while [[ $# -gt 0 && "$1" != "--" ]]; do sets+=("$1"); shift; done
[[ $# -gt 0 ]] && shift
formats=("$@")
[[ ${#formats[@]} -eq 0 ]] && formats=(parquet csv)

drift_init # bench-data/ and its venv
GEN=("$VENV/bin/python" "$ROOT/bench/drift_unseen_gen.py")
if [[ ${#sets[@]} -eq 0 ]]; then
  mapfile -t sets < <("${GEN[@]}" --list | awk -F: '/^[a-z]/{print $1}')
fi
OUT="$DATA/unseen-$ROWS"
drift_build

RES="$DATA/drift-unseen-results.md"
RUNLOG="$DATA/drift-unseen-runs.txt"
{
  echo "| set | format | rows (baseline/target) | runs | amlops s (median) | amlops MiB | numpy s (median) | numpy MiB | speed-up | values/verdicts |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
} > "$RES"
: > "$RUNLOG"
status=0
for s in "${sets[@]}"; do
  [[ -f "$OUT/$s/set.json" ]] || "${GEN[@]}" "$OUT" --rows "$ROWS" --sets "$s"
  rows=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["rows"]; print(r["baseline"], r["target"], sep="/")' \
    "$OUT/$s/set.json")
  for f in "${formats[@]}"; do
    err="$OUT/$s-error-$f.txt"
    if ! bench_pair "$s" "$f" "$OUT/$s" "$OUT/$s-" 2> "$err"; then
      status=1
      msg=$(grep -v -e '^[[:space:]]' -e '^Command' "$err" || true)
      msg=$(grep -m1 -i -e error -e panic <<< "$msg" || head -1 <<< "$msg")
      msg="${msg//|//}"; msg="${msg:0:240}"
      echo "| $s | $f | $rows | - | - | - | - | - | - | ERROR ($failed): $msg (see $(basename "$err")) |" | tee -a "$RES"
      continue
    fi
    rm -f "$err"
    # Beyond drift_compare.py: the same rows used and the same columns reported.
    if ! python3 - "$OUT/$s-amlops-$f.json" "$OUT/$s-numpy-$f.json" >> "$OUT/$s-compare-$f.txt" <<'PY'; then
import json, sys
a, n = (json.load(open(p)) for p in sys.argv[1:3])
bad = []
for side in ("baseline", "target"):
    if a["rows"][side] != n["rows"][side]:
        bad.append(f"rows {side}: amlops {a['rows'][side]} numpy {n['rows'][side]}")
extra = sorted(set(a["columns"]) - set(n["columns"]))
if extra:
    bad.append(f"columns only amlops reports: {extra}")
for line in bad:
    print(line)
sys.exit(1 if bad else 0)
PY
      check="DIFFER (see $s-compare-$f.txt)"
    fi
    [[ "$check" == equal ]] || status=1
    echo "| $s | $f | $rows | $RUNS | $aw | $ar | $nw | $nr | $ratio | $check |" | tee -a "$RES"
  done
  if [[ "$CLEAN" == 1 ]]; then rm -rf "${OUT:?}/$s"; fi
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); results in $RES, each run in $RUNLOG"
exit $status
