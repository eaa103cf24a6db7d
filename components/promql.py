"""The PromQL the dashboards (components/dashboards.py) and the Prometheus rules (components/prometheus_rules.py)
share, built once here, and every metric it may name.

Four sources only: Open WebUI's own metrics (components/app_metrics.py; `make e2e` sees each arrive from the real
app); the collector's count of the server's connections (components/otel_collector.py; tests/test_pg_role.py runs
its query on a real PostgreSQL as the role it runs as); the DCGM exporter's GPU counters (components/gpu_metrics.py);
and what the managed Prometheus add-on scrapes by default and keeps in its minimal ingestion profile
(Azure/prometheus-collector, otelcollector/shared/configmap/mp/tomlparser-default-targets-metrics-keep-list.go).
`make test` refuses a query naming anything else.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.app_metrics import ACTIVE_USERS, DURATION, REQUESTS, SERVICE_NAME
from components.gpu_metrics import COUNTERS
from components.otel_collector import DATABASE_CONNECTIONS

PLATFORM_METRICS = {
    "kube_horizontalpodautoscaler_status_current_replicas": "kube-state-metrics",
    "kube_horizontalpodautoscaler_spec_min_replicas": "kube-state-metrics",
    "kube_horizontalpodautoscaler_spec_max_replicas": "kube-state-metrics",
    "kube_pod_container_resource_requests": "kube-state-metrics",
    "kube_pod_container_status_restarts_total": "kube-state-metrics",
    "kube_node_status_allocatable": "kube-state-metrics",
    "container_cpu_usage_seconds_total": "cAdvisor",
    "container_memory_working_set_bytes": "cAdvisor",
    "node_cpu_seconds_total": "node-exporter",
    "node_memory_MemAvailable_bytes": "node-exporter",
    "node_memory_MemTotal_bytes": "node-exporter",
}
"""Series the add-on scrapes from the cluster by default -> where it scrapes them."""
GPU_METRICS = tuple(COUNTERS)
"""What the stack's DCGM exporter serves (components/gpu_metrics.py: its collectors file lists them)."""
WINDOW = "5m"
"""The rate window: ten scrapes of the collector (30 s) and of the add-on's default targets."""
APP = f'job="{SERVICE_NAME}"'
OLLAMA_ROUTES = "/ollama/.*|/api/chat/completions"
"""The routes by which Open WebUI sends work to Ollama (its proxy, and chat completions)."""
GPU = "nvidia_com_gpu"
"""kube-state-metrics' name for the nvidia.com/gpu resource."""


@dataclass(frozen=True)
class Workload:
    """Where a workload's pods run, as the add-on's cAdvisor and kube-state-metrics label them."""

    namespace: str
    container: str

    @property
    def selector(self) -> str:
        return f'namespace="{self.namespace}", container="{self.container}"'


def connections_by_application() -> str:
    return f"sum by (application) ({DATABASE_CONNECTIONS.metric}{{}})"


def requests_per_second(by: str = "") -> str:
    return f"sum{_by(by)}(rate({REQUESTS.metric}{{{APP}}}[{WINDOW}]))"


def error_ratio(by: str = "") -> str:
    """The share of requests answered 5xx."""
    errors = f'sum{_by(by)}(rate({REQUESTS.metric}{{{APP}, http_status_code=~"5.."}}[{WINDOW}]))'
    return f"{errors} / {requests_per_second(by)}"


def latency_ms(quantile: float, by: str = "", routes: str = "") -> str:
    """The quantile of the request duration; routes: a regular expression of the routes it covers (all)."""
    selector = APP + (f', http_route=~"{routes}"' if routes else "")
    buckets = f"rate({DURATION.series[0]}{{{selector}}}[{WINDOW}])"
    return f"histogram_quantile({quantile}, sum by (le{', ' + by if by else ''}) ({buckets}))"


def ollama_requests_per_second() -> str:
    return f'sum by (http_route) (rate({REQUESTS.metric}{{{APP}, http_route=~"{OLLAMA_ROUTES}"}}[{WINDOW}]))'


def active_users() -> str:
    return f"max({ACTIVE_USERS.metric}{{{APP}}})"  # every replica reports the same count


def hpa_replicas(namespace: str, hpa: str) -> dict[str, str]:
    selector = f'namespace="{namespace}", horizontalpodautoscaler="{hpa}"'
    return {legend: f"max(kube_horizontalpodautoscaler_{metric}{{{selector}}})" for legend, metric in (
        ("replicas", "status_current_replicas"), ("min", "spec_min_replicas"), ("max", "spec_max_replicas"))}


def cpu_cores(workload: Workload) -> dict[str, str]:
    return {"used": f"sum by (pod) (rate(container_cpu_usage_seconds_total{{{workload.selector}}}[{WINDOW}]))",
            "requested": f'max(kube_pod_container_resource_requests{{{workload.selector}, resource="cpu"}})'}


def memory_bytes(workload: Workload) -> dict[str, str]:
    return {"used": f"sum by (pod) (container_memory_working_set_bytes{{{workload.selector}}})",
            "requested": f'max(kube_pod_container_resource_requests{{{workload.selector}, resource="memory"}})'}


def restarts(workload: Workload, window: str) -> str:
    return f"sum by (pod) (increase(kube_pod_container_status_restarts_total{{{workload.selector}}}[{window}]))"


def node_cpu_busy() -> str:
    return f'1 - avg by (instance) (rate(node_cpu_seconds_total{{mode="idle"}}[{WINDOW}]))'


def node_memory_used() -> str:
    return "1 - node_memory_MemAvailable_bytes{} / node_memory_MemTotal_bytes{}"


def gpu_utilisation() -> str:
    return "avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL{})"


def gpu_memory_mib() -> dict[str, str]:
    return {"used {{Hostname}} {{gpu}}": "sum by (Hostname, gpu) (DCGM_FI_DEV_FB_USED{})",
            "total {{Hostname}} {{gpu}}": "sum by (Hostname, gpu) (DCGM_FI_DEV_FB_USED{} + DCGM_FI_DEV_FB_FREE{})"}


def gpus(namespace: str) -> dict[str, str]:
    return {"requested by pods": f'sum(kube_pod_container_resource_requests{{namespace="{namespace}", '
                                 f'resource="{GPU}"}})',
            "allocatable on nodes": f'sum(kube_node_status_allocatable{{resource="{GPU}"}})'}


def _by(labels: str) -> str:
    return f" by ({labels}) " if labels else ""
