#!/usr/bin/env python3
"""Differential test of `amlops-spec` against the Azure ML Python SDK (dev tool, not run in CI).

  1. generate: copies the repository's YAML corpus into a work folder and writes variants of every case next
     to its original (same folder, so relative paths keep working): fields omitted, typed differently,
     reference forms changed, enum casing changed, fields the SDK's schemas define added.
  2. record:   loads the SDK oracle (`to_rest.py`, given by --oracle; run this script with the Python of a venv
     holding the oracle's requirements) and records the requests the SDK sends for every variant, writing
     `manifest.json` and `expected/` in the corpus's own format. Shard with --shard I/N to use several cores.
  3. compare:  `cargo run -p amlops-spec --example oracle_diff -- <work>` renders every variant with amlops-spec
     and reports agreement per kind (main body, every dependency request, SDK-rejected files rejected).
  4. promote:  copies a variant into the corpus next to its original (or, when that name is taken, into `variants/` with the local files the SDK read)
     and records it there, so it becomes a fixture of `tests/corpus.rs`.

Usage (from the repository root):
  PY=<venv>/bin/python
  $PY tools/yaml-diff/yaml_diff.py generate --out /tmp/yd [--per-case 20] [--seed 1]
  $PY tools/yaml-diff/yaml_diff.py record --oracle <path to to_rest.py> --out /tmp/yd [--shard 0/2]
  $PY tools/yaml-diff/yaml_diff.py merge --out /tmp/yd
  cargo run -q -p amlops-spec --example oracle_diff -- /tmp/yd > /tmp/yd/report.txt
  $PY tools/yaml-diff/yaml_diff.py promote --oracle <path to to_rest.py> --out /tmp/yd --yaml <variant yaml>...
"""
from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import random
import re
import shutil
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "crates" / "amlops-spec" / "tests" / "corpus"

# ---------------------------------------------------------------------------------------------------------
# Mutation operators. Each yields (description, new_doc).
# ---------------------------------------------------------------------------------------------------------


