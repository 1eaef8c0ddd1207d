#!/usr/bin/env python3
"""Generate the shared drift benchmark data (S/M/L) into a folder outside git.

Usage: drift_gen.py SHARED_DIR OUT_DIR SIZE...   (writes OUT_DIR/<SIZE>/{baseline,target}.{csv,parquet})
"""
import json
import os
import sys
import time

shared, out_root, sizes = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.path.insert(0, shared)
import gen_data  # noqa: E402

for s in sizes:
    t0 = time.perf_counter()
    out = os.path.join(out_root, s)
    gen_data.write_pair(out, gen_data.SIZES[s])
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(gen_data.expected(gen_data.SIZES[s]), f, indent=1)
    print(f"{s}: generated in {time.perf_counter() - t0:.1f}s", flush=True)
