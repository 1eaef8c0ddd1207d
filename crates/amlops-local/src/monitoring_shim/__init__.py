"""A local stand-in for the azureml-ai-monitoring package (`from azureml.ai.monitoring import Collector`), put on
the scoring process's PYTHONPATH by the amlops local workspace.

`Collector(name=...).collect(data, context=None)` turns `data` (a pandas DataFrame, a list of row dicts, a dict of
column lists or one row dict) into one data-collector event and returns the correlation context, as the real
package does; the local workspace writes the events of each scoring call to
modelDataCollector/<endpoint>/<deployment>/<name>/<yyyy>/<MM>/<dd>/<HH>/ in its default datastore. Collections
the deployment's dataCollector does not enable are not collected.
"""

import json
import math
import os
import random
import uuid

from .context import BasicCorrelationContext, CorrelationContext

__all__ = ["Collector", "BasicCorrelationContext", "CorrelationContext"]

AGENT = "azureml-ai-monitoring/0.1.0b4 (amlops local workspace shim)"

_state = {"time": None, "correlation": None, "events": [], "names": set()}


def _collections():
    try:
        return json.loads(os.environ.get("AMLOPS_COLLECTIONS") or "{}")
    except ValueError:
        return {}


def _clean(value):
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        try:
            return _clean(value.item())
        except (TypeError, ValueError):
            pass
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def rows_of(data):
    """Row objects from a DataFrame, a list of rows, a dict of columns or one row."""
    if hasattr(data, "to_dict") and hasattr(data, "columns"):
        return _clean(data.to_dict(orient="records"))
    if hasattr(data, "tolist"):
        data = data.tolist()
    if isinstance(data, dict):
        columns = list(data.values())
        if columns and all(isinstance(c, (list, tuple)) for c in columns):
            n = max(len(c) for c in columns)
            keys = list(data.keys())
            return _clean([{k: (data[k][i] if i < len(data[k]) else None) for k in keys} for i in range(n)])
        return [_clean(data)]
    if isinstance(data, (list, tuple)):
        out = []
        for row in data:
            if isinstance(row, dict):
                out.append(_clean(row))
            elif isinstance(row, (list, tuple)):
                out.append({str(i): _clean(v) for i, v in enumerate(row)})
            else:
                out.append({"value": _clean(row)})
        return out
    return [{"value": _clean(data)}]


def _begin(time, correlation):
    """Called by the scoring driver before run(): the call's event time and correlation id."""
    _state["time"] = time
    _state["correlation"] = correlation
    _state["events"] = []
    _state["names"] = set()


def _end():
    """Called by the scoring driver after run(): the call's events and the collections the script logged."""
    events, names = _state["events"], _state["names"]
    _state["events"], _state["names"] = [], set()
    return events, names


def _record(name, data_rows, correlation, collect_type):
    rates = _collections()
    _state["names"].add(name)
    if name not in rates:
        return
    if random.random() >= float(rates.get(name, 1.0)):
        return
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": os.environ.get("AMLOPS_COLLECTOR_SOURCE", "amlops-local"),
        "type": "azureml.inference." + name,
        "datacontenttype": "application/json",
        "time": _state["time"],
        "data": data_rows,
        "correlationid": correlation,
        "xrequestid": correlation,
        "modelversion": "default",
        "collectdatatype": collect_type,
        "agent": AGENT,
    }
    _state["events"].append({"collection": name, "event": event})


class Collector:
    """Logs data to the collection `name` of the deployment's data collector."""

    def __init__(self, *, name, on_error=None, **kwargs):
        if not name:
            raise ValueError("Collector needs a name, e.g. Collector(name='model_inputs')")
        self.name = name
        self.on_error = on_error

    def collect(self, data, correlation_context=None):
        context = correlation_context or BasicCorrelationContext(id=_state["correlation"] or str(uuid.uuid4()))
        try:
            kind = type(data).__module__ + "." + type(data).__name__
            _record(self.name, rows_of(data), context.get_id(), kind)
        except Exception as error:  # the real package never lets collection break scoring
            if self.on_error is not None:
                self.on_error(error)
        return context