def walk(node, path=()):
    """Every (path, value) under node (dict keys and list indices)."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, path + (i,))


def get_at(doc, path):
    for p in path:
        doc = doc[p]
    return doc


def set_at(doc, path, value):
    get_at(doc, path[:-1])[path[-1]] = value


def del_at(doc, path):
    parent = get_at(doc, path[:-1])
    del parent[path[-1]]


def pstr(path):
    return ".".join(str(p) for p in path)


VARIANT = re.compile(r"\.yd\d{3}\.yml$")
REF = re.compile(r"^(azureml:)?([A-Za-z0-9_.-]+):([A-Za-z0-9_.-]+)$")
LATEST = re.compile(r"^(azureml:)?([A-Za-z0-9_.-]+)@([A-Za-z0-9_.-]+)$")
LOCAL = re.compile(r"^(\.{1,2}/|[A-Za-z0-9_][A-Za-z0-9_.-]*/)[^:]*$|^\.{1,2}$")
ENUM_KEYS = {
    "type", "mode", "sampling_algorithm", "goal", "primary_metric", "task", "auth_mode", "distribution",
    "allowed_training_algorithms", "blocked_training_algorithms", "allowed_models", "log_verbosity", "os_type",
    "early_termination", "policy", "error_threshold", "output_action", "scale_type", "compute_type",
    "featurization", "mode", "target_lags", "country_or_region_for_holidays", "validation_metric_type",
}


def mutations(doc, rng):
    out = []
    paths = [p for p, _ in walk(doc) if p]
    for p in paths:
        v = get_at(doc, p)
        key = p[-1]
        # 1. omit a field (mappings only; the `$schema` stays so the kind stays clear)
        if isinstance(key, str) and key != "$schema":
            d = copy.deepcopy(doc)
            del_at(d, p)
            out.append((f"omit {pstr(p)}", d))
        # 2. typed differently
        if isinstance(v, bool):
            d = copy.deepcopy(doc)
            set_at(d, p, "true" if v else "false")
            out.append((f"bool->str {pstr(p)}", d))
        elif isinstance(v, int):
            d = copy.deepcopy(doc)
            set_at(d, p, str(v))
            out.append((f"int->str {pstr(p)}", d))
            d = copy.deepcopy(doc)
            set_at(d, p, float(v))
            out.append((f"int->float {pstr(p)}", d))
        elif isinstance(v, float):
            d = copy.deepcopy(doc)
            set_at(d, p, str(v))
            out.append((f"float->str {pstr(p)}", d))
            if v.is_integer():
                d = copy.deepcopy(doc)
                set_at(d, p, int(v))
                out.append((f"float->int {pstr(p)}", d))
        elif isinstance(v, str):
            if re.fullmatch(r"-?\d+", v):
                d = copy.deepcopy(doc)
                set_at(d, p, int(v))
                out.append((f"str->int {pstr(p)}", d))
            elif re.fullmatch(r"-?\d+\.\d+", v):
                d = copy.deepcopy(doc)
                set_at(d, p, float(v))
                out.append((f"str->float {pstr(p)}", d))
            if v.lower() in ("true", "false"):
                d = copy.deepcopy(doc)
                set_at(d, p, v.lower() == "true")
                out.append((f"str->bool {pstr(p)}", d))
            # 3. reference forms
            m = REF.match(v)
            if m and not v.startswith(("azureml://", "http")) and key not in ("image",):
                pre, name, ver = m.groups()
                for alt, what in (
                    (f"azureml:{name}@latest", "@latest"),
                    (f"{name}:{ver}" if pre else f"azureml:{name}:{ver}", "prefix toggled"),
                    (f"azureml:{name}@production", "label"),
                ):
                    d = copy.deepcopy(doc)
                    set_at(d, p, alt)
                    out.append((f"ref {what} {pstr(p)}", d))
            m = LATEST.match(v)
            if m:
                pre, name, label = m.groups()
                for alt, what in ((f"azureml:{name}:1", "name:version"), (f"{name}@{label}" if pre else f"azureml:{name}@{label}", "prefix toggled")):
                    d = copy.deepcopy(doc)
                    set_at(d, p, alt)
                    out.append((f"ref {what} {pstr(p)}", d))
            # 4. local paths: trailing slash toggled, ./ toggled
            if LOCAL.match(v) and key in ("path", "code", "conda_file", "model", "local_path", "entry", "file") or (
                key == "path" and not re.match(r"^[a-z]+:", v)
            ):
                alt = v[:-1] if v.endswith("/") else v + "/"
                d = copy.deepcopy(doc)
                set_at(d, p, alt)
                out.append((f"slash {pstr(p)}", d))
                alt = v[2:] if v.startswith("./") else ("./" + v if not v.startswith(("/", "../")) else None)
                if alt:
                    d = copy.deepcopy(doc)
                    set_at(d, p, alt)
                    out.append((f"dot-slash {pstr(p)}", d))
            # 5. enum casing
            if key in ENUM_KEYS or (len(p) >= 2 and p[-2] in ENUM_KEYS):
                for alt in {v.lower(), v.upper(), v[:1].upper() + v[1:]} - {v}:
                    d = copy.deepcopy(doc)
                    set_at(d, p, alt)
                    out.append((f"case {pstr(p)}={alt}", d))
        if isinstance(key, str) and key == "environment_variables" and isinstance(v, dict):
            for val in (7, True, 0.5, None):
                d = copy.deepcopy(doc)
                get_at(d, p)["YD_EXTRA"] = val
                out.append((f"env var {type(val).__name__} {pstr(p)}", d))
    out.extend(additions(doc))
    return out


# fields the SDK's schemas define that the corpus seldom uses, added where the owner mapping exists
def additions(doc):
    out = []
    t = str(doc.get("type", "")).lower() if isinstance(doc, dict) else ""

    def add(desc, mutate):
        d = copy.deepcopy(doc)
        try:
            if mutate(d) is not False:
                out.append((f"add {desc}", d))
        except (KeyError, TypeError, AttributeError, IndexError):
            pass

    for dist in (
        {"type": "tensorflow"},
        {"type": "tensorflow", "worker_count": 2},
        {"type": "pytorch"},
        {"type": "mpi"},
        {"type": "mpi", "process_count_per_instance": 2},
        {"type": "ray", "port": 6379},
    ):
        if t == "command":
            add(f"distribution {dist}", lambda d, dist=dist: d.__setitem__("distribution", dict(dist)))
    if t in ("command", "sweep", "pipeline", "spark", "automl") or "jobs" in doc:
        for ident in ({"type": "managed"}, {"type": "user_identity"}, {"type": "aml_token"}, {"type": "managed_identity"}):
            add(f"identity {ident}", lambda d, i=ident: d.__setitem__("identity", dict(i)))
        for k, v in (("resources", {"instance_count": 2}), ("queue_settings", {"job_tier": "spot"}),
                     ("services", {"my_ssh": {"type": "ssh", "ssh_public_keys": "ssh-rsa AAA"}}),
                     ("limits", {"timeout": 600}), ("description", "yd"), ("tags", {"a": 1, "b": True}),
                     ("properties", {"p": 1}), ("experiment_name", "yd-exp"), ("display_name", "yd display")):
            add(f"{k}", lambda d, k=k, v=v: d.__setitem__(k, copy.deepcopy(v)))
    if isinstance(doc.get("outputs"), dict):
        for name in list(doc["outputs"])[:1]:
            for mode in ("rw_mount", "upload", "direct"):
                add(f"outputs.{name}.mode={mode}", lambda d, n=name, m=mode: (
                    d["outputs"].__setitem__(n, {"type": "uri_folder", "mode": m})
                    if not isinstance(d["outputs"][n], dict) else d["outputs"][n].__setitem__("mode", m)))
    if isinstance(doc.get("jobs"), dict):
        for jn, job in list(doc["jobs"].items())[:2]:
            if isinstance(job, dict):
                for k, v in (("log_verbosity", "info"), ("compute", "azureml:cpu-cluster"),
                             ("environment_variables", {"N": 1}), ("outputs", {"yd_out": {"type": "uri_folder"}})):
                    add(f"jobs.{jn}.{k}", lambda d, jn=jn, k=k, v=v: d["jobs"][jn].__setitem__(k, copy.deepcopy(v)))
    if t == "automl" or "task" in doc:
        for k, v in (("log_verbosity", "debug"), ("featurization", {"mode": "off"}),
                     ("featurization", {"mode": "custom", "transformer_params": {"imputer": [{"fields": ["a"], "parameters": {"strategy": "most_frequent"}}]}}),
                     ("training", {"allowed_training_algorithms": ["lightgbm", "xgboost_classifier"]}),
                     ("training", {"blocked_training_algorithms": ["logistic_regression"]}),
                     ("training", {"enable_stack_ensemble": False, "enable_onnx_compatible_models": True}),
                     ("compute", None), ("primary_metric", "accuracy")):
            add(f"automl {k}={v}", lambda d, k=k, v=v: d.__setitem__(k, copy.deepcopy(v)) if v is not None else d.pop(k))
    if t == "spark":
        for ident in ({"type": "managed"}, {"type": "user_identity"}):
            add(f"spark identity {ident}", lambda d, i=ident: d.__setitem__("identity", dict(i)))
        add("spark resources", lambda d: d.__setitem__("resources", {"instance_type": "standard_e4s_v3", "runtime_version": "3.3"}))
    if "endpoint_name" in doc:
        for k, v in (("environment_variables", {"A": 1, "B": True}), ("app_insights_enabled", True),
                     ("description", "yd"), ("tags", {"x": 1}), ("instance_count", 2)):
            add(f"deployment {k}", lambda d, k=k, v=v: d.__setitem__(k, copy.deepcopy(v)))
    return out


def load_manifest(corpus: Path):
    return json.loads((corpus / "manifest.json").read_text())


def cmd_generate(args):
    out = Path(args.out)
    tree = out / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    for top in ("cli", "sdk"):
        if (CORPUS / top).exists():
            shutil.copytree(CORPUS / top, tree / top)
    rng = random.Random(args.seed)
    manifest = load_manifest(CORPUS)
    variants = []
    for case in manifest["cases"]:
        if case.get("status") != "ok" and not args.include_rejected:
            continue
        src = tree / case["yaml"]
        try:
            doc = yaml.safe_load(src.read_text())
        except Exception:  # noqa: BLE001
            continue
        if not isinstance(doc, dict):
            continue
        muts = mutations(doc, rng)
        rng.shuffle(muts)
        seen = set()
        n = 0
        for desc, d in muts:
            text = yaml.safe_dump(d, sort_keys=False, allow_unicode=True)
            if text in seen:
                continue
            seen.add(text)
            n += 1
            stem = src.name.rsplit(".", 1)[0]
            vpath = src.with_name(f"{stem}.yd{n:03d}.yml")
            vpath.write_text(f"# yaml-diff variant of {src.name}: {desc}\n" + text)
            variants.append({
                "yaml": str(vpath.relative_to(tree)),
                "kind": case["kind"],
                "derived_from": case["yaml"],
                "mutation": desc,
                "cli_args": case.get("cli_args", []),
                "pre_registered": case.get("pre_registered", []),
            })
            if n >= args.per_case:
                break
    (out / "variants.json").write_text(json.dumps(variants, indent=1))
    kinds = {}
    for v in variants:
        kinds[v["kind"]] = kinds.get(v["kind"], 0) + 1
    print(f"{len(variants)} variants in {out}: {json.dumps(kinds)}")


def load_oracle(path):
    spec = importlib.util.spec_from_file_location("to_rest", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def parse_cli_args(args):
    overrides = []
    i = 0
    while i < len(args):
        a, v = args[i], args[i + 1] if i + 1 < len(args) else ""
        if a == "--set" and "=" in v:
            k, val = v.split("=", 1)
            overrides.append({k.strip(): val})
        elif a == "--name":
            overrides.insert(0, {"name": v})
        elif a == "--endpoint-name":
            overrides.append({"endpoint_name": v})
        i += 2
    return overrides


def record_one(oracle, tree: Path, out: Path, v: dict) -> dict:
    yp = tree / v["yaml"]
    reg = [str(tree / r) for r in v.get("pre_registered", [])]
    res = oracle.convert(v["kind"], str(yp), parse_cli_args(v.get("cli_args", [])), reg, True)
    res["yaml"] = v["yaml"]
    if reg:
        res["pre_registered"] = list(v.get("pre_registered", []))
    exp = out / "expected" / (v["yaml"] + ".json")
    exp.parent.mkdir(parents=True, exist_ok=True)
    exp.write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n")
    entry = dict(v)
    entry["expected"] = str(exp.relative_to(out))
    entry["status"] = res["status"]
    if res["status"] == "ok":
        entry["dependency_requests"] = len(res.get("dependencies", []))
    else:
        entry["error"] = {"type": res["error"]["type"], "message": res["error"]["message"][:500]}
    return entry


def cmd_record(args):
    out = Path(args.out)
    tree = out / "tree"
    variants = json.loads((out / "variants.json").read_text())
    i, n = (int(x) for x in args.shard.split("/"))
    oracle = load_oracle(args.oracle)
    import logging
    logging.disable(logging.CRITICAL)
    entries = []
    mine = [v for k, v in enumerate(variants) if k % n == i]
    for k, v in enumerate(mine):
        try:
            entries.append(record_one(oracle, tree, out, v))
        except BaseException as ex:  # noqa: BLE001
            if isinstance(ex, KeyboardInterrupt):
                raise
            print(f"oracle crashed on {v['yaml']}: {ex}", file=sys.stderr)
        if k % 100 == 0:
            print(f"shard {i}/{n}: {k}/{len(mine)}", file=sys.stderr, flush=True)
    (out / f"manifest.shard{i}.json").write_text(json.dumps(entries, indent=1))


def cmd_merge(args):
    out = Path(args.out)
    entries = []
    for f in sorted(out.glob("manifest.shard*.json")):
        entries.extend(json.loads(f.read_text()))
    entries.sort(key=lambda e: e["yaml"])
    manifest = {"description": "yaml-diff variants recorded with the SDK oracle", "root": "tree", "cases": entries}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    ok = sum(1 for e in entries if e["status"] == "ok")
    print(f"{len(entries)} recorded: {ok} converted, {len(entries) - ok} rejected by the SDK")


def cmd_promote(args):
    """Copies variants into the corpus and records them: next to their original (`<path>`), which holds every file
    the variant reads, or, when that name is taken, under `variants/<path>` with copies of the local files the SDK
    read. Run `cargo test -p amlops-spec --test integration corpus::` afterwards: a variant next to its original
    is also inside the original's folder, and a case that uploads that folder as code must still hash as
    recorded."""
    out = Path(args.out)
    tree = out / "tree"
    oracle = load_oracle(args.oracle)
    import logging
    logging.disable(logging.CRITICAL)
    work = json.loads((out / "manifest.json").read_text())["cases"]
    by_yaml = {e["yaml"]: e for e in work}
    manifest = load_manifest(CORPUS)
    cases = [c for c in manifest["cases"] if not c["yaml"].startswith("variants/") or c["yaml"] not in
             {"variants/" + y for y in args.yaml}]
    vroot = CORPUS / "variants"
    for y in args.yaml:
        e = by_yaml[y]
        src_exp = json.loads((out / e["expected"]).read_text())
        beside = CORPUS / y
        if (CORPUS / e["derived_from"]).is_file() and not beside.exists():
            shutil.copy2(tree / y, beside)
            v = dict(e)
            rec = record_one(oracle, CORPUS, CORPUS, v)
            rec["recorded_with"] = "tools/yaml-diff (azure-ai-ml 1.35.2)"
            for k in ("pre_registered", "cli_args"):
                if not rec.get(k):
                    rec.pop(k, None)
            print(f"promoted {y} next to its original: {rec['status']}")
            cases = [c for c in cases if c["yaml"] != y]
            cases.append(rec)
            continue
        dst = vroot / y
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(tree / y, dst)
        # the original's folder (code, conda files, MLTable files, component YAMLs; no other variants)
        orig_dir = (tree / e["derived_from"]).parent
        for src in orig_dir.rglob("*"):
            if not src.is_file() or VARIANT.search(src.name) or src.stat().st_size > 300_000:
                continue
            d = dst.parent / src.relative_to(orig_dir)
            if not d.exists():
                d.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, d)
        # local files the SDK read for the case elsewhere
        for rel in src_exp.get("local_files_read", []):
            s = (tree / y).parent / rel
            d = dst.parent / rel
            if s.is_file() and not d.exists() and str(d.resolve()).startswith(str(vroot.resolve())):
                d.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(s, d)
        for r in e.get("pre_registered", []):
            s, d = tree / r, vroot / r
            if s.is_file() and not d.exists():
                d.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(s, d)
        v = dict(e)
        v["yaml"] = "variants/" + y
        v["derived_from"] = e["derived_from"]
        v["pre_registered"] = ["variants/" + r for r in e.get("pre_registered", [])]
        rec = record_one(oracle, CORPUS, CORPUS, v)
        rec["recorded_with"] = "tools/yaml-diff (azure-ai-ml 1.35.2)"
        if not rec["pre_registered"]:
            rec.pop("pre_registered")
        if not rec["cli_args"]:
            rec.pop("cli_args")
        exp_new = json.loads((CORPUS / rec["expected"]).read_text())
        same = {k: exp_new.get(k) for k in ("status", "request", "dependencies")} == {
            k: src_exp.get(k) for k in ("status", "request", "dependencies")}
        print(f"promoted {y}: {rec['status']}{'' if same else ' (differs from the work-tree recording: check the copied files)'}")
        cases.append(rec)
    manifest["cases"] = cases
    (CORPUS / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--out", required=True)
    g.add_argument("--per-case", type=int, default=20)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--include-rejected", action="store_true")
    r = sub.add_parser("record")
    r.add_argument("--oracle", required=True, help="path to the SDK oracle's to_rest.py")
    r.add_argument("--out", required=True)
    r.add_argument("--shard", default="0/1")
    m = sub.add_parser("merge")
    m.add_argument("--out", required=True)
    p = sub.add_parser("promote")
    p.add_argument("--oracle", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--yaml", nargs="+", required=True)
    args = ap.parse_args()
    {"generate": cmd_generate, "record": cmd_record, "merge": cmd_merge, "promote": cmd_promote}[args.cmd](args)


if __name__ == "__main__":
    main()
