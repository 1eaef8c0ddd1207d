"""Scoring script for the churn model under Azure ML's init()/run() contract (standard library only).

With data collection on (AzureMLDeploy@1 input dataCollection), it logs what it scores and predicts through
azureml-ai-monitoring's Collector, as Azure ML's docs show; the local workspace provides a compatible Collector.
Without the package (an environment that does not install azureml-ai-monitoring), it scores without logging.
"""

import json
import math
import os

try:
    from azureml.ai.monitoring import Collector
except ImportError:
    Collector = None

model = None
inputs_collector = None
outputs_collector = None


def init():
    global model, inputs_collector, outputs_collector
    if Collector is not None:
        inputs_collector = Collector(name="model_inputs", on_error=lambda e: print(f"collecting inputs: {e}"))
        outputs_collector = Collector(name="model_outputs", on_error=lambda e: print(f"collecting outputs: {e}"))
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
    context = inputs_collector.collect(data) if inputs_collector is not None else None
    out = []
    for row in data:
        x = [(float(row[name]) - m) / s for name, m, s in zip(model["features"], model["means"], model["stds"])]
        z = model["bias"] + sum(w * v for w, v in zip(model["weights"], x))
        p = 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))
        out.append({"churn_probability": round(p, 6), "churn": p >= 0.5})
    if outputs_collector is not None:
        outputs_collector.collect(out, context)
    return {"predictions": out}
