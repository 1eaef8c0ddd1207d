# Shell functions shared by the drift benchmarks (bench/drift.sh, bench/drift_unseen.sh); source it.
#
# The caller sets ROOT (the repository) and RUNS; drift_init sets DATA, VENV, BASELINE_DIR and
# THRESHOLDS, drift_build sets AMLOPS. bench_pair needs RUNLOG (each run's figures are appended).

drift_init() { # creates bench-data/ and its Python venv (numpy, scipy, pyarrow) when missing
  BASELINE_DIR="$ROOT/bench/drift" # generator and numpy baseline (provenance in its README)
  DATA="$ROOT/bench-data"
  VENV="$DATA/.venv"
  THRESHOLDS="js=0.1,psi=0.1,nwd=0.1,ks=0.05,chi2=0.05" # the numpy baseline's thresholds
  mkdir -p "$DATA"
  if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q numpy==2.4.6 scipy==1.17.1 pyarrow==26.0.1
  fi
}

drift_build() { # builds target/perf/amlops (thin LTO: Cargo.toml [profile.perf]); AMLOPS_BIN=path: that binary, no build
  if [[ -n "${AMLOPS_BIN:-}" ]]; then
    AMLOPS="$AMLOPS_BIN"
    return 0
  fi
  (cd "$ROOT" && cargo build --profile perf -p amlops --quiet)
  AMLOPS="$ROOT/target/perf/amlops"
}

measure() { # label outfile cmd... -> prints "wall_s rss_mib"
  local log; log="$(mktemp)"
  /usr/bin/time -v "${@:2}" > "$1" 2> "$log" || { cat "$log" >&2; rm -f "$log"; return 1; }
  awk -F': ' '/Elapsed \(wall clock\)/{n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; w=s}
              /Maximum resident set size/{r=$2/1024} END{printf "%.2f %.0f\n", w, r}' "$log"
  rm -f "$log"
}

median() { tr ' ' '\n' | sort -g | awk '{v[NR]=$1} END{print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
largest() { tr ' ' '\n' | sort -g | tail -1; }

# bench_pair LABEL FORMAT DATA_DIR OUT_PREFIX: runs `amlops drift` and the numpy baseline on
# DATA_DIR/{baseline,target}.FORMAT RUNS times, alternating, page cache warmed before each run;
# reports go to OUT_PREFIX{amlops,numpy}-FORMAT.json, the check to OUT_PREFIX compare-FORMAT.txt.
# Sets aw nw (median wall s), ar nr (largest peak RSS MiB), ratio and check ("equal" or
# "DIFFER (see ...)"). Returns 1 when a tool fails (its error on stderr, its name in failed), else 0.
bench_pair() {
  local label="$1" f="$2" dir="$3" prefix="$4"
  local b="$dir/baseline.$f" t="$dir/target.$f" r out
  local aws=() ars=() nws=() nrs=()
  for ((r = 1; r <= RUNS; r++)); do
    cat "$b" "$t" > /dev/null
    out="$(measure "${prefix}amlops-$f.json" "$AMLOPS" drift --baseline "$b" --target "$t" \
      --thresholds "$THRESHOLDS" --temp-dir "$DATA")" || { failed=amlops; return 1; }
    read -r aw ar <<< "$out"
    cat "$b" "$t" > /dev/null
    out="$(cd "$BASELINE_DIR" && measure "${prefix}numpy-$f.json" "$VENV/bin/python" baseline_numpy.py \
      --size "$label" --format "$f" --data-dir "$dir")" || { failed=numpy; return 1; }
    read -r nw nr <<< "$out"
    echo "$label $f run $r: amlops ${aw}s ${ar}MiB, numpy ${nw}s ${nr}MiB" | tee -a "$RUNLOG"
    aws+=("$aw"); ars+=("$ar"); nws+=("$nw"); nrs+=("$nr")
  done
  if python3 "$ROOT/bench/drift_compare.py" "${prefix}amlops-$f.json" "${prefix}numpy-$f.json" \
       > "${prefix}compare-$f.txt"; then check="equal"; else check="DIFFER (see $(basename "${prefix}")compare-$f.txt)"; fi
  aw=$(echo "${aws[*]}" | median); nw=$(echo "${nws[*]}" | median)
  ar=$(echo "${ars[*]}" | largest); nr=$(echo "${nrs[*]}" | largest)
  ratio=$(awk -v a="$aw" -v n="$nw" 'BEGIN{printf "%.1fx", n/a}')
  return 0
}
