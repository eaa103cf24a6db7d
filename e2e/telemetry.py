"""The telemetry check of `make e2e`: what the real replicas exported, named as the collector's Prometheus exporter
names it (components/app_metrics.py), against every metric and label the dashboards and the PromQL rules query."""

from __future__ import annotations

import re
from typing import Mapping, Sequence

from components.app_metrics import (API_ROUTES, INSTRUMENTS, OTHER_ROUTE, REQUESTS, SERVICE_NAME, prometheus_label,
                                    prometheus_name)
from e2e.otlp_receiver import Received
from ops.verify import Check

NAME = "telemetry: every metric and label the dashboards and rules query, from the real app"


def telemetry_check(received: Mapping[str, Received], pods: Sequence[str]) -> Check:
    problems, seen = [], []
    for instrument in INSTRUMENTS:
        got = received.get(instrument.name)
        if got is None:
            problems.append(f"{instrument.name}: never exported")
            continue
        if got.kind is None:
            problems.append(f"{instrument.name}: exported as a kind the catalog does not know")
            continue
        metric = prometheus_name(instrument.name, got.unit, got.kind)
        labels = {prometheus_label(a) for a in got.attributes}
        missing = sorted({prometheus_label(a) for a in instrument.attributes} - labels)
        if metric != instrument.metric:
            problems.append(f"{instrument.name}: unit {got.unit!r} and kind {got.kind.value} make it {metric}, "
                            f"not the {instrument.metric} the dashboards query")
        if missing:
            problems.append(f"{instrument.name}: no {', '.join(missing)} label on its points")
        if got.services != {SERVICE_NAME}:
            problems.append(f"{instrument.name}: job {sorted(got.services)}, not {SERVICE_NAME!r}")
        if not set(pods) <= got.instances:
            problems.append(f"{instrument.name}: instance(s) {sorted(got.instances)}, not one per replica "
                            f"{sorted(pods)}")
        seen.append(f"{metric}{{{', '.join(sorted(labels))}}}")
    routes = received[REQUESTS.name].routes if REQUESTS.name in received else set()
    other = sorted(r for r in routes if not re.search(API_ROUTES, r))
    if routes:
        folded = f" ({', '.join(other[:4])}{', ...' if len(other) > 4 else ''})" if other else ""
        seen.append(f"{len(routes)} routes, of which the collector folds {len(other)} into {OTHER_ROUTE}{folded}")
    return Check(NAME, not problems,
                 ("; ".join(problems) + "\n   " if problems else "") + f"seen from {len(pods)} replicas: "
                 + ("; ".join(seen) or "nothing"),
                 "the replicas' env must turn metrics on (ENABLE_OTEL, ENABLE_OTEL_METRICS) and point at the collector "
                 "(components/app_metrics.py telemetry_environment); a release that renamed an instrument or attribute "
                 "needs components/app_metrics.py and the dashboards changed with it")
