"""Scoring script for the churn model under Azure ML's init()/run() contract (standard library only)."""

import json
import math
import os

model = None


def init():
    global model
    model_dir = os.environ.get("AZUREML_MODEL_DIR", ".")
    path = None
    for root, _dirs, files in os.walk(model_dir):
        if "model.json" in files:
            path = os.path.join(root, "model.json")
            break
    if path is None:
        raise FileNotFoundError(f"model.json not found under {model_dir}")
    with open(path) as f:
        model = json.load(f)
    print(f"Loaded model from {path}")


def run(raw_data):
    data = json.loads(raw_data)["data"]
    out = []
    for row in data:
        x = [(float(row[name]) - m) / s for name, m, s in zip(model["features"], model["means"], model["stds"])]
        z = model["bias"] + sum(w * v for w, v in zip(model["weights"], x))
        p = 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))
        out.append({"churn_probability": round(p, 6), "churn": p >= 0.5})
    return {"predictions": out}
