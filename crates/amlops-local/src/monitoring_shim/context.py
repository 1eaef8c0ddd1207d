"""Correlation contexts, as in azureml-ai-monitoring: inputs and outputs of one call share an id."""

import time
import uuid


class CorrelationContext:
    def get_id(self):
        raise NotImplementedError

    def get_timestamp(self):
        raise NotImplementedError

    def get_headers(self):
        return {}


class BasicCorrelationContext(CorrelationContext):
    def __init__(self, id=None, timestamp=None, headers=None):
        self.id = id or str(uuid.uuid4())
        self.timestamp = timestamp or int(time.time())
        self.headers = headers or {}

    def get_id(self):
        return self.id

    def get_timestamp(self):
        return self.timestamp

    def get_headers(self):
        return self.headers
