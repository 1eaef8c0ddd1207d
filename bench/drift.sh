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
BASELINE_DIR="$ROOT/bench/drift" # generator and numpy baseline (provenance in its README)
DATA="$ROOT/bench-data"
VENV="$DATA/.venv"
THRESHOLDS="js=0.1,psi=0.1,nwd=0.1,ks=0.05,chi2=0.05" # the numpy baseline's thresholds
RUNS="${RUNS:-3}"

sizes=(); formats=()
while [[ $# -gt 0 && "$1" != "--" ]]; do sizes+=("$1"); shift; done
[[ $# -gt 0 ]] && shift
formats=("$@")
[[ ${#sizes[@]} -eq 0 ]] && sizes=(S M)
[[ ${#formats[@]} -eq 0 ]] && formats=(parquet csv)

mkdir -p "$DATA"
if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q numpy==2.4.6 scipy==1.17.1 pyarrow==26.0.1
fi
for s in "${sizes[@]}"; do
  [[ -f "$DATA/$s/target.csv" ]] || "$VENV/bin/python" "$ROOT/bench/drift_gen.py" "$DATA" "$s"
done
(cd "$ROOT" && cargo build --profile perf -p amlops --quiet) # thin LTO: Cargo.toml [profile.perf]
AMLOPS="$ROOT/target/perf/amlops"

measure() { # label outfile cmd... -> prints "wall_s rss_mib"
  local log; log="$(mktemp)"
  /usr/bin/time -v "${@:2}" > "$1" 2> "$log" || { cat "$log" >&2; rm -f "$log"; return 1; }
  awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; w=s}
              /Maximum resident set size/{r=$2/1024} END{printf "%.2f %.0f\n", w, r}' "$log"
  rm -f "$log"
}

median() { tr ' ' '\n' | sort -g | awk '{v[NR]=$1} END{print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
largest() { tr ' ' '\n' | sort -g | tail -1; }

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
    b="$DATA/$s/baseline.$f"; t="$DATA/$s/target.$f"
    aws=(); ars=(); nws=(); nrs=()
    for ((r = 1; r <= RUNS; r++)); do
      cat "$b" "$t" > /dev/null
      read -r aw ar < <(measure "$DATA/$s-amlops-$f.json" "$AMLOPS" drift --baseline "$b" --target "$t" \
        --thresholds "$THRESHOLDS" --temp-dir "$DATA")
      cat "$b" "$t" > /dev/null
      read -r nw nr < <(cd "$BASELINE_DIR" && measure "$DATA/$s-numpy-$f.json" "$VENV/bin/python" baseline_numpy.py \
        --size "$s" --format "$f" --data-dir "$DATA/$s")
      echo "$s $f run $r: amlops ${aw}s ${ar}MiB, numpy ${nw}s ${nr}MiB" | tee -a "$RUNLOG"
      aws+=("$aw"); ars+=("$ar"); nws+=("$nw"); nrs+=("$nr")
    done
    if python3 "$ROOT/bench/drift_compare.py" "$DATA/$s-amlops-$f.json" "$DATA/$s-numpy-$f.json" \
         > "$DATA/$s-compare-$f.txt"; then check="equal"; else check="DIFFER (see $s-compare-$f.txt)"; status=1; fi
    aw=$(echo "${aws[*]}" | median); nw=$(echo "${nws[*]}" | median)
    ar=$(echo "${ars[*]}" | largest); nr=$(echo "${nrs[*]}" | largest)
    ratio=$(awk -v a="$aw" -v n="$nw" 'BEGIN{printf "%.1fx", n/a}')
    echo "| $s | $f | $RUNS | $aw | $ar | $nw | $nr | $ratio | $check |" | tee -a "$RES"
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); results in $RES, each run in $RUNLOG"
exit $status
