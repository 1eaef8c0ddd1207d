#!/usr/bin/env python3
# Carried over from the drift-benchmark reference this project was given (see bench/drift/README.md); only this line was added.
"""Vectorised numpy/scipy baseline of the Azure ML model-monitoring data-drift metrics.

Numerical: Jensen-Shannon distance, PSI, normalized Wasserstein distance, two-sample KS (p-value).
Categorical: Jensen-Shannon distance, PSI, Pearson's chi-squared (p-value).
Definitions follow Azure/azureml-assets assets/model_monitoring/components/src/
(data_drift_compute_metrics/*.py, shared_utilities/histogram_utils.py); see README.md.

Usage: baseline_numpy.py --size S|M|L --format parquet|csv [--workers N] [--check-scipy] [--out FILE]
Prints one JSON document (per-column metrics + verdicts, load/compute seconds).
"""
import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from scipy.spatial import distance
from scipy.stats import chisquare, distributions, ks_2samp, wasserstein_distance

import drift_common as dc

# ----------------------------------------------------------------------------- loading


def _schema_kinds(schema):
    num, cat = [], []
    for f in schema:
        t = f.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_floating(t) or pa.types.is_decimal(t):
            num.append(f.name)
        elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_boolean(t):
            cat.append(f.name)
        elif pa.types.is_integer(t):
            num.append(f.name)  # re-checked below with Azure's distinct-ratio rule
    return num, cat


def read_table(path, fmt, cat_hint=None):
    if fmt == "parquet":
        schema = pq.read_schema(path)
        _, cat = _schema_kinds(schema)
        return pq.read_table(path, read_dictionary=cat)  # categorical pages stay dictionary-encoded
    # CSV: let pyarrow infer numbers; ask for dictionary-encoded strings for categorical columns.
    conv = pacsv.ConvertOptions(strings_can_be_null=False, auto_dict_encode=True, auto_dict_max_cardinality=1 << 20)
    return pacsv.read_csv(path, convert_options=conv)


def load(base_path, tgt_path, fmt):
    tb = read_table(base_path, fmt)
    tt = read_table(tgt_path, fmt)
    num, cat = _schema_kinds(tb.schema)
    common = [c for c in tb.column_names if c in tt.column_names]
    num = [c for c in num if c in common]
    cat = [c for c in cat if c in common]
    # Azure: integer columns are categorical when distinct/total < 0.05 on the baseline.
    for c in list(num):
        if pa.types.is_integer(tb.schema.field(c).type):
            ratio = pc.count_distinct(tb[c]).as_py() / max(len(tb), 1)
            if ratio < 0.05:
                num.remove(c)
                cat.append(c)
    cols = num + cat
    # Azure: baseline_df.dropna() / production_df.dropna() -> a null anywhere drops the whole row.
    mb, mt = _valid_mask(tb, cols), _valid_mask(tt, cols)
    b_num = {c: _keep(_f64(tb[c]), mb) for c in num}
    t_num = {c: _keep(_f64(tt[c]), mt) for c in num}
    b_cat, t_cat, labels = {}, {}, {}
    for c in cat:
        b, t, labels[c] = _codes_union(tb[c], tt[c])
        b_cat[c], t_cat[c] = _keep(b, mb), _keep(t, mt)
    nb = len(tb) if mb is None else int(mb.sum())
    nt = len(tt) if mt is None else int(mt.sum())
    return nb, nt, b_num, t_num, b_cat, t_cat, labels


def _valid_mask(tbl, cols):
    mask = None
    for c in cols:
        if tbl[c].null_count:
            v = pc.is_valid(tbl[c]).to_numpy(zero_copy_only=False)
            mask = v if mask is None else (mask & v)
    return mask


def _keep(x, mask):
    return x if mask is None else x[mask]


def _f64(chunked):
    if not pa.types.is_float64(chunked.type):
        chunked = chunked.cast(pa.float64())
    return chunked.to_numpy()  # nulls (if any) become NaN and are removed by the row mask


def _codes_union(cb, ct):
    """Map both dictionary-encoded columns onto one code space (union of category strings)."""
    index = {}

    def encode(chunked):
        parts = []
        for ch in chunked.chunks:
            if not pa.types.is_dictionary(ch.type):
                ch = pc.dictionary_encode(ch)
            d = ch.dictionary.to_pylist()
            remap = np.fromiter((index.setdefault(str(v), len(index)) for v in d), dtype=np.int32, count=len(d))
            idx = ch.indices.fill_null(0) if ch.indices.null_count else ch.indices  # null rows go with the row mask
            parts.append(np.take(remap, idx.to_numpy(zero_copy_only=False)))
        return np.concatenate(parts) if parts else np.zeros(0, np.int32)

    b = encode(cb)
    t = encode(ct)
    labels = [None] * len(index)
    for k, v in index.items():
        labels[v] = k
    return b, t, labels


