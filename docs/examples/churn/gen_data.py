"""Regenerate the sample data (deterministic): python3 gen_data.py"""

import csv
import math
import random


def rows(n, seed, drift=False):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        tenure = max(0, int(rng.gauss(30 if not drift else 18, 14)))
        charges = round(max(15.0, rng.gauss(70 if not drift else 82, 20)), 2)
        calls = min(9, int(rng.expovariate(0.7)))
        monthly = 1 if rng.random() < (0.55 if not drift else 0.75) else 0
        region = rng.choice(["north", "south", "east", "west"] if not drift else ["north", "south", "east", "east"])
        z = -1.2 - 0.05 * tenure + 0.02 * charges + 0.45 * calls + 1.1 * monthly
        churned = 1 if rng.random() < 1 / (1 + math.exp(-z)) else 0
        out.append(
            {
                "tenure_months": tenure,
                "monthly_charges": charges,
                "support_calls": calls,
                "contract_monthly": monthly,
                "region": region,
                "churned": churned,
            }
        )
    return out


def write(path, data):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(data[0].keys()))
        w.writeheader()
        w.writerows(data)


write("data/train.csv", rows(600, 1))
write("data/baseline.csv", rows(400, 2))
