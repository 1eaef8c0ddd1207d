#!/usr/bin/env python3
# Carried over from the drift-benchmark reference this project was given (see bench/drift/README.md); only this line was added.
"""Deterministic baseline/target datasets for the drift-gate benchmark.

Writes data/<SIZE>/{baseline,target}.{csv,parquet} and data/<SIZE>/expected.json.
Both files of a pair have the same number of rows (SIZE: S=100k, M=1M, L=10M).

Columns: 16 numerical float64 (n00..n15) and 4 categorical strings (c0..c3).
S, M, L: numbers are rounded to 4 decimals, Parquet is Snappy-compressed.
MF, LF ("full precision", 1M and 10M rows): the same columns with every double as drawn (no rounding,
as real features usually are) and zstd-compressed Parquet. In both, CSV and Parquet hold exactly the same
values (shortest-repr CSV text parses back to the identical double).

Usage: python gen_data.py S M L MF LF       (default: S M)
"""
import json
import os
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

SIZES = {"S": 100_000, "M": 1_000_000, "L": 10_000_000, "MF": 1_000_000, "LF": 10_000_000}
SEED = 20240607
CHUNK = 1_000_000  # rows generated per chunk (bounds peak memory at L)
NULL_FRACTION_N14 = 0.005  # n14 has 0.5 % nulls in both files (tests row-wise dropna)


def _zipf(k, s):
    w = 1.0 / np.arange(1, k + 1) ** s
    return w / w.sum()


# ---- column specification ---------------------------------------------------
# Each numerical spec: (name, sampler(rng, n, is_target), drifted, kind, note)


def normal(mu, sd):
    return lambda rng, n: rng.normal(mu, sd, n)


NUM = [
    # drifted
    ("n00", lambda r, n, t: r.normal(50.0 + (5.0 if t else 0.0), 10.0, n), True, "mean_shift", "normal mu 50 -> 55 (+0.5 sd)"),
    ("n01", lambda r, n, t: r.normal(0.0, 1.5 if t else 1.0, n), True, "variance_scale", "normal sd 1.0 -> 1.5"),
    ("n02", lambda r, n, t: r.lognormal(3.0 + (0.3 if t else 0.0), 0.5, n), True, "mean_shift", "lognormal log-mu 3.0 -> 3.3 (x1.35)"),
    ("n03", lambda r, n, t: r.uniform(0.0, 130.0 if t else 100.0, n), True, "range_widen", "uniform [0,100] -> [0,130]"),
    ("n04", lambda r, n, t: np.where(r.random(n) < (0.6 if t else 0.3), r.normal(10.0, 1.0, n), r.normal(0.0, 1.0, n)), True,
     "mixture_weight", "bimodal N(0,1)/N(10,1), weight of 2nd mode 0.3 -> 0.6"),
    ("n05", lambda r, n, t: r.exponential(2.0 * (0.6 if t else 1.0), n), True, "variance_scale", "exponential scale 2.0 -> 1.2"),
    ("n06", lambda r, n, t: r.normal(0.0 + (0.05 if t else 0.0), 1.0, n), True, "subtle_mean_shift",
     "normal mu 0 -> 0.05 (+0.05 sd): subtle, below distance thresholds, visible to KS at these n"),
    # not drifted
    ("n07", lambda r, n, t: r.normal(100.0, 15.0, n), False, "none", "normal"),
    ("n08", lambda r, n, t: r.lognormal(0.0, 1.0, n), False, "none", "lognormal (skewed)"),
    ("n09", lambda r, n, t: r.uniform(-1.0, 1.0, n), False, "none", "uniform"),
    ("n10", lambda r, n, t: r.standard_t(3.0, n), False, "none", "student-t df=3 (heavy tails)"),
    ("n11", lambda r, n, t: r.gamma(2.0, 3.0, n), False, "none", "gamma"),
    ("n12", lambda r, n, t: r.pareto(2.5, n) * 1000.0, False, "none", "pareto (outliers dominate min/max binning)"),
    ("n13", lambda r, n, t: r.beta(2.0, 5.0, n), False, "none", "beta"),
    ("n14", lambda r, n, t: r.normal(-20.0, 4.0, n), False, "none", "normal with 0.5% nulls"),
    ("n15", lambda r, n, t: np.where(r.random(n) < 0.5, r.normal(-3.0, 1.0, n), r.normal(3.0, 1.0, n)), False, "none", "bimodal"),
]

