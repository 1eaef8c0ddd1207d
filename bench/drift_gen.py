#!/usr/bin/env python3
"""Generate the drift benchmark data (S, M, L; MF, LF at full precision) into a folder outside git.

Usage: drift_gen.py OUT_DIR SIZE...   (writes OUT_DIR/<SIZE>/{baseline,target}.{csv,parquet} and expected.json)
The generator is bench/drift/gen_data.py (provenance in bench/drift/README.md).
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "drift"))
import gen_data  # noqa: E402

out_root, sizes = sys.argv[1], sys.argv[2:]
for s in sizes:
    t0 = time.perf_counter()
    out = os.path.join(out_root, s)
    gen_data.write_pair(out, gen_data.SIZES[s], full=s.endswith("F"))
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(gen_data.expected(gen_data.SIZES[s]), f, indent=1)
    print(f"{s}: generated in {time.perf_counter() - t0:.1f}s", flush=True)
