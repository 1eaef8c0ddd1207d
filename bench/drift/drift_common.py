# Carried over from the drift-benchmark reference this project was given (see bench/drift/README.md); only this line was added.
"""Shared helpers for the drift baselines: thresholds, result layout, expected-vs-verdict check."""
import json
import os
import resource

HERE = os.path.dirname(os.path.abspath(__file__))

# One gate configuration used by every baseline so verdicts are comparable.
# Distances/PSI: drift when value > threshold.  Tests: drift when p-value < threshold
# (Azure ML evaluate_metrics_threshold semantics; evidently uses >= / <= resp.).
THRESHOLDS = {
    "numerical": {
        "jensen_shannon_distance": 0.1,
        "population_stability_index": 0.1,
        "normalized_wasserstein_distance": 0.1,  # azure-ai-ml SDK default metric+threshold for numerical data drift
        "two_sample_kolmogorov_smirnov_test": 0.05,
    },
    "categorical": {
        "jensen_shannon_distance": 0.1,  # azure-ai-ml SDK default metric+threshold for categorical data drift
        "population_stability_index": 0.1,
        "pearsons_chi_squared_test": 0.05,
    },
}
P_VALUE_METRICS = {"two_sample_kolmogorov_smirnov_test", "pearsons_chi_squared_test"}
# The gate verdict of a column uses Azure's default metric for its type.
GATE_METRIC = {"numerical": "normalized_wasserstein_distance", "categorical": "jensen_shannon_distance"}


def breached(metric, value, threshold):
    if value is None or value != value:  # None or NaN: not evaluated (Azure drops nulls)
        return None
    if metric in P_VALUE_METRICS:
        return bool(value < threshold)
    return bool(value > threshold)


def data_paths(size, fmt, data_dir=None):
    d = data_dir or os.path.join(HERE, "data", size)
    ext = {"parquet": "parquet", "csv": "csv"}[fmt]
    return os.path.join(d, f"baseline.{ext}"), os.path.join(d, f"target.{ext}"), os.path.join(d, "expected.json")


def verdicts(columns):
    """Fill per-metric drift flags and the gate flag for each column result in place."""
    for col, res in columns.items():
        typ = res["type"]
        res["drift"] = {m: breached(m, v, THRESHOLDS[typ][m]) for m, v in res["metrics"].items()}
        res["gate_drift"] = res["drift"].get(GATE_METRIC[typ])
    return columns


def compare_expected(columns, expected_path):
    if not os.path.exists(expected_path):
        return None
    exp = json.load(open(expected_path))
    out = {}
    for col, res in columns.items():
        truth = exp["columns"][col]["drifted"]
        out[col] = {"expected": truth, "kind": exp["columns"][col]["kind"],
                    "per_metric_correct": {m: (v == truth) for m, v in res["drift"].items() if v is not None},
                    "gate_correct": (res["gate_drift"] == truth) if res["gate_drift"] is not None else None}
    wrong_gate = sorted(c for c, v in out.items() if v["gate_correct"] is False)
    return {"columns": out, "gate_wrong": wrong_gate,
            "gate_correct": sum(1 for v in out.values() if v["gate_correct"]), "n_columns": len(out)}


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
