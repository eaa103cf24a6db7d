"""`make e2e`'s telemetry check on its own: the local OTLP receiver (e2e/otlp_receiver.py) fed by the real
OpenTelemetry SDK and OTLP/gRPC exporter, recording as Open WebUI's utils/telemetry/metrics.py records, and the check
(e2e/telemetry.py) that holds what arrives to the catalog the dashboards and rules query."""

from __future__ import annotations

from typing import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from components.app_metrics import Kind
from e2e.otlp_receiver import OtlpReceiver, Received
from e2e.telemetry import telemetry_check

PODS = ["open-webui-replica-1", "open-webui-replica-2"]


def export_as_open_webui(endpoint: str, pod: str, duration_unit: str = "ms",
                         route: str = "/api/v1/chats/list") -> None:
    """One replica's metrics, recorded the way Open WebUI 0.12.4 records them, pushed once."""
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoint, insecure=True),
                                           export_interval_millis=60_000)
    provider = MeterProvider(resource=Resource.create({"service.name": "open-webui", "service.instance.id": pod}),
                             metric_readers=[reader])
    meter = provider.get_meter("open_webui.utils.telemetry.metrics")
    attributes = {"http.method": "GET", "http.route": route, "http.status_code": 200}
    meter.create_counter("http.server.requests", unit="1").add(1, attributes)
    meter.create_histogram("http.server.duration", unit=duration_unit).record(12.5, attributes)

    def users(_: CallbackOptions) -> Iterator[Observation]:
        yield Observation(3)

    for name in ("webui.users.total", "webui.users.active"):
        meter.create_observable_gauge(name, unit="users", callbacks=[users])
    provider.shutdown()  # flushes: one export


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


def test_what_the_replicas_export_passes_the_check(receiver: OtlpReceiver) -> None:
    for pod in PODS:
        export_as_open_webui(receiver.endpoint, pod)
    assert receiver.metrics["http.server.requests"].kind is Kind.COUNTER
    assert receiver.metrics["http.server.duration"].instances == set(PODS)
    check = telemetry_check(receiver.metrics, PODS)
    assert check.ok, check.detail
    assert "http_server_duration_milliseconds{http_method, http_route, http_status_code}" in check.detail


def test_it_says_which_routes_the_collector_folds(receiver: OtlpReceiver) -> None:
    export_as_open_webui(receiver.endpoint, PODS[0])
    export_as_open_webui(receiver.endpoint, PODS[1], route="/_app/immutable/chunks/Cx8a1.js")  # a frontend file
    check = telemetry_check(receiver.metrics, PODS)
    assert check.ok and "2 routes, of which the collector folds 1 into (other) (/_app/immutable/chunks/Cx8a1.js)" \
        in check.detail


def test_a_replica_that_exports_nothing_fails_it(receiver: OtlpReceiver) -> None:
    export_as_open_webui(receiver.endpoint, PODS[0])
    check = telemetry_check(receiver.metrics, PODS)
    assert not check.ok and "not one per replica" in check.detail


def test_a_renamed_unit_fails_it_naming_the_metric_the_dashboards_query(receiver: OtlpReceiver) -> None:
    for pod in PODS:
        export_as_open_webui(receiver.endpoint, pod, duration_unit="s")
    check = telemetry_check(receiver.metrics, PODS)
    assert not check.ok
    assert "make it http_server_duration_seconds, not the http_server_duration_milliseconds" in check.detail


def test_nothing_exported_fails_it_naming_each_metric() -> None:
    check = telemetry_check({}, PODS)
    assert not check.ok and "http.server.requests: never exported" in check.detail
    assert "webui.users.total: never exported" in check.detail


def test_a_missing_attribute_fails_it() -> None:
    received = {"http.server.requests": Received("1", Kind.COUNTER, {"http.method"}, set(PODS), {"open-webui"})}
    check = telemetry_check(received, PODS)
    assert "http.server.requests: no http_route, http_status_code label" in check.detail