# ----------------------------------------------------------------------------- numerical metrics


def azure_bin_edges(lo, hi, n_bins):
    """shared_utilities/histogram_utils.get_dual_histogram_bin_edges."""
    if lo == hi:
        delta = 0.005 if lo == 0 else abs(lo * 0.005)
        return np.array([lo - delta, lo + delta])
    width = (hi - lo) / n_bins
    return np.array([lo] + [lo + i * width for i in range(1, n_bins + 1)])


def spark_histogram(x, edges, x_min, x_max):
    """pyspark RDD.histogram(buckets) semantics: [e0,e1),...,[e_{k-1},e_k]; values outside dropped."""
    k = len(edges) - 1
    e0, ek = edges[0], edges[-1]
    steps = np.diff(edges)
    if x_min < e0 or x_max > ek:
        x = x[(x >= e0) & (x <= ek)]
    if steps.max() - steps.min() < 1e-10:  # Spark's "evenly spaced" fast path
        inc = (ek - e0) / k
        idx = ((x - e0) / inc).astype(np.int64)
    else:
        idx = np.searchsorted(edges, x, side="right") - 1
    np.minimum(idx, k - 1, out=idx)  # Spark adds the last counter (x == e_k) into the last bucket
    return np.bincount(idx, minlength=k)[:k]


def ks_pvalue(d, n1, n2):
    """scipy.stats.ks_2samp(method='auto', two-sided) p-value for large samples (max(n) > 10000)."""
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    return float(np.clip(distributions.kstwo.sf(d, np.round(en)), 0, 1))


def numerical_metrics(b, t, n_bins):
    nb, nt = b.size, t.size
    bmin, bmax, tmin, tmax = b.min(), b.max(), t.min(), t.max()
    edges = azure_bin_edges(min(bmin, tmin), max(bmax, tmax), n_bins)
    hb = spark_histogram(b, edges, bmin, bmax)
    ht = spark_histogram(t, edges, tmin, tmax)
    k = len(edges) - 1
    js = float(distance.jensenshannon(hb / nb, ht / nt, base=2))
    pb = (hb + 1) / (nb + k)
    pt = (ht + 1) / (nt + k)
    psi = float(np.sum((pt - pb) * np.log(pt / pb)))
    # One sort per sample + one merge feed both the exact KS statistic and the exact 1-D Wasserstein-1.
    bs = np.sort(b)
    ts = np.sort(t)
    allv = np.concatenate([bs, ts])
    allv.sort(kind="stable")  # two sorted runs: timsort merges them in linear time
    cdiff = np.searchsorted(bs, allv, side="right") / nb
    cdiff -= np.searchsorted(ts, allv, side="right") / nt
    d = max(float(cdiff.max()), float(np.clip(-cdiff.min(), 0, 1)))
    w1 = float(np.dot(np.abs(cdiff[:-1]), np.diff(allv)))
    std = float(np.std(b, ddof=1)) if nb > 1 else float("nan")  # Spark F.stddev = sample std
    norm = max(std, 0.001) if std == std else 0.001
    if max(nb, nt) <= 10000:
        ks_p = float(ks_2samp(b, t).pvalue)  # exact mode, as scipy 'auto' picks for small samples
    else:
        ks_p = ks_pvalue(d, nb, nt)
    return {
        "jensen_shannon_distance": js,
        "population_stability_index": psi,
        "normalized_wasserstein_distance": w1 / norm,
        "two_sample_kolmogorov_smirnov_test": ks_p,
    }, {"n_bins": k, "bin_lo": float(edges[0]), "bin_hi": float(edges[-1]), "ks_statistic": d,
        "wasserstein": w1, "baseline_std": std, "azure_ks_would_raise": bool(nb >= 10000 and nt >= 10000)}


