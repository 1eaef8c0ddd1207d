"""Train a small churn classifier (logistic regression) with nothing but the Python standard library.

Usage: python train.py --data train.csv --model-dir OUT [--epochs N] [--learning-rate R]

Metrics are logged with MLflow when the `mlflow` package is installed (as on Azure ML), otherwise through the
MLflow REST API at MLFLOW_TRACKING_URI (as in the amlops local workspace).
"""

import argparse
import csv
import json
import math
import os
import random
import sys
import time
import urllib.request

FEATURES = ["tenure_months", "monthly_charges", "support_calls", "contract_monthly"]


def log_metrics(metrics):
    try:
        import mlflow  # noqa: F401  (present on Azure ML images)

        for key, value in metrics.items():
            mlflow.log_metric(key, value)
        return
    except ImportError:
        pass
    uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    run_id = os.environ.get("MLFLOW_RUN_ID", "")
    if not uri.startswith("http") or not run_id:
        print("No MLflow tracking server; metrics:", json.dumps(metrics))
        return
    now = int(time.time() * 1000)
    body = {
        "run_id": run_id,
        "metrics": [{"key": k, "value": float(v), "timestamp": now, "step": 0} for k, v in metrics.items()],
    }
    headers = {"Content-Type": "application/json"}
    token = os.environ.get("MLFLOW_TRACKING_TOKEN", "")
    if token:
        # As the mlflow package does: the run's token as a bearer.
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(
        uri.rstrip("/") + "/api/2.0/mlflow/runs/log-batch",
        data=json.dumps(body).encode(),
        headers=headers,
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def load(path):
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            x = [float(row[name]) for name in FEATURES]
            rows.append((x, int(row["churned"])))
    if not rows:
        sys.exit(f"{path}: no rows")
    return rows


def standardise(rows):
    n = len(rows)
    means = [sum(x[i] for x, _ in rows) / n for i in range(len(FEATURES))]
    stds = [
        math.sqrt(sum((x[i] - means[i]) ** 2 for x, _ in rows) / n) or 1.0 for i in range(len(FEATURES))
    ]
    return means, stds


def predict(weights, bias, x):
    z = bias + sum(w * v for w, v in zip(weights, x))
    return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    args = parser.parse_args()

    rows = load(args.data)
    random.Random(7).shuffle(rows)
    split = int(len(rows) * 0.8)
    train, test = rows[:split], rows[split:]
    means, stds = standardise(train)
    scale = lambda x: [(v - m) / s for v, m, s in zip(x, means, stds)]  # noqa: E731
    train = [(scale(x), y) for x, y in train]
    test = [(scale(x), y) for x, y in test]

    weights, bias = [0.0] * len(FEATURES), 0.0
    print(f"Training on {len(train)} rows, testing on {len(test)} rows, {args.epochs} epochs")
    for epoch in range(1, args.epochs + 1):
        gw, gb = [0.0] * len(FEATURES), 0.0
        for x, y in train:
            err = predict(weights, bias, x) - y
            gw = [g + err * v for g, v in zip(gw, x)]
            gb += err
        weights = [w - args.learning_rate * g / len(train) for w, g in zip(weights, gw)]
        bias -= args.learning_rate * gb / len(train)
        if epoch % max(1, args.epochs // 5) == 0:
            loss = -sum(
                y * math.log(max(predict(weights, bias, x), 1e-12))
                + (1 - y) * math.log(max(1 - predict(weights, bias, x), 1e-12))
                for x, y in train
            ) / len(train)
            print(f"epoch {epoch}: log loss {loss:.4f}", flush=True)

    tp = fp = tn = fn = 0
    for x, y in test:
        p = predict(weights, bias, x) >= 0.5
        tp += p and y == 1
        fp += p and y == 0
        tn += (not p) and y == 0
        fn += (not p) and y == 1
    accuracy = (tp + tn) / len(test)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    metrics = {"accuracy": accuracy, "precision": precision, "recall": recall, "f1": f1}
    print("Test metrics:", json.dumps(metrics))
    log_metrics(metrics)

    os.makedirs(args.model_dir, exist_ok=True)
    with open(os.path.join(args.model_dir, "model.json"), "w") as f:
        json.dump({"features": FEATURES, "means": means, "stds": stds, "weights": weights, "bias": bias}, f, indent=2)
    print(f"Model written to {args.model_dir}")


if __name__ == "__main__":
    main()
