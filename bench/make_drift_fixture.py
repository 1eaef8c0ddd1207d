#!/usr/bin/env python3
"""Regenerate the small drift fixture checked into crates/amlops-drift/tests/fixtures/small.

Uses the benchmark generator's column samplers (bench/drift/gen_data.py) on 1,200
baseline and 1,000 target rows (so the KS p-values take scipy's exact small-sample path),
keeps a few columns, adds integer and boolean columns, writes CSV and Parquet, and stores the
numpy baseline's output (bench/drift/baseline_numpy.py) as expected.json.

Usage (from the repo root, numpy/scipy/pyarrow installed):
  python3 bench/make_drift_fixture.py
"""
import json
import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "drift"))
import baseline_numpy  # noqa: E402
import gen_data  # noqa: E402

OUT = os.path.join(HERE, "..", "crates", "amlops-drift", "tests", "fixtures", "small")
KEEP = ["n00", "n03", "n06", "n12", "n14", "c0", "c2"]


def table(n, is_target, seed):
    rng = np.random.default_rng([gen_data.SEED, n, seed])
    t = gen_data.gen_chunk(rng, n, is_target).select(KEEP)
    # i_small: 6 values -> categorical (distinct/rows < 0.05); i_big: numerical integers.
    p = [0.3, 0.25, 0.2, 0.1, 0.1, 0.05] if not is_target else [0.2, 0.2, 0.2, 0.2, 0.1, 0.1]
    t = t.append_column("i_small", pa.array(rng.choice(6, size=n, p=p).astype(np.int64)))
    t = t.append_column("i_big", pa.array(rng.integers(0, 1_000_000 + (200_000 if is_target else 0), n)))
    t = t.append_column("flag", pa.array(rng.random(n) < (0.5 if is_target else 0.3)))
    return t


def main():
    os.makedirs(OUT, exist_ok=True)
    for which, n, is_target, seed in (("baseline", 1200, False, 1), ("target", 1000, True, 2)):
        t = table(n, is_target, seed)
        pq.write_table(t, os.path.join(OUT, f"{which}.parquet"), compression="snappy")
        pacsv.write_csv(t, os.path.join(OUT, f"{which}.csv"), write_options=pacsv.WriteOptions(quoting_style="needed"))
    res = baseline_numpy.run("small", "parquet", 1, False, data_dir=OUT)
    keep = {"rows": res["rows"], "n_bins_numerical": res["n_bins_numerical"], "thresholds": res["thresholds"],
            "columns": {c: {"type": v["type"], "metrics": v["metrics"], "drift": v["drift"], "gate_drift": v["gate_drift"]}
                        for c, v in res["columns"].items()}}
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(keep, f, indent=1, sort_keys=False)
        f.write("\n")
    print(json.dumps({c: v["gate_drift"] for c, v in keep["columns"].items()}))


if __name__ == "__main__":
    main()
