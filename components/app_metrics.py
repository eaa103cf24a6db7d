"""What Open WebUI exports over OpenTelemetry, and the names Prometheus knows it by: the one catalog the dashboards,
the PromQL rules and `make e2e`'s telemetry check read.

Open WebUI 0.12.4 records these instruments itself (open_webui/utils/telemetry/metrics.py) when ENABLE_OTEL and
ENABLE_OTEL_METRICS are on, and pushes them over OTLP; the stack's OpenTelemetry Collector turns them into
Prometheus series (components/otel_collector.py) for Azure's managed Prometheus to scrape.

The naming rule is the collector's Prometheus exporter's with `translation_strategy: UnderscoreEscapingWithSuffixes`
(the collector's default, set explicitly there): prometheus/otlptranslator's `normalizeName` (metric_namer.go),
the OpenTelemetry specification's "OTLP Metric points to Prometheus" (compatibility/prometheus_and_openmetrics.md):
- the name splits on every character outside [a-zA-Z0-9:] and joins with `_`;
- the unit's Prometheus word is appended unless the name already holds it (`ms` -> `milliseconds`, `1` -> none,
  a unit outside the table as it is: `users`);
- a monotonic sum (a counter) ends in `_total`; a gauge of unit `1` in `_ratio`;
- a histogram is three series: `<name>_bucket` (with `le`), `<name>_sum`, `<name>_count`;
- an attribute's name has each character outside [a-zA-Z0-9_] replaced by `_` (`http.route` -> `http_route`);
- the resource's `service.name` becomes `job` and `service.instance.id` becomes `instance` (the replica's pod).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    COUNTER = "counter"
    HISTOGRAM = "histogram"
    GAUGE = "gauge"


UNIT_WORDS = {"ms": "milliseconds", "s": "seconds", "By": "bytes", "1": "", "%": "percent"}
"""The part of the exporter's unit table the catalog's units need (otlptranslator's unitMap)."""
SERVICE_NAME = "open-webui"
"""OTEL_SERVICE_NAME the replicas export under: the `job` label of every series."""
RESOURCE_LABELS = ("job", "instance")
"""What the resource's service.name and service.instance.id become on every series."""


OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
POD_NAME_ENV = "POD_NAME"
"""The pod's name, from the downward API, for OTEL_RESOURCE_ATTRIBUTES to expand: each replica's series apart."""


def telemetry_environment(otlp_endpoint: str) -> dict[str, str]:
    """What turns Open WebUI's metrics on and sends them to the collector (no traces, no logs: nothing reads them)."""
    return {
        "ENABLE_OTEL": "true", "ENABLE_OTEL_METRICS": "true", "ENABLE_OTEL_TRACES": "false",
        "ENABLE_OTEL_LOGS": "false", OTLP_ENDPOINT_ENV: otlp_endpoint,
        # plain gRPC inside the cluster: the NetworkPolicies let only the replicas reach the collector's port
        "OTEL_EXPORTER_OTLP_INSECURE": "true", "OTEL_SERVICE_NAME": SERVICE_NAME,
        # Kubernetes expands $(POD_NAME) from the env before it (open_webui.py puts it first)
        "OTEL_RESOURCE_ATTRIBUTES": f"service.instance.id=$({POD_NAME_ENV})",
    }


def prometheus_name(name: str, unit: str, kind: Kind) -> str:
    tokens = [t for t in re.split(r"[^a-zA-Z0-9:]+", name) if t]
    word = UNIT_WORDS.get(unit, re.sub(r"\{[^}]*\}", "", unit))
    if word and word not in tokens:
        tokens.append(word)
    if kind is Kind.COUNTER:
        tokens = [t for t in tokens if t != "total"] + ["total"]
    if kind is Kind.GAUGE and unit == "1":
        tokens = [t for t in tokens if t != "ratio"] + ["ratio"]
    return "_".join(tokens)


def prometheus_label(attribute: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", attribute)


@dataclass(frozen=True)
class Instrument:
    """One OpenTelemetry instrument of Open WebUI's, as recorded and as Prometheus names it."""

    name: str
    unit: str
    kind: Kind
    attributes: tuple[str, ...] = ()

    @property
    def metric(self) -> str:
        return prometheus_name(self.name, self.unit, self.kind)

    @property
    def series(self) -> tuple[str, ...]:
        """The series names a query can use."""
        if self.kind is Kind.HISTOGRAM:
            return tuple(f"{self.metric}_{suffix}" for suffix in ("bucket", "sum", "count"))
        return (self.metric,)

    @property
    def labels(self) -> tuple[str, ...]:
        return (*RESOURCE_LABELS, *(prometheus_label(a) for a in self.attributes),
                *(("le",) if self.kind is Kind.HISTOGRAM else ()))


API_ROUTES = r"^/(api|ollama|openai|oauth)/|^/(health|ready)(/db)?$"
"""The routes Open WebUI's API answers under. It labels a request its route's template (/api/v1/chats/{id}), but one
that no API route matched with its raw path: every file of the frontend (hundreds) and any path a visitor makes up
(the frontend's fallback answers them all), each a new series. The collector folds every route outside these into
OTHER_ROUTE (components/otel_collector.py). A made-up path under /api/ still gets through as itself (the fallback
answers it too); the collector forgets a series 5 minutes after its last request."""
OTHER_ROUTE = "(other)"
HTTP_ATTRIBUTES = ("http.method", "http.route", "http.status_code")
REQUESTS = Instrument("http.server.requests", "1", Kind.COUNTER, HTTP_ATTRIBUTES)
DURATION = Instrument("http.server.duration", "ms", Kind.HISTOGRAM, HTTP_ATTRIBUTES)
ACTIVE_USERS = Instrument("webui.users.active", "users", Kind.GAUGE)
TOTAL_USERS = Instrument("webui.users.total", "users", Kind.GAUGE)
INSTRUMENTS = (REQUESTS, DURATION, ACTIVE_USERS, TOTAL_USERS)
"""What the dashboards and rules query of the app (it records webui.users.active.today too, unused here)."""


def series_names() -> dict[str, Instrument]:
    """Every series name the app's instruments give -> its instrument."""
    return {series: instrument for instrument in INSTRUMENTS for series in instrument.series}
