#!/usr/bin/env python3
"""Drift data sets unlike the fixed benchmark (issue 17: "no fast path may be the only fast path").

Usage: drift_unseen_gen.py OUT_DIR [--rows N] [--seed S] [--sets NAME ...] [--verify]
       drift_unseen_gen.py --list      (the sets, their Parquet layout and columns)

Writes OUT_DIR/<set>/{baseline,target}.{parquet,csv} and OUT_DIR/<set>/set.json for each set. --rows
(default 2000000; 200k or 2M also accepted) is the base row count: each set's baseline and target have
their own fraction of it (most sets 2M baseline rows and 1.5M or 1M target rows at the default), so a
full run of bench/drift_unseen.sh over every set finishes in a few minutes. --seed (default 20261206)
makes every set deterministic. --verify reads each CSV back with pyarrow and checks it holds the
Parquet values (float32 at float32 precision; string nulls read as "", as both tools read them).

Between them the sets cover: lognormal, exponential, uniform, gamma, Student-t (df 1 and 2) and bimodal
mixtures; heavy ties and few distinct values (with -0.0 and 0.0), decimal grids that stop being decimal
late in the file, more than 9 decimals, constant columns (float, string, integer), tiny (1e-200) and huge
(1e150) magnitudes with negative values, values over 60 decades, an offset column (1e9 + N(0, 1)) whose
standard deviation needs two passes, subnormals; float32 columns; int32 and int64 columns on both sides
of the 5% distinct rule (categorical below distinct/rows < 0.05, numerical at and above, one with
nulls where counting distinct over the non-null rows would flip the decision); booleans; nullable
strings (with commas, quotes, non-ASCII and empty strings; zero-padded codes that CSV readers infer
as integers); nulls in several columns at different rates; Parquet codecs gzip, zstd, snappy, lz4,
brotli and uncompressed (whole file and per column); dictionary encoding on, off, per column and with
fallback to PLAIN pages inside a chunk; several row groups of equal and different sizes; data page
v2, no statistics, BYTE_STREAM_SPLIT and DELTA_BINARY_PACKED encodings; int8/int16/uint16/uint32
columns; baseline and target of different lengths (target shorter and longer); columns with no
drift, a little drift and clear drift.

No float column holds NaN or an infinity (a NaN in Parquet is an error in amlops by design): missing
values are nulls. CSV files are written by pyarrow's CSVWriter (floats in shortest round-trip text,
float32 at float32 precision), like bench/drift/gen_data.py. In CSV a float column whose values are
all integral (intlike, binary01, const_zero) reads back as integers, so both tools treat it by the
5% rule there; in CSV string nulls read as "" (both tools), so string sets drop fewer rows. Needs numpy and pyarrow (bench-data/.venv made by bench/drift.sh).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

DEFAULT_ROWS = 2_000_000
DEFAULT_SEED = 20261206


# ----------------------------------------------------------------------------- column helpers
# A column: (name, arrow type, sampler(rng, n, is_target, ctx) -> numpy array or list, null rate
# (baseline, target), drift ("none", "little", "drift"), note). ctx["nb"] is the baseline row count.


def col(name, typ, fn, drift, note, nulls=(0.0, 0.0)):
    return {"name": name, "type": typ, "fn": fn, "drift": drift, "note": note, "nulls": nulls}


def exact_distinct(rng, n, d, offset=0, scale=1):
    """n integers with exactly d distinct values (offset + scale*k, k < d), each k at least once."""
    d = min(d, n)
    k = np.concatenate([np.arange(d, dtype=np.int64), rng.integers(0, d, n - d, dtype=np.int64)])
    rng.shuffle(k)
    return offset + scale * k


def below_5pct(nb):
    """Largest distinct count with distinct/nb < 0.05 (categorical)."""
    return math.ceil(0.05 * nb) - 1


def at_5pct(nb):
    """Smallest distinct count with distinct/nb >= 0.05 (numerical)."""
    return math.ceil(0.05 * nb)


def ids(nb):
    """Distinct ids of i64_ids: 1000, fewer for small sets so that it stays categorical (1% of rows)."""
    return max(20, min(1000, nb // 100))


def mixture(rng, n, w2, a, b):
    """Two normal modes a=(mu, sd) and b=(mu, sd), weight w2 on the second."""
    return np.where(rng.random(n) < w2, rng.normal(b[0], b[1], n), rng.normal(a[0], a[1], n))


def choice(rng, n, values, p):
    p = np.asarray(p, dtype=np.float64)
    return np.asarray(values)[rng.choice(len(values), size=n, p=p / p.sum())]


def zipf(k, s):
    w = 1.0 / np.arange(1, k + 1) ** s
    return w / w.sum()


FEW12 = [-7.0, -0.0, 0.0, 1e-3, 0.1, 0.5, 1.0, 2.5, 3.0, 100.0, 12345.678, 1e6]
TEXT = ["a,b", 'say "hi"', "ümlaut", "", " lead space", "ä€𝄞", "plain", "semi;colon", "tab\there", "x'y"]

# ----------------------------------------------------------------------------- the sets
# Parquet options per set: compression (a codec or {column: codec}), use_dictionary (bool or a list
# of columns), row_groups (fractions of a side's rows, one row group each, repeated as needed),
# plus any further pyarrow.parquet.ParquetWriter options (data_page_version, write_statistics,
# column_encoding, data_page_size, dictionary_pagesize_limit).

SETS = {}

SETS["dists"] = {
    "about": "other distributions, magnitudes and float32; zstd, dictionary off, 4 equal row groups, target 3/4 of baseline",
    "baseline_rows": 1.0, "target_rows": 0.75,
    "parquet": {"compression": "zstd", "use_dictionary": False, "row_groups": [0.25]},
    "columns": [
        col("ln_sigma", pa.float64(), lambda r, n, t, c: r.lognormal(0.0, 1.15 if t else 1.0, n), "drift",
            "lognormal sigma 1.0 -> 1.15", nulls=(0.001, 0.001)),
        col("exp_little", pa.float64(), lambda r, n, t, c: r.exponential(1.02 if t else 1.0, n), "little",
            "exponential scale 1.0 -> 1.02"),
        col("unif", pa.float64(), lambda r, n, t, c: r.uniform(-5.0, 5.0, n), "none", "uniform [-5, 5]",
            nulls=(0.02, 0.02)),
        col("t2", pa.float64(), lambda r, n, t, c: r.standard_t(2.0, n), "none", "Student-t df=2 (heavy tails)"),
        col("cauchy_shift", pa.float64(), lambda r, n, t, c: r.standard_t(1.0, n) + (0.3 if t else 0.0), "drift",
            "Student-t df=1 (Cauchy, extreme outliers), location 0 -> 0.3"),
        col("bimodal", pa.float64(), lambda r, n, t, c: mixture(r, n, 0.43 if t else 0.4, (-2.0, 0.5), (3.0, 1.0)),
            "little", "N(-2,0.5)/N(3,1), weight of 2nd mode 0.40 -> 0.43"),
        col("gamma_small", pa.float64(), lambda r, n, t, c: r.gamma(0.5, 2.0, n), "none", "gamma shape 0.5 (mass near 0)"),
        col("offset_1e9", pa.float64(), lambda r, n, t, c: 1e9 + r.normal(0.02 if t else 0.0, 1.0, n), "little",
            "1e9 + N(0,1) -> 1e9 + N(0.02,1): std needs a two-pass (or shifted) sum"),
        col("huge", pa.float64(), lambda r, n, t, c: r.normal(0.0, 1.1 if t else 1.0, n) * 1e150, "drift",
            "N(0,1) * 1e150, sd x1.1 in target (negative and positive)"),
        col("tiny", pa.float64(), lambda r, n, t, c: r.normal(0.0, 1.0, n) * 1e-200, "none",
            "N(0,1) * 1e-200 (std below the 0.001 floor)"),
        col("decades", pa.float64(),
            lambda r, n, t, c: np.where(r.random(n) < 0.5, -1.0, 1.0) * 10.0 ** r.uniform(-30.0, 30.0, n), "none",
            "+/- 10^U(-30, 30): 60 decades, both signs"),
        col("f32_normal", pa.float32(), lambda r, n, t, c: r.normal(10.5 if t else 10.0, 2.0, n).astype(np.float32),
            "drift", "float32 N(10,2) -> N(10.5,2)", nulls=(0.005, 0.01)),
        col("f32_lognormal", pa.float32(), lambda r, n, t, c: r.lognormal(1.0, 0.7, n).astype(np.float32), "none",
            "float32 lognormal"),
    ],
}

SETS["ties"] = {
    "about": "heavy ties, decimal grids, constants; gzip, dictionary on, row groups of 35/15/50%, target 3/4",
    "baseline_rows": 1.0, "target_rows": 0.75,
    "parquet": {"compression": "gzip", "use_dictionary": True, "row_groups": [0.35, 0.15, 0.5]},
    "columns": [
        col("few12", pa.float64(), lambda r, n, t, c: choice(r, n, FEW12, np.arange(12, 0, -1) if t else np.ones(12)),
            "drift", "12 distinct values (-0.0 and 0.0 among them), uniform -> weights 12..1", nulls=(0.01, 0.01)),
        col("few12_same", pa.float64(), lambda r, n, t, c: choice(r, n, FEW12, np.arange(1, 13)), "none",
            "12 distinct values, same weights"),
        col("dec1", pa.float64(), lambda r, n, t, c: np.round(r.normal(5.0, 2.0, n), 1), "none",
            "N(5,2) rounded to 1 decimal", nulls=(0.002, 0.002)),
        col("dec2_tail", pa.float64(),
            lambda r, n, t, c: np.where(np.arange(n) < int(n * 0.95), np.round(r.normal(0.01 if t else 0.0, 1.0, n), 2),
                                        r.normal(0.01 if t else 0.0, 1.0, n)),
            "little", "N(0,1) rounded to 2 decimals in the first 95% of rows, full precision after; mean +0.01"),
        col("dec3_neg", pa.float64(), lambda r, n, t, c: np.round(r.uniform(-1100.0 if t else -1000.0, 1000.0, n), 3),
            "drift", "U(-1000,1000) -> U(-1100,1000), 3 decimals"),
        col("dec10", pa.float64(), lambda r, n, t, c: np.round(r.lognormal(0.0, 1.0, n), 10), "none",
            "lognormal rounded to 10 decimals (past 9)"),
        col("intlike", pa.float64(), lambda r, n, t, c: r.poisson(3.2 if t else 3.0, n).astype(np.float64), "drift",
            "Poisson(3) -> Poisson(3.2) stored as float64 (numerical, a dozen values)"),
        col("binary01", pa.float64(), lambda r, n, t, c: (r.random(n) < (0.35 if t else 0.3)).astype(np.float64),
            "drift", "0.0/1.0 with P(1) 0.30 -> 0.35"),
        col("const_same", pa.float64(), lambda r, n, t, c: np.full(n, 42.5), "none", "42.5 in every row of both"),
        col("const_zero", pa.float64(), lambda r, n, t, c: np.zeros(n), "none", "0.0 in every row of both"),
        col("const_moved", pa.float64(), lambda r, n, t, c: np.full(n, -3.0 if t else -3.25), "drift",
            "-3.25 in every baseline row, -3.0 in every target row"),
        col("const_str", pa.string(), lambda r, n, t, c: np.full(n, "A", dtype=object), "none",
            "one category 'A' in both"),
    ],
}

SETS["ints"] = {
    "about": "int32/int64 both sides of the 5% rule, booleans; snappy, dictionary on, row groups 20/50/30%, target 1/2",
    "baseline_rows": 1.0, "target_rows": 0.5,
    "parquet": {"compression": "snappy", "use_dictionary": True, "row_groups": [0.2, 0.5, 0.3]},
    "columns": [
        col("i32_cat50", pa.int32(), lambda r, n, t, c: choice(r, n, np.arange(50), zipf(50, 1.3 if t else 1.0)),
            "drift", "int32 0..49, Zipf s=1.0 -> 1.3 (categorical)"),
        col("i32_below", pa.int32(),
            lambda r, n, t, c: (r.integers(0, below_5pct(c["nb"]), n) if t else exact_distinct(r, n, below_5pct(c["nb"]))),
            "none", "int32, exactly ceil(0.05 nb)-1 distinct values in the baseline: just categorical (same "
            "distribution in the target; JS sees the sampling noise of ~20 rows a category)"),
        col("i32_at", pa.int32(),
            lambda r, n, t, c: (r.integers(0, at_5pct(c["nb"]), n) + at_5pct(c["nb"]) // 100 if t
                                else exact_distinct(r, n, at_5pct(c["nb"]))),
            "little", "int32, exactly ceil(0.05 nb) distinct values (ratio 0.05: numerical), target shifted 1% of range"),
        col("i64_above", pa.int64(),
            lambda r, n, t, c: (exact_distinct(r, n, math.ceil(0.0501 * c["nb"]), -50_000_000_000, 1_000_003)
                                + (200_000_000 if t else 0)),
            "little", "int64, 5.01% distinct, values -5e10 + 1000003 k, target +2e8 (0.2% of the range; numerical)"),
        col("i64_below_nulls", pa.int64(),
            lambda r, n, t, c: exact_distinct(r, n, below_5pct(c["nb"]), 10**12, 7), "none",
            "int64, ceil(0.05 nb)-1 distinct non-null values and 3% nulls: categorical by rows (numerical if the "
            "non-null rows were the denominator)", nulls=(0.03, 0.03)),
        col("i64_wide", pa.int64(), lambda r, n, t, c: r.integers(-(2**52), 2**52, n), "none",
            "int64 uniform in +/-2^52 (numerical, exact as float64)"),
        col("i64_ids", pa.int64(),
            lambda r, n, t, c: choice(r, n, (2**62 + np.arange(ids(c["nb"]) * 21 // 20) * 982_451_653).astype(np.int64),
                                      np.r_[np.ones(ids(c["nb"])), np.full(ids(c["nb"]) // 20, 2.0 if t else 0.0)]),
            "drift", "int64 ids near 2^62 (min(1000, nb/100) values; target adds 5% new ids): categorical"),
        col("i32_small_nulls", pa.int32(), lambda r, n, t, c: r.integers(-20, 21, n), "none",
            "int32 in -20..20, 1% nulls (categorical)", nulls=(0.01, 0.01)),
        col("i32_ties_num", pa.int32(), lambda r, n, t, c: np.round(r.normal(0.0, 1e5, n)).astype(np.int32), "none",
            "int32 round(N(0, 1e5)): numerical with many ties"),
        col("i64_const", pa.int64(), lambda r, n, t, c: np.full(n, 7, dtype=np.int64), "none", "int64 7 in every row"),
        col("bool_little", pa.bool_(), lambda r, n, t, c: r.random(n) < (0.51 if t else 0.5), "little",
            "boolean P(true) 0.50 -> 0.51"),
        col("bool_nulls", pa.bool_(), lambda r, n, t, c: r.random(n) < (0.4 if t else 0.2), "drift",
            "boolean P(true) 0.2 -> 0.4, 2% nulls", nulls=(0.02, 0.02)),
    ],
}

SETS["strings"] = {
    "about": "nullable strings and sparse columns; uncompressed, dictionary off, 2 row groups, target as long as baseline",
    "baseline_rows": 1.0, "target_rows": 1.0,
    "parquet": {"compression": "none", "use_dictionary": False, "row_groups": [0.5]},
    "columns": [
        col("s_cat", pa.string(), lambda r, n, t, c: choice(r, n, [f"cat_{i:02d}" for i in range(20)], zipf(20, 0.7)),
            "none", "20 categories, 1% nulls", nulls=(0.01, 0.01)),
        col("s_new", pa.string(),
            lambda r, n, t, c: choice(r, n, [f"v{i}" for i in range(220)],
                                      np.r_[0.95 * zipf(200, 1.0), 0.05 * zipf(20, 1.0)] if t else np.r_[zipf(200, 1.0), np.zeros(20)]),
            "drift", "200 categories, target puts 5% on 20 unseen ones; 0.5%/2% nulls", nulls=(0.005, 0.02)),
        col("s_highcard", pa.string(), lambda r, n, t, c: np.char.add("u", np.char.zfill(r.integers(0, 100_000, n).astype(str), 7)).astype(object),
            "none", "100,000 distinct ids (uniform)"),
        col("s_text", pa.string(), lambda r, n, t, c: choice(r, n, TEXT, np.r_[np.ones(9), 3.0 if t else 1.0]),
            "drift", "commas, quotes, tabs, non-ASCII, empty and space-led strings; last value x3 in target"),
        col("s_zip", pa.string(), lambda r, n, t, c: np.char.zfill(choice(r, n, np.arange(500, 800), np.ones(300)).astype(str), 5).astype(object),
            "none", "zero-padded 5-digit codes 00500..00799 (CSV readers infer integers)"),
        col("x_sparse", pa.float64(), lambda r, n, t, c: r.normal(0.0, 1.0, n), "none", "N(0,1), 30% nulls",
            nulls=(0.3, 0.3)),
        col("f32_nulls", pa.float32(), lambda r, n, t, c: r.uniform(0.0, 1.2 if t else 1.0, n).astype(np.float32), "drift",
            "float32 U(0,1) -> U(0,1.2), 5% nulls", nulls=(0.05, 0.05)),
        col("i64_nulls", pa.int64(), lambda r, n, t, c: r.integers(0, 10**9, n), "none",
            "int64 U(0,1e9) (numerical), 1% nulls", nulls=(0.01, 0.01)),
        col("flag", pa.bool_(), lambda r, n, t, c: r.random(n) < 0.1, "none", "boolean P(true) 0.1, 0.1% nulls",
            nulls=(0.001, 0.001)),
    ],
}

_LAYOUT_CODECS = {"a_norm": "gzip", "b_logn": "zstd", "c_f32": "snappy", "d_i32": "none", "e_i64cat": "gzip",
                  "f_str": "zstd", "g_bool": "snappy", "h_dec2": "none", "i_hicard": "gzip"}
SETS["layout"] = {
    "about": ("codec per column (gzip/zstd/snappy/uncompressed), dictionary on with fallback to PLAIN (64 KiB "
              "dictionary pages), 8 KiB data pages, row groups of 1/2/5/7% repeated (about 27 of different sizes); "
              "target longer than baseline"),
    "baseline_rows": 0.8, "target_rows": 0.95,
    "parquet": {"compression": _LAYOUT_CODECS, "use_dictionary": True, "row_groups": [0.01, 0.02, 0.05, 0.07],
                "data_page_size": 8192, "dictionary_pagesize_limit": 65536},
    "columns": [
        col("a_norm", pa.float64(), lambda r, n, t, c: r.normal(0.1 if t else 0.0, 1.0, n), "drift",
            "N(0,1) -> N(0.1,1)", nulls=(0.001, 0.001)),
        col("b_logn", pa.float64(), lambda r, n, t, c: r.lognormal(2.0, 1.0, n), "none", "lognormal"),
        col("c_f32", pa.float32(), lambda r, n, t, c: r.exponential(3.0, n).astype(np.float32), "none",
            "float32 exponential", nulls=(0.01, 0.01)),
        col("d_i32", pa.int32(), lambda r, n, t, c: r.integers(-10**6, 10**6, n), "none", "int32 U(-1e6,1e6) numerical"),
        col("e_i64cat", pa.int64(), lambda r, n, t, c: r.integers(0, 300 if t else 250, n), "drift",
            "int64 0..249 -> 0..299 categorical", nulls=(0.04, 0.04)),
        col("f_str", pa.string(), lambda r, n, t, c: choice(r, n, [f"s{i}" for i in range(40)], zipf(40, 1.0)), "none",
            "40 string categories"),
        col("g_bool", pa.bool_(), lambda r, n, t, c: r.random(n) < 0.7, "none", "boolean P(true) 0.7"),
        col("h_dec2", pa.float64(), lambda r, n, t, c: np.round(r.gamma(2.0, 50.0 * (1.01 if t else 1.0), n), 2),
            "little", "gamma(2, 50) -> gamma(2, 50.5), 2 decimals"),
        col("i_hicard", pa.float64(), lambda r, n, t, c: r.standard_t(5.0, n) * 1e4, "none",
            "t df=5 x 1e4 (high cardinality: the dictionary falls back to PLAIN)"),
    ],
}

SETS["encodings"] = {
    "about": ("data page v2, no statistics, BYTE_STREAM_SPLIT floats, DELTA_BINARY_PACKED ints, lz4/brotli/zstd "
              "per column, int8/int16/uint16/uint32, subnormals; 3 equal row groups, target 3/4"),
    "baseline_rows": 1.0, "target_rows": 0.75,
    "parquet": {"compression": {"bss_f64": "zstd", "bss_f32": "lz4", "delta_i64": "brotli", "delta_i32": "zstd",
                                "i8_cat": "lz4", "i16_num": "brotli", "u16_cat": "zstd", "u32_num": "snappy",
                                "subnormal": "zstd", "plain_f64": "lz4", "s_dict": "brotli"},
                "use_dictionary": ["i8_cat", "u16_cat", "s_dict"], "row_groups": [1.0 / 3.0],
                "data_page_version": "2.0", "write_statistics": False,
                "column_encoding": {"bss_f64": "BYTE_STREAM_SPLIT", "bss_f32": "BYTE_STREAM_SPLIT",
                                    "delta_i64": "DELTA_BINARY_PACKED", "delta_i32": "DELTA_BINARY_PACKED"}},
    "columns": [
        col("bss_f64", pa.float64(), lambda r, n, t, c: r.normal(0.2 if t else 0.0, 1.0, n), "drift",
            "N(0,1) -> N(0.2,1), BYTE_STREAM_SPLIT", nulls=(0.01, 0.01)),
        col("bss_f32", pa.float32(), lambda r, n, t, c: r.gamma(3.0, 1.0, n).astype(np.float32), "none",
            "float32 gamma, BYTE_STREAM_SPLIT"),
        col("delta_i64", pa.int64(), lambda r, n, t, c: r.integers(0, 10**12, n) + (10**10 if t else 0), "little",
            "int64 U(0,1e12) -> +1e10, DELTA_BINARY_PACKED (numerical)"),
        col("delta_i32", pa.int32(), lambda r, n, t, c: r.integers(0, 30, n), "none",
            "int32 0..29, DELTA_BINARY_PACKED (categorical)", nulls=(0.002, 0.002)),
        col("i8_cat", pa.int8(), lambda r, n, t, c: choice(r, n, np.arange(-5, 6), zipf(11, 0.8 if t else 0.5)), "drift",
            "int8 -5..5, Zipf 0.5 -> 0.8 (categorical)"),
        col("i16_num", pa.int16(), lambda r, n, t, c: r.integers(-32000, 32000, n), "none",
            "int16 U(-32000,32000): 64,000 distinct, categorical from 1.28M baseline rows (default), numerical below"),
        col("u16_cat", pa.uint16(), lambda r, n, t, c: r.integers(60000, 60100, n), "none", "uint16 60000..60099 (categorical)"),
        col("u32_num", pa.uint32(), lambda r, n, t, c: r.integers(3_000_000_000, 4_000_000_000, n), "none",
            "uint32 U(3e9,4e9), above the int32 range (numerical)"),
        col("subnormal", pa.float64(), lambda r, n, t, c: r.integers(0, 1000, n) * 5e-324, "none",
            "k * 5e-324 for k < 1000: subnormal values with ties"),
        col("plain_f64", pa.float64(), lambda r, n, t, c: r.exponential(1.0, n), "none", "exponential, PLAIN"),
        col("s_dict", pa.string(), lambda r, n, t, c: choice(r, n, ["red", "green", "blue", "cyan"], [4, 3, 2, 1]),
            "none", "4 string categories", nulls=(0.01, 0.01)),
    ],
}


# ----------------------------------------------------------------------------- writing


def side_table(spec, n, is_target, rng, ctx):
    arrays, names = [], []
    for c in spec["columns"]:
        x = c["fn"](rng, n, is_target, ctx)
        if pa.types.is_floating(c["type"]):
            assert np.isfinite(x).all(), f"{c['name']}: NaN or infinity"  # missing values are nulls
        rate = c["nulls"][1 if is_target else 0]
        mask = (rng.random(n) < rate) if rate > 0 else None
        if pa.types.is_string(c["type"]):
            arr = pa.array(list(x) if isinstance(x, np.ndarray) else x, type=pa.string(), mask=mask)
        else:
            arr = pa.array(np.asarray(x), type=c["type"], mask=mask)
        arrays.append(arr)
        names.append(c["name"])
    return pa.table(arrays, names=names)


def row_group_sizes(n, fractions, base):
    """Row group sizes: the fractions of `base` rows in turn (repeated) until n rows are used."""
    sizes, i, left = [], 0, n
    while left > 0:
        k = max(1, min(left, int(round(fractions[i % len(fractions)] * base))))
        sizes.append(k)
        left -= k
        i += 1
    return sizes


def write_parquet(path, tbl, popts):
    opts = {k: v for k, v in popts.items() if k != "row_groups"}
    with pq.ParquetWriter(path, tbl.schema, **opts) as w:
        start = 0
        for k in row_group_sizes(tbl.num_rows, popts["row_groups"], tbl.num_rows):
            w.write_table(tbl.slice(start, k), row_group_size=k)
            start += k


def write_csv(path, tbl):
    with pacsv.CSVWriter(path, tbl.schema, write_options=pacsv.WriteOptions(quoting_style="needed")) as w:
        w.write_table(tbl)


def verify_csv(path, tbl):
    """The CSV holds the Parquet values: floats exactly (float32 at float32 precision)."""
    types = {}
    for f in tbl.schema:
        types[f.name] = f.type
    back = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False))
    for name in tbl.column_names:
        a, b = tbl[name], back[name]
        if pa.types.is_string(a.type):
            a = a.fill_null("")
        if not a.equals(b):
            raise SystemExit(f"{path}: column {name} does not read back as written")


def write_set(out_root, name, rows, seed, verify=False):
    spec = SETS[name]
    out = os.path.join(out_root, name)
    os.makedirs(out, exist_ok=True)
    nb = int(round(rows * spec["baseline_rows"]))
    nt = int(round(rows * spec["target_rows"]))
    ctx = {"nb": nb}
    sizes = {}
    for which, n, is_target, off in (("baseline", nb, False, 1), ("target", nt, True, 2)):
        rng = np.random.default_rng([seed, sum(map(ord, name)), off])
        tbl = side_table(spec, n, is_target, rng, ctx)
        write_parquet(os.path.join(out, f"{which}.parquet"), tbl, spec["parquet"])
        write_csv(os.path.join(out, f"{which}.csv"), tbl)
        if verify:
            verify_csv(os.path.join(out, f"{which}.csv"), tbl)
        sizes[which] = row_group_sizes(n, spec["parquet"]["row_groups"], n)
    meta = {
        "set": name, "about": spec["about"], "seed": seed, "rows_arg": rows,
        "rows": {"baseline": nb, "target": nt}, "row_groups": sizes,
        "parquet": {k: v for k, v in spec["parquet"].items() if k != "row_groups"},
        "columns": {c["name"]: {"type": str(c["type"]), "drift": c["drift"], "note": c["note"],
                                "null_rate": {"baseline": c["nulls"][0], "target": c["nulls"][1]}}
                    for c in spec["columns"]},
        "generator": "bench/drift_unseen_gen.py",
    }
    with open(os.path.join(out, "set.json"), "w") as f:
        json.dump(meta, f, indent=1)
    return nb, nt


def parse_rows(text):
    t = text.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


def add_delta_text(spec):
    """The two text columns of --delta-text: account ids with shared prefixes and Zipf words."""
    spec["about"] += "; with --delta-text: DELTA_BYTE_ARRAY and DELTA_LENGTH_BYTE_ARRAY text"
    p = spec["parquet"]
    p["compression"].update({"s_ids": "zstd", "s_words": "snappy"})
    p["column_encoding"].update({"s_ids": "DELTA_BYTE_ARRAY", "s_words": "DELTA_LENGTH_BYTE_ARRAY"})
    spec["columns"] += [
        col("s_ids", pa.string(),
            lambda r, n, t, c: np.char.add("acct-", np.char.zfill(r.integers(0, 50_000, n).astype(str), 7)).astype(object),
            "none", "50,000 account ids (shared prefixes), DELTA_BYTE_ARRAY", nulls=(0.005, 0.005)),
        col("s_words", pa.string(),
            lambda r, n, t, c: choice(r, n, [f"w{i}" * (1 + i % 4) for i in range(30)], zipf(30, 1.2 if t else 1.0)),
            "little", "30 words, Zipf 1.0 -> 1.2, DELTA_LENGTH_BYTE_ARRAY"),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir", nargs="?")
    ap.add_argument("--rows", default=str(DEFAULT_ROWS), help="base rows (e.g. 200000, 200k, 2M); default 2M")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    ap.add_argument("--verify", action="store_true", help="read each CSV back and check it against the table")
    ap.add_argument("--list", action="store_true", help="print the sets and their columns, write nothing")
    ap.add_argument("--delta-text", action="store_true",
                    help="add two text columns written DELTA_BYTE_ARRAY and DELTA_LENGTH_BYTE_ARRAY to `encodings`: "
                         "for comparing amlops builds only, as the numpy baseline cannot read them (pyarrow's "
                         "read_dictionary does not decode those encodings: 'Not yet implemented')")
    a = ap.parse_args()
    if a.delta_text:
        add_delta_text(SETS["encodings"])
    if a.list:
        for name, spec in SETS.items():
            print(f"{name}: {spec['about']}")
            for c in spec["columns"]:
                nulls = f" [nulls {c['nulls'][0]:g}/{c['nulls'][1]:g}]" if any(c["nulls"]) else ""
                print(f"  {c['name']:16} {str(c['type']):7} {c['drift']:6} {c['note']}{nulls}")
        return 0
    if a.out_dir is None:
        ap.error("OUT_DIR is required (unless --list)")
    rows = parse_rows(a.rows)
    if rows < 1000:
        raise SystemExit("--rows: at least 1000 rows")
    for name in a.sets:
        t0 = time.perf_counter()
        nb, nt = write_set(a.out_dir, name, rows, a.seed, a.verify)
        print(f"{name}: {nb} + {nt} rows in {time.perf_counter() - t0:.1f}s -> {os.path.join(a.out_dir, name)}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
