"""The metrics, named the Prometheus way (a `desk_` prefix, base units, `_total` for counters).

Each Daphne process counts what it served: scrape every process (docs/operations.md) and sum.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable
from importlib import metadata

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

# The standard series every Prometheus client exports: `process_*` (CPU seconds, resident memory,
# open file descriptors and their limit, start time) and `python_info`.
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


BUILD = Info("desk_build", "The running release: the desk's version and what it runs on.", registry=REGISTRY)
BUILD.info({
    "version": _version("plivo-agent-desk"),
    "django": _version("Django"),
    "python": platform.python_version(),
})

# Latencies from a millisecond to a few seconds: a callback's or a frame's life on one process.
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# An upstream request: milliseconds on the simulator, up to the timeout on Plivo.
UPSTREAM_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)

CALLBACKS = Counter(
    "desk_callbacks", "Plivo callbacks received, by PHLO app, family and outcome (refused ones too).",
    ["app", "family", "outcome"], registry=REGISTRY,
)
CALLBACK_SECONDS = Histogram(
    "desk_callback_intake_seconds", "From a callback's request to its answer: parsed, verified, stored and applied.",
    buckets=FAST_BUCKETS, registry=REGISTRY,
)
UPSTREAM_REQUESTS = Counter(
    "desk_upstream_requests", "Requests to Plivo's PHLO and Voice APIs, by API, action and HTTP status "
    "(or timeout / unreachable).", ["upstream", "action", "status"], registry=REGISTRY,
)
UPSTREAM_SECONDS = Histogram(
    "desk_upstream_request_seconds", "How long Plivo's APIs took to answer, by API and action.",
    ["upstream", "action"], buckets=UPSTREAM_BUCKETS, registry=REGISTRY,
)
SOCKETS = Gauge(
    "desk_websockets", "Dashboard WebSockets open on this process, by role.", ["role"], registry=REGISTRY,
)
FANOUT_LAG_SECONDS = Histogram(
    "desk_fanout_lag_seconds",
    "From a change's commit (coalesced presence: from when its tick meant to write them) to the last of this "
    "process's sockets written.",
    buckets=FAST_BUCKETS, registry=REGISTRY,
)
RESYNCS = Counter(
    "desk_resyncs", "Snapshots sent again to a dashboard, by reason (asked, layer lost, rights changed).",
    ["reason"], registry=REGISTRY,
)
ROUTING_OFFERS = Counter(
    "desk_routing_offers", "Offers of a waiting call to an agent, by how they ended.", ["outcome"], registry=REGISTRY,
)
ROUTING_SECONDS = Histogram(
    "desk_routing_dial_seconds", "From a customer's join callback to the PHLO `call` request that offers the call.",
    buckets=FAST_BUCKETS, registry=REGISTRY,
)


class _ReadAtScrape(Collector):
    """Gauges whose truth is the database's, read when Prometheus scrapes."""

    def __init__(self, name: str, documentation: str, labels: list[str], read: Callable[[], Iterable[tuple]]):
        self.name, self.documentation, self.labels, self.read = name, documentation, labels, read

    def collect(self):
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labels)
        for *label_values, value in self.read():
            family.add_metric([str(v) for v in label_values], value)
        yield family

    def describe(self):
        return [GaugeMetricFamily(self.name, self.documentation, labels=self.labels)]


def register_collector(name: str, documentation: str, labels: list[str], read: Callable[[], Iterable[tuple]]) -> None:
    """`read()` yields (label values…, value) rows at each scrape (sync; it may read the database)."""
    if name not in _registered:
        _registered.add(name)
        REGISTRY.register(_ReadAtScrape(name, documentation, labels, read))


_registered: set[str] = set()
