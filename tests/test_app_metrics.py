"""Open WebUI's metrics catalog (components/app_metrics.py): the collector's Prometheus naming rule, checked on the
cases its source (prometheus/otlptranslator, metric_namer_test.go) gives, and on the app's own instruments."""

import pytest

from components.app_metrics import (DURATION, INSTRUMENTS, REQUESTS, Kind, prometheus_label, prometheus_name,
                                    series_names, telemetry_environment)


@pytest.mark.parametrize("name, unit, kind, expected", [
    ("http.server.duration", "s", Kind.HISTOGRAM, "http_server_duration_seconds"),
    ("requests.count", "1", Kind.COUNTER, "requests_count_total"),
    ("memory.usage", "By", Kind.GAUGE, "memory_usage_bytes"),
    ("cpu.utilization", "1", Kind.GAUGE, "cpu_utilization_ratio"),
    ("system.io.total", "1", Kind.COUNTER, "system_io_total"),  # "total" moves to the end, once
    ("queue.seconds.waited", "s", Kind.HISTOGRAM, "queue_seconds_waited"),  # the unit's word is there already
    ("webui.users.total", "users", Kind.GAUGE, "webui_users_total"),
    ("queue.depth", "{messages}", Kind.GAUGE, "queue_depth"),  # an annotation is no unit
    ("http.server.requests", "1", Kind.COUNTER, "http_server_requests_total"),
])
def test_names_are_the_exporters(name: str, unit: str, kind: Kind, expected: str) -> None:
    assert prometheus_name(name, unit, kind) == expected


def test_labels_take_underscores_for_dots() -> None:
    assert [prometheus_label(a) for a in DURATION.attributes] == ["http_method", "http_route", "http_status_code"]


def test_the_catalog_names_each_series_a_query_may_use() -> None:
    assert REQUESTS.series == ("http_server_requests_total",)
    assert DURATION.series == tuple(f"http_server_duration_milliseconds_{s}" for s in ("bucket", "sum", "count"))
    assert "le" in DURATION.labels and {"job", "instance"} <= set(REQUESTS.labels)
    assert set(series_names()) == {s for i in INSTRUMENTS for s in i.series}


def test_the_env_turns_metrics_on_and_each_replica_apart() -> None:
    env = telemetry_environment("http://otel-collector.ns.svc.cluster.local:4317")
    assert env["ENABLE_OTEL"] == env["ENABLE_OTEL_METRICS"] == env["OTEL_EXPORTER_OTLP_INSECURE"] == "true"
    assert env["ENABLE_OTEL_TRACES"] == env["ENABLE_OTEL_LOGS"] == "false"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.ns.svc.cluster.local:4317"
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == "service.instance.id=$(POD_NAME)"
