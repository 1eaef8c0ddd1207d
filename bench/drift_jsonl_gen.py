#!/usr/bin/env python3
"""Write the same rows as CSV and as Azure ML data-collector JSON Lines, for bench/drift_jsonl.sh.

Usage: drift_jsonl_gen.py OUT_DIR ROWS
Writes OUT_DIR/{baseline,target}.{csv,jsonl}: 10 columns shaped like the drift fixture (five
4-decimal floats, two string categories, a small and a large integer, a boolean; n14 has 0.5%
nulls), the target shifted. JSON Lines: one collector event (`type` azureml.inference.model_inputs)
per 100 rows, numbers written with the same text as in the CSV. Standard library only.
"""
import json
import os
import random
import sys

COLS = ["n00", "n03", "n06", "n12", "n14", "c0", "c2", "i_small", "i_big", "flag"]
EVENT_ROWS = 100


def rows(n, rng, shift):
    for _ in range(n):
        n14 = "" if rng.random() < 0.005 else f"{rng.gauss(-15 + shift, 3):.4f}"
        yield [
            f"{rng.gauss(50 + 5 * shift, 10):.4f}",
            f"{rng.uniform(0, 100 + 10 * shift):.4f}",
            f"{rng.gauss(0, 0.5 + 0.1 * shift):.4f}",
            f"{rng.expovariate(1 / (300 + 50 * shift)):.4f}",
            n14,
            f"c0_{min(int(rng.expovariate(0.5 - 0.1 * shift)), 9):02d}",
            f"c2_{int(rng.paretovariate(1.2 + 0.2 * shift)) % 400:04d}",
            str(rng.randrange(6)),
            str(rng.randrange(1_200_000)),
            "true" if rng.random() < 0.5 + 0.1 * shift else "false",
        ]


def json_value(col, text):
    if text == "":
        return "null"
    if col in ("c0", "c2"):
        return json.dumps(text)
    return text  # numbers and true/false keep their CSV text


def write(out_dir, which, n, seed, shift):
    rng = random.Random(seed)
    csv_path = os.path.join(out_dir, f"{which}.csv")
    jsonl_path = os.path.join(out_dir, f"{which}.jsonl")
    with open(csv_path, "w") as c, open(jsonl_path, "w") as j:
        c.write(",".join(COLS) + "\n")
        batch = []
        event = 0

        def flush():
            nonlocal event
            data = ",".join(batch)
            j.write(
                '{"specversion":"1.0","id":"%s-%d","source":"/onlineEndpoints/bench/deployments/blue",'
                '"type":"azureml.inference.model_inputs","datacontenttype":"application/json",'
                '"time":"2026-12-01T08:00:00Z","data":[%s],"correlationid":"c%d"}\n' % (which, event, data, event)
            )
            event += 1
            batch.clear()

        for r in rows(n, rng, shift):
            c.write(",".join(r) + "\n")
            batch.append("{" + ",".join(f'"{k}":{json_value(k, v)}' for k, v in zip(COLS, r)) + "}")
            if len(batch) == EVENT_ROWS:
                flush()
        if batch:
            flush()


if __name__ == "__main__":
    out, n = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    write(out, "baseline", n, 1, 0.0)
    write(out, "target", n, 2, 0.3)