def categorical_metrics(cb_codes, ct_codes, n_codes, nb, nt):
    cb = np.bincount(cb_codes, minlength=n_codes).astype(np.float64)
    ct = np.bincount(ct_codes, minlength=n_codes).astype(np.float64)
    seen = (cb + ct) > 0  # Azure: union of values observed in either dataframe
    cb, ct = cb[seen], ct[seen]
    k = cb.size
    js = float(distance.jensenshannon(cb / nb, ct / nt, base=2))
    pb = (cb + 1) / (nb + k)
    pt = (ct + 1) / (nt + k)
    psi = float(np.sum((pt - pb) * np.log(pt / pb)))
    with np.errstate(divide="ignore", invalid="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            chi_p = float(chisquare(ct, cb / nb * nt).pvalue)
    return {
        "jensen_shannon_distance": js,
        "population_stability_index": psi,
        "pearsons_chi_squared_test": chi_p,
    }, {"n_categories_union": int(k), "n_unseen_in_baseline": int(np.sum(cb == 0)),
        "n_missing_in_target": int(np.sum(ct == 0))}


# ----------------------------------------------------------------------------- scipy cross-check


def scipy_reference(b, t, n_bins):
    """Straight calls of the scipy functions Azure uses, for --check-scipy."""
    edges = azure_bin_edges(min(b.min(), t.min()), max(b.max(), t.max()), n_bins)
    return {
        "normalized_wasserstein_distance": wasserstein_distance(b, t) / max(np.std(b, ddof=1), 0.001),
        "two_sample_kolmogorov_smirnov_test": ks_2samp(b, t).pvalue,
        "ks_statistic": ks_2samp(b, t).statistic,
        "hist_b_np": np.histogram(b, edges)[0],
    }


# ----------------------------------------------------------------------------- main


def run(size, fmt, workers, check_scipy, data_dir=None):
    bpath, tpath, epath = dc.data_paths(size, fmt, data_dir)
    t0 = time.perf_counter()
    nb, nt, b_num, t_num, b_cat, t_cat, labels = load(bpath, tpath, fmt)
    t1 = time.perf_counter()
    n_bins = math.ceil(math.log2(min(nb, nt)) + 1)  # Sturges on the smaller dataframe (after dropna)
    columns = {}

    def do_num(c):
        m, extra = numerical_metrics(b_num[c], t_num[c], n_bins)
        return c, {"type": "numerical", "metrics": m, "details": extra}

    def do_cat(c):
        m, extra = categorical_metrics(b_cat[c], t_cat[c], len(labels[c]), nb, nt)
        return c, {"type": "categorical", "metrics": m, "details": extra}

    jobs = [(do_num, c) for c in b_num] + [(do_cat, c) for c in b_cat]
    if workers > 1:
        with ThreadPoolExecutor(workers) as ex:
            for c, r in ex.map(lambda j: j[0](j[1]), jobs):
                columns[c] = r
    else:
        for fn, c in jobs:
            k, r = fn(c)
            columns[k] = r
    t2 = time.perf_counter()
    columns = {c: columns[c] for c in list(b_num) + list(b_cat)}
    dc.verdicts(columns)
    out = {
        "implementation": "numpy",
        "size": size, "format": fmt, "workers": workers,
        "rows": {"baseline": nb, "target": nt}, "n_bins_numerical": n_bins,
        "thresholds": dc.THRESHOLDS,
        "timing": {"load_s": t1 - t0, "compute_s": t2 - t1, "total_s": t2 - t0},
        "peak_rss_mib": dc.peak_rss_mib(),
        "columns": columns,
        "vs_expected": dc.compare_expected(columns, epath),
    }
    if check_scipy:
        diffs = {}
        for c in b_num:
            ref = scipy_reference(b_num[c], t_num[c], n_bins)
            mine = columns[c]
            diffs[c] = {
                "nwd_abs_diff": abs(ref["normalized_wasserstein_distance"] - mine["metrics"]["normalized_wasserstein_distance"]),
                "ks_p_abs_diff": abs(ref["two_sample_kolmogorov_smirnov_test"] - mine["metrics"]["two_sample_kolmogorov_smirnov_test"]),
                "ks_d_abs_diff": abs(ref["ks_statistic"] - mine["details"]["ks_statistic"]),
                "hist_count_diff_vs_np_histogram": int(np.abs(ref["hist_b_np"] - spark_histogram(
                    b_num[c], azure_bin_edges(min(b_num[c].min(), t_num[c].min()), max(b_num[c].max(), t_num[c].max()), n_bins),
                    b_num[c].min(), b_num[c].max())).sum()),
            }
        out["scipy_check"] = {"max_" + k: max(v[k] for v in diffs.values()) for k in next(iter(diffs.values()))}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="S")
    ap.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="threads over columns (numpy releases the GIL in sort/searchsorted)")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--check-scipy", action="store_true")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    res = run(a.size, a.format, a.workers, a.check_scipy, a.data_dir)
    txt = json.dumps(res, indent=1, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    if a.out:
        with open(a.out, "w") as f:
            f.write(txt)
    print(txt)


if __name__ == "__main__":
    sys.exit(main())
