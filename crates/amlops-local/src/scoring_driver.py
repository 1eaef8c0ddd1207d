# Runs an Azure ML scoring script (init() once, run(raw_data) per request) for the amlops local workspace.
# Protocol: one JSON object per line. stdin: {"id", "body", "time"}; the saved stdout: {"ready"} once, then
# {"id", "status", "body", "collected"} per request. The script's own prints go to stderr, which the server logs.
# With data collection on (AMLOPS_COLLECTIONS), "collected" holds the call's data-collector events: what the
# script logged through the azureml.ai.monitoring shim, and otherwise the parsed request (model_inputs), the
# run() result (model_outputs) and the raw bodies (request, response).
import importlib.util
import json
import os
import sys
import traceback
import uuid

proto = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
sys.stdout = os.fdopen(1, "w", buffering=1)


def send(obj):
    proto.write(json.dumps(obj) + "\n")
    proto.flush()


collections = {}
shim = None
try:
    collections = json.loads(os.environ.get("AMLOPS_COLLECTIONS") or "{}")
except ValueError:
    collections = {}
if collections:
    try:
        import azureml.ai.monitoring as shim

        if not hasattr(shim, "_begin"):
            shim = None
    except Exception:
        traceback.print_exc()
        shim = None


def parsed(text):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def input_rows(body):
    data = parsed(body)
    if isinstance(data, dict):
        for key in ("data", "input_data", "inputs", "instances"):
            if key in data:
                inner = data[key]
                if isinstance(inner, dict) and "columns" in inner and "data" in inner:
                    return [dict(zip(inner["columns"], row)) for row in inner["data"]]
                return shim.rows_of(inner)
    return shim.rows_of(data)


def output_rows(result):
    result = parsed(result) if isinstance(result, str) else result
    if isinstance(result, dict) and len(result) == 1:
        (inner,) = result.values()
        if isinstance(inner, list):
            return shim.rows_of(inner)
    return shim.rows_of(result)


def collect_automatically(body, result):
    """The collections the script did not log itself."""
    logged = shim._state["names"]
    correlation = shim._state["correlation"]
    for name, rows in (
        ("model_inputs", lambda: input_rows(body)),
        ("model_outputs", lambda: output_rows(result)),
        ("request", lambda: [parsed(body)]),
        ("response", lambda: [result]),
    ):
        if name in collections and name not in logged:
            shim._record(name, rows(), correlation, "json")


script = os.environ["AZUREML_ENTRY_SCRIPT"]
sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
try:
    spec = importlib.util.spec_from_file_location("score", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules["score"] = module
    spec.loader.exec_module(module)
    if not hasattr(module, "run"):
        raise AttributeError("the scoring script has no run(raw_data) function")
    if hasattr(module, "init"):
        module.init()
except BaseException:
    traceback.print_exc()
    sys.stderr.flush()
    send({"ready": False, "error": traceback.format_exc()})
    sys.exit(1)

print("amlops-local: init() completed, ready for requests", file=sys.stderr, flush=True)
send({"ready": True})

for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    request = json.loads(line)
    if shim is not None:
        shim._begin(request.get("time"), str(uuid.uuid4()))
    try:
        result = module.run(request["body"])
        if isinstance(result, (bytes, bytearray)):
            result = result.decode("utf-8", "replace")
        collected = []
        if shim is not None:
            try:
                collect_automatically(request["body"], result)
            except Exception:
                traceback.print_exc()
            collected, _ = shim._end()
        send({"id": request["id"], "status": 200, "body": json.dumps(result, default=str), "collected": collected})
    except BaseException as error:
        traceback.print_exc()
        sys.stderr.flush()
        collected = shim._end()[0] if shim is not None else []
        send({"id": request["id"], "status": 500, "body": json.dumps(str(error)), "collected": collected})
