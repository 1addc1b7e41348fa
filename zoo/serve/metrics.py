"""The Prometheus metrics of `zoo serve` (prometheus-client), one registry per app.

With several workers (`zoo serve --workers N`) the CLI sets PROMETHEUS_MULTIPROC_DIR before the workers start,
and `/metrics` adds up every worker's values (prometheus-client's multiprocess mode).
"""
from __future__ import annotations

import os

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, disable_created_metrics,
                               generate_latest)

disable_created_metrics()  # no *_created series beside each counter and histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("zoo_serve_requests", "HTTP requests answered, by route and status code",
                                ["route", "status"], registry=r)
        self.latency = Histogram("zoo_serve_request_seconds", "Time to answer a prediction request",
                                 ["model"], buckets=LATENCY_BUCKETS, registry=r)
        self.inputs = Counter("zoo_serve_inputs", "Inputs predicted, by model", ["model"], registry=r)
        self.batch_inputs = Histogram("zoo_serve_batch_inputs", "Inputs in one Predictor call (dynamic batching)",
                                      ["model"], buckets=BATCH_BUCKETS, registry=r)
        self.batch_requests = Histogram("zoo_serve_batch_requests", "Requests gathered into one Predictor call",
                                        ["model"], buckets=BATCH_BUCKETS, registry=r)
        self.batch_seconds = Histogram("zoo_serve_batch_seconds", "Time of one Predictor call",
                                       ["model"], buckets=LATENCY_BUCKETS, registry=r)
        self.errors = Counter("zoo_serve_errors", "Requests refused or failed, by kind", ["kind"], registry=r)

    def batch(self, model: str, inputs: int, requests: int, seconds: float) -> None:
        self.batch_inputs.labels(model).observe(inputs)
        self.batch_requests.labels(model).observe(requests)
        self.batch_seconds.labels(model).observe(seconds)

    def text(self) -> tuple[bytes, str]:
        """The exposition of every metric (of every worker, in multiprocess mode) and its content type."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