C1_BASE = _zipf(100, 1.1)
_perm_rng = np.random.default_rng(SEED + 99)
C1_TARGET = C1_BASE.copy()
C1_TARGET[:20] = C1_BASE[:20][_perm_rng.permutation(20)]  # re-rank the 20 most frequent categories
C2_BASE = _zipf(1000, 0.8)
C2_TARGET = np.concatenate([0.9 * C2_BASE, 0.1 * _zipf(100, 0.8)])  # 10 % mass on 100 unseen categories

# categorical spec: (name, labels_base, p_base, labels_target, p_target, drifted, kind, note)
CAT = [
    ("c0", [f"c0_{i:02d}" for i in range(10)], _zipf(10, 0.5), None, None, False, "none", "10 categories"),
    ("c1", [f"c1_{i:03d}" for i in range(100)], C1_BASE, None, C1_TARGET, True, "reweight",
     "100 categories; probabilities of the 20 most frequent permuted"),
    ("c2", [f"c2_{i:04d}" for i in range(1000)], C2_BASE, [f"c2_{i:04d}" for i in range(1100)], C2_TARGET, True,
     "new_categories", "1000 categories; target puts 10% mass on 100 categories unseen in baseline"),
    ("c3", [f"c3_{i:02d}" for i in range(50)], np.full(50, 1 / 50), None, None, False, "none", "50 categories, uniform"),
]


def gen_chunk(rng, n, is_target, full=False):
    cols = {}
    for name, fn, *_ in NUM:
        x = fn(rng, n, is_target) if full else np.round(fn(rng, n, is_target), 4)
        if name == "n14":
            mask = rng.random(n) < NULL_FRACTION_N14
            cols[name] = pa.array(x, mask=mask, type=pa.float64())
        else:
            cols[name] = pa.array(x, type=pa.float64())
    for name, lab_b, p_b, lab_t, p_t, *_ in CAT:
        labels = lab_t if (is_target and lab_t is not None) else lab_b
        p = p_t if (is_target and p_t is not None) else p_b
        idx = rng.choice(len(labels), size=n, p=p).astype(np.int32)
        dict_arr = pa.DictionaryArray.from_arrays(pa.array(idx), pa.array(labels))
        cols[name] = dict_arr.cast(pa.string())
    return pa.table(cols)


def write_pair(out_dir, n_rows, full=False):
    os.makedirs(out_dir, exist_ok=True)
    for which, is_target, seed_off in (("baseline", False, 1), ("target", True, 2)):
        rng = np.random.default_rng([SEED, n_rows, seed_off])
        pq_path = os.path.join(out_dir, f"{which}.parquet")
        csv_path = os.path.join(out_dir, f"{which}.csv")
        pq_writer = csv_writer = None
        done = 0
        while done < n_rows:
            n = min(CHUNK, n_rows - done)
            tbl = gen_chunk(rng, n, is_target, full)
            if pq_writer is None:
                pq_writer = pq.ParquetWriter(pq_path, tbl.schema, compression="zstd" if full else "snappy")
                csv_writer = pacsv.CSVWriter(csv_path, tbl.schema, write_options=pacsv.WriteOptions(quoting_style="needed"))
            pq_writer.write_table(tbl, row_group_size=CHUNK)
            csv_writer.write_table(tbl)
            done += n
        pq_writer.close()
        csv_writer.close()


def expected(n_rows):
    cols = {}
    for name, _fn, drifted, kind, note in NUM:
        cols[name] = {"type": "numerical", "drifted": drifted, "kind": kind, "note": note}
    for name, *_rest in CAT:
        drifted, kind, note = _rest[-3], _rest[-2], _rest[-1]
        cols[name] = {"type": "categorical", "drifted": drifted, "kind": kind, "note": note}
    return {
        "rows_baseline": n_rows,
        "rows_target": n_rows,
        "seed": SEED,
        "null_fraction": {"n14": NULL_FRACTION_N14},
        "drifted_columns": [c for c, v in cols.items() if v["drifted"]],
        "clean_columns": [c for c, v in cols.items() if not v["drifted"]],
        "subtle_columns": [c for c, v in cols.items() if v["kind"].startswith("subtle")],
        "columns": cols,
    }


def main():
    sizes = sys.argv[1:] or ["S", "M"]
    here = os.path.dirname(os.path.abspath(__file__))
    for s in sizes:
        t0 = time.perf_counter()
        out = os.path.join(here, "data", s)
        write_pair(out, SIZES[s], full=s.endswith("F"))
        with open(os.path.join(out, "expected.json"), "w") as f:
            json.dump(expected(SIZES[s]), f, indent=1)
        print(f"{s}: {SIZES[s]} rows x2 written to {out} in {time.perf_counter() - t0:.1f}s", flush=True)


if __name__ == "__main__":
    main()
