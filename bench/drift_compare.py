#!/usr/bin/env python3
"""Compare an `amlops drift` JSON report with the numpy baseline's JSON (same thresholds).

Usage: drift_compare.py RUST.json NUMPY.json [--rtol 1e-6]
Prints one line per column with the largest relative difference and exits 1 when a
per-metric verdict or the gate verdict differs, or a value differs by more than rtol
(p-values below 1e-300 are compared as equal). A metric numpy computes as NaN (chi-squared over a
single category: zero degrees of freedom) is one amlops reports as not computed (null): the two agree.
"""
import json
import sys

GATE = {"numerical": "normalized_wasserstein_distance", "categorical": "jensen_shannon_distance"}


def undefined(v):
    return v is None or v != v  # null (amlops: not computed) or NaN (numpy)


def rel(a, b):
    if undefined(a) or undefined(b):
        return 0.0 if undefined(a) and undefined(b) else float("inf")
    if a == b or (abs(a) < 1e-300 and abs(b) < 1e-300):
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))


def main():
    rust = json.load(open(sys.argv[1]))
    ref = json.load(open(sys.argv[2]))
    rtol = float(sys.argv[sys.argv.index("--rtol") + 1]) if "--rtol" in sys.argv else 1e-6
    bad = 0
    worst = 0.0
    for col, r in ref["columns"].items():
        mine = rust["columns"].get(col)
        if mine is None:
            print(f"{col}: missing from the amlops report")
            bad += 1
            continue
        if mine["type"] != r["type"]:
            print(f"{col}: type {mine['type']} vs {r['type']}")
            bad += 1
        notes = []
        for m, v in r["metrics"].items():
            got = mine["metrics"][m]
            d = rel(got["value"], v)
            worst = max(worst, d)
            if d > rtol:
                notes.append(f"{m} {got['value']!r} vs {v!r} (rel {d:.2e})")
                bad += 1
            if got["drift"] != r["drift"][m]:
                notes.append(f"{m} verdict {got['drift']} vs {r['drift'][m]}")
                bad += 1
        gate = mine["metrics"][GATE[r["type"]]]["drift"]
        if gate != r["gate_drift"]:
            notes.append(f"gate verdict {gate} vs {r['gate_drift']}")
            bad += 1
        print(f"{col:4} {r['type']:11} gate={str(r['gate_drift']):5} " + ("; ".join(notes) if notes else "ok"))
    print(f"rows: amlops {rust.get('rows')} numpy {ref['rows']}; worst relative difference {worst:.2e}; problems: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
