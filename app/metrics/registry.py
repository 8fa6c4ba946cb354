"""The broker's CollectorRegistry and the small functions other modules call to record events.

Our own registry, not prometheus-client's global one, so nothing a library registers leaks into
/metrics and tests can read exact values. Counters live per process: the API and each worker
count their own, so Prometheus should scrape every process (see `start_worker_metrics_server`)
and sum over the `instance` label.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

log = logging.getLogger("certbroker.metrics")

REGISTRY = CollectorRegistry(auto_describe=True)

# Job runs take from milliseconds (a no-op) to minutes (an inventory sync of a large account).
_JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
_CA_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

JOB_DURATION = Histogram(
    "certbroker_job_duration_seconds",
    "Job executions by kind and outcome (succeeded, rescheduled, retrying, failed).",
    ["kind", "outcome"],
    buckets=_JOB_BUCKETS,
    registry=REGISTRY,
)
CA_CALL_DURATION = Histogram(
    "certbroker_ca_call_duration_seconds",
    "Calls to certificate authorities by backend, operation and outcome.",
    ["backend", "operation", "outcome"],
    buckets=_CA_BUCKETS,
    registry=REGISTRY,
)
RENEWALS = Counter(
    "certbroker_renewals_total", "Automatic renewals by outcome.", ["outcome"], registry=REGISTRY
)
ALERTS = Counter(
    "certbroker_expiry_alerts_total",
    "Expiry alerts sent, by severity.",
    ["severity"],
    registry=REGISTRY,
)
WEBHOOK_DELIVERIES = Counter(
    "certbroker_webhook_deliveries_total",
    "Webhook deliveries that finished, by outcome.",
    ["outcome"],
    registry=REGISTRY,
)
INVENTORY_IMPORTS = Counter(
    "certbroker_inventory_imported_total",
    "Certificates added to the inventory, by source (scm_import, upload).",
    ["source"],
    registry=REGISTRY,
)


def record_job(kind: str, outcome: str, seconds: float) -> None:
    JOB_DURATION.labels(kind=kind, outcome=outcome).observe(seconds)


def record_ca_call(backend: str, operation: str, outcome: str, seconds: float) -> None:
    CA_CALL_DURATION.labels(backend=backend, operation=operation, outcome=outcome).observe(seconds)


@contextmanager
def timed_ca_call(backend: str, operation: str) -> Iterator[dict[str, str]]:
    """Time a CA call; outcome "ok", or "error" when it raises. Set `["outcome"]` to refine."""
    started = time.perf_counter()
    result = {"outcome": "ok"}
    try:
        yield result
    except BaseException:
        result["outcome"] = "error"
        raise
    finally:
        record_ca_call(backend, operation, result["outcome"], time.perf_counter() - started)


def record_renewal(outcome: str) -> None:
    """For the renewal scheduler: e.g. "ordered", "skipped", "failed"."""
    RENEWALS.labels(outcome=outcome).inc()


def record_alert(severity: str, count: int = 1) -> None:
    """For the expiry alerts: e.g. "warning", "critical", "expired"."""
    ALERTS.labels(severity=severity).inc(count)


def record_webhook_delivery(outcome: str) -> None:
    """For webhook deliveries when they finish: "succeeded" or "failed"."""
    WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()


def record_import(source: str, count: int = 1) -> None:
    if count:
        INVENTORY_IMPORTS.labels(source=source).inc(count)


_worker_server_started = False


def start_worker_metrics_server(port: int, host: str) -> None:
    """Serve this process's registry on its own port (the worker has no HTTP API).

    Unauthenticated by design: bind it to an address only the scraper reaches. The worker
    exposes counters and histograms only; the per-certificate expiry gauge comes from the API.
    """
    global _worker_server_started
    if _worker_server_started:
        return
    start_http_server(port, addr=host, registry=REGISTRY)
    _worker_server_started = True
    log.info("worker metrics on http://%s:%d/metrics", host, port)
