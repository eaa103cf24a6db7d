"""An OTLP/gRPC metrics receiver for `make e2e`: it stands where the stack's OpenTelemetry Collector stands, takes
what the replicas export with the rendered telemetry env, and keeps what the telemetry check needs: each metric's
name, unit and kind as sent, its data points' attribute names, and the resource (service.name,
service.instance.id) of each replica that sent it. No collector build installs here; what the collector's
Prometheus exporter then does to the names is components/app_metrics.py's rule, applied by the check.
"""

from __future__ import annotations

import threading
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.metrics.v1 import metrics_pb2

from components.app_metrics import Kind


@dataclass
class Received:
    """One OTLP metric as the replicas sent it, over every export."""

    unit: str
    kind: Kind | None
    """None for a kind the catalog never uses (a non-monotonic sum, an exponential histogram, a summary)."""
    attributes: set[str] = field(default_factory=set)
    routes: set[str] = field(default_factory=set)
    """The values of http.route its points carried."""
    instances: set[str] = field(default_factory=set)
    services: set[str] = field(default_factory=set)


def kind_of(metric: metrics_pb2.Metric) -> Kind | None:
    data = metric.WhichOneof("data")
    if data == "sum":
        return Kind.COUNTER if metric.sum.is_monotonic else None
    return {"histogram": Kind.HISTOGRAM, "gauge": Kind.GAUGE}.get(str(data))


def _points(metric: metrics_pb2.Metric) -> Any:
    data = metric.WhichOneof("data")
    return getattr(metric, str(data)).data_points if data else ()


class OtlpReceiver(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self) -> None:
        self.metrics: dict[str, Received] = {}
        self.exports = 0
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        add = metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server
        add(self, self._server)  # type: ignore[no-untyped-call]
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "OtlpReceiver":
        self._server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop(grace=1)

    def Export(self, request: metrics_service_pb2.ExportMetricsServiceRequest,
               context: grpc.ServicerContext) -> metrics_service_pb2.ExportMetricsServiceResponse:
        with self._lock:
            self.exports += 1
            for resource_metrics in request.resource_metrics:
                resource = {a.key: a.value.string_value for a in resource_metrics.resource.attributes}
                for scope in resource_metrics.scope_metrics:
                    for metric in scope.metrics:
                        got = self.metrics.setdefault(metric.name, Received(metric.unit, kind_of(metric)))
                        got.instances.add(resource.get("service.instance.id", ""))
                        got.services.add(resource.get("service.name", ""))
                        for point in _points(metric):
                            got.attributes.update(a.key for a in point.attributes)
                            got.routes.update(a.value.string_value for a in point.attributes
                                              if a.key == "http.route")
        return metrics_service_pb2.ExportMetricsServiceResponse()
