"""Prometheus metrics. Labels are closed vocabularies only: the route's template (never the
path as sent), method, status, decision, requester function, purpose, direction. Never a person,
a request id, a record id, an organisation's free text or anything a caller typed.

With `PROMETHEUS_MULTIPROC_DIR` set (as `safereport serve` does), every worker writes its
counters there and `/metrics` adds them up across workers.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess as _multiprocess

from safereport.model import Decision, DisclosureRequest
from safereport.orgs import registry

HTTP_REQUESTS = Counter(
    "safereport_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ("endpoint", "method", "status"),
)
HTTP_SECONDS = Histogram(
    "safereport_http_request_seconds",
    "Time from the request's arrival to the end of its response, by route template.",
    ("endpoint",),
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
DECISIONS = Counter(
    "safereport_decisions",
    "Decisions made (each logged before it was answered), by decision, requester function, "
    "purpose and direction.",
    ("decision", "requester_function", "purpose", "direction"),
)
REFUSED_IMPERSONATIONS = Counter(
    "safereport_impersonations_refused",
    "Requests refused because they named another organisation than the caller's key (each audited).",
    ("direction",),
)
COMMIT_GROUP = Histogram(
    "safereport_commit_group_size",
    "Decisions appended to the audit log per durable commit.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_function_labels: dict[str, str] = {}


def function_label(org_id: str) -> str:
    """The requester's functions, sorted and joined with '+': a small closed set of labels."""
    label = _function_labels.get(org_id)
    if label is None:
        org = registry().get(org_id)
        label = "+".join(sorted(f.value for f in org.functions)) if org else "unknown"
        _function_labels[org_id] = label
    return label


def observe_http(endpoint: str, method: str, status: int, seconds: float) -> None:
    shown = method if method in _METHODS else "OTHER"
    HTTP_REQUESTS.labels(endpoint, shown, str(status)).inc()
    HTTP_SECONDS.labels(endpoint).observe(seconds)


def observe_decision(request: DisclosureRequest, decision: Decision) -> None:
    DECISIONS.labels(
        decision.value, function_label(request.requester), request.purpose.value, request.direction.value
    ).inc()


def exposition() -> tuple[bytes, str]:
    """The metrics text: summed across workers when they share a multiprocess folder."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder and os.path.isdir(folder):
        collected = CollectorRegistry()
        _multiprocess.MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
        return generate_latest(collected), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def worker_exited(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
