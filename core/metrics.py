"""The service's Prometheus metrics: each one declared here, once, and
recorded by a one-line call where the thing happens.

Several processes count: API processes, their embedded workers, `scriptbox
worker`s. prometheus-client's multiprocess mode sums them: each process
writes its values to files in one folder (SCRIPTBOX_METRICS_DIR, exported as
PROMETHEUS_MULTIPROC_DIR by core/metric_files.py before this module is first
imported) and /metrics reads them all. Files rather than the database
or Redis: nothing is written over the network per event, and a counter
survives the restart of the process that counted it. Unset, a process
counts for itself (the embedded worker is in the same process, so `scriptbox
serve` alone still shows everything). Values read at scrape time (the queue
depth) come from the database, which sees every machine.

Names start with `scriptbox_`; label names and values are lower case, and
every label has a bounded set of values (see `operation_label`)."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core.metric_files import MULTIPROCESS_VARIABLE, process_identifier

CONTENT_TYPE = CONTENT_TYPE_LATEST

if os.environ.get(MULTIPROCESS_VARIABLE):
    # Files named by host and pid, not pid alone: processes in containers
    # that share the folder are each pid 1.
    values.ValueClass = values.MultiProcessValue(process_identifier)  # type: ignore[no-untyped-call]

# Only these metrics: not the client library's default process and GC ones,
# whose names are not the service's.
COUNTED = CollectorRegistry()

# Seconds: from a blink to the longest run a caller may ask for (600 s).
RUN_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
WAIT_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

EXECUTIONS = Counter(
    "scriptbox_executions",
    "Executions that ended, by status and language (unknown: ended before a sandbox job).",
    ["status", "language"],
    registry=COUNTED,
)
RUN_DURATION = Histogram(
    "scriptbox_run_duration_seconds",
    "How long runs took in the sandbox, by language.",
    ["language"],
    buckets=RUN_SECONDS,
    registry=COUNTED,
)
QUEUE_WAIT = Histogram(
    "scriptbox_queue_wait_seconds",
    "Time from queued to claimed by a worker.",
    buckets=WAIT_SECONDS,
    registry=COUNTED,
)
WARM_POOL_SIZE = Gauge(
    "scriptbox_warm_pool_size",
    "Started containers waiting for a run, summed over live processes.",
    multiprocess_mode="livesum",
    registry=COUNTED,
)
WARM_POOL_MISSES = Counter(
    "scriptbox_warm_pool_misses",
    "Runs that found no warm container and waited for one to start.",
    registry=COUNTED,
)
ACTIVE_SUBSCRIPTIONS = Gauge(
    "scriptbox_active_subscriptions",
    "GraphQL operations running over WebSockets (subscriptions), over live processes.",
    multiprocess_mode="livesum",
    registry=COUNTED,
)
HTTP_REQUESTS = Counter(
    "scriptbox_http_requests",
    "HTTP requests answered, by route, GraphQL operation name and status code.",
    ["route", "operation", "status"],
    registry=COUNTED,
)
DEPENDENCY_BUILDS = Counter(
    "scriptbox_dependency_builds",
    "Python dependency environments built, by outcome (built or failed).",
    ["outcome"],
    registry=COUNTED,
)
SCHEDULER_LAG = Histogram(
    "scriptbox_scheduler_lag_seconds",
    "How late a schedule fired after its due time.",
    buckets=WAIT_SECONDS,
    registry=COUNTED,
)

# Operation names come from clients: each process labels at most this many
# distinct ones by name, the rest as "other", so no client can grow the
# series without bound.
MAX_OPERATION_NAMES = 100
OPERATION_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}")
_operations: set[str] = set()
_operations_lock = threading.Lock()


def is_shared() -> bool:
    return bool(os.environ.get(MULTIPROCESS_VARIABLE))


def leave() -> None:
    """This process stops: its live gauges no longer count."""
    if is_shared():
        multiprocess.mark_process_dead(process_identifier())  # type: ignore[no-untyped-call]


def operation_label(name: str | None) -> str:
    """The `operation` label of a GraphQL request: its name, lower case,
    while fewer than MAX_OPERATION_NAMES are known; else a fixed word."""
    if not name:
        return "anonymous"
    name = name.lower()
    if not OPERATION_NAME.fullmatch(name):
        return "invalid"
    with _operations_lock:
        if name in _operations:
            return name
        if len(_operations) < MAX_OPERATION_NAMES:
            _operations.add(name)
            return name
    return "other"


def execution_ended(status: str, language: str | None, run_seconds: float | None) -> None:
    language = (language or "unknown").lower()
    EXECUTIONS.labels(status=status.lower(), language=language).inc()
    if run_seconds is not None:
        RUN_DURATION.labels(language=language).observe(run_seconds)


class _Gauges(Collector):
    """Values read at scrape time, given as (name, help, value)."""

    def __init__(self, gauges: Iterable[tuple[str, str, float]]) -> None:
        self._gauges = list(gauges)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        for name, help_text, value in self._gauges:
            yield GaugeMetricFamily(name, help_text, value=value)


def exposition(scraped: Iterable[tuple[str, str, float]] = ()) -> bytes:
    """The text format of every process's metrics, then `scraped`."""
    if is_shared():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        counted = generate_latest(registry)
    else:
        counted = generate_latest(COUNTED)
    extra = CollectorRegistry()
    extra.register(_Gauges(scraped))
    return counted + generate_latest(extra)
