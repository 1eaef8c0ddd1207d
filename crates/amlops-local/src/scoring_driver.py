# Runs an Azure ML scoring script (init() once, run(raw_data) per request) for the amlops local workspace.
# Protocol: one JSON object per line. stdin: {"id", "body"}; the saved stdout: {"ready"} once, then
# {"id", "status", "body"} per request. The script's own prints go to stderr, which the server logs.
import importlib.util
import json
import os
import sys
import traceback

proto = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
sys.stdout = os.fdopen(1, "w", buffering=1)


def send(obj):
    proto.write(json.dumps(obj) + "\n")
    proto.flush()


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
    try:
        result = module.run(request["body"])
        if isinstance(result, (bytes, bytearray)):
            result = result.decode("utf-8", "replace")
        send({"id": request["id"], "status": 200, "body": json.dumps(result, default=str)})
    except BaseException as error:
        traceback.print_exc()
        sys.stderr.flush()
        send({"id": request["id"], "status": 500, "body": json.dumps(str(error))})
