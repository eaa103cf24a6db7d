"""The stack's Grafana dashboards, built with Grafana's own typed SDK (grafana-foundation-sdk): the overview, the
database and the GPU pool. Pure: each takes plain values and returns the dashboard's JSON model, which
components/grafana_dashboards.py deploys. Every PromQL expression comes from components/promql.py; the database's
connection lines come from the stack's connection budget (components/connection_budget.py), never typed here.

Each panel's description is the question it answers; docs/operations.md lists them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from grafana_foundation_sdk.builders import azuremonitor, dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.builders.common import GraphThresholdsStyleConfig
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import GraphTresholdsStyleMode  # the SDK spells it so
from grafana_foundation_sdk.models.dashboard import DataSourceRef, Threshold, ThresholdsMode

from components import promql
from components.connection_budget import ConnectionBudget
from components.postgres import CPU_ALERT_PERCENT, STORAGE_ALERT_PERCENT
from components.promql import Workload

PROMETHEUS = DataSourceRef(type_val="prometheus", uid="${prometheus}")
AZURE_MONITOR = DataSourceRef(type_val="grafana-azure-monitor-datasource", uid="${azuremonitor}")
POSTGRES_NAMESPACE = "Microsoft.DBforPostgreSQL/flexibleServers"
TAGS = ["open-webui"]


@dataclass(frozen=True)
class StackView:
    """What the dashboards need to know of the stack."""

    stack: str
    namespace: str
    app: str
    """The Open WebUI Deployment's container and HPA name."""
    ollama: str
    """Ollama's container name ('' without Ollama)."""
    subscription_id: str
    resource_group: str
    postgres_server: str
    budget: ConnectionBudget


def _query(expr: str, legend: str, ref: str) -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(PROMETHEUS)


def _panel(title: str, question: str, unit: str, queries: Mapping[str, str], width: int = 12,
           lines: Sequence[float] = ()) -> timeseries.Panel:
    """A time series of PromQL queries (legend -> expression); lines: horizontal thresholds, which the question
    names."""
    panel = timeseries.Panel().title(title).description(question).unit(unit).span(width).height(8) \
        .datasource(PROMETHEUS)
    for n, (legend, expr) in enumerate(queries.items()):
        panel = panel.with_target(_query(expr, legend, chr(ord("A") + n)))
    return _with_lines(panel, lines) if lines else panel


def _with_lines(panel: timeseries.Panel, lines: Sequence[float]) -> timeseries.Panel:
    steps = [Threshold(value=None, color="green")] + [
        Threshold(value=float(v), color=color) for v, color in zip(sorted(lines), ("orange", "red", "purple"))]
    return panel.thresholds(dashboard.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps)) \
        .thresholds_style(GraphThresholdsStyleConfig().mode(GraphTresholdsStyleMode.LINE))


def _variables(board: dashboard.Dashboard) -> dashboard.Dashboard:
    return board.with_variable(dashboard.DatasourceVariable("prometheus").label("Prometheus").type("prometheus")) \
        .with_variable(dashboard.DatasourceVariable("azuremonitor").label("Azure Monitor")
                       .type("grafana-azure-monitor-datasource"))


def _board(uid: str, title: str, view: StackView) -> dashboard.Dashboard:
    return _variables(dashboard.Dashboard(f"{title} ({view.stack})").uid(f"{uid}-{view.stack}"[:40]).tags(TAGS)
                      .time("now-6h", "now").refresh("1m").editable())


def overview(view: StackView) -> dashboard.Dashboard:
    app = Workload(view.namespace, view.app)
    return _board("owui-overview", "Open WebUI overview", view) \
        .with_row(dashboard.Row("Requests")) \
        .with_panel(_panel("Requests per second by route", "Which routes carry the traffic, and how much?", "reqps",
                           {"{{http_route}}": promql.requests_per_second("http_route")})) \
        .with_panel(_panel("5xx share by route", "Which routes fail, and how often?", "percentunit",
                           {"{{http_route}}": promql.error_ratio("http_route")})) \
        .with_panel(_panel("Latency p50 and p95 by route", "How long do users wait, route by route?", "ms",
                           {"p50 {{http_route}}": promql.latency_ms(0.5, "http_route"),
                            "p95 {{http_route}}": promql.latency_ms(0.95, "http_route")})) \
        .with_panel(stat.Panel().title("Active users").description("How many people used it in the last 3 minutes?")
                    .span(12).height(8).datasource(PROMETHEUS)
                    .with_target(_query(promql.active_users(), "active", "A"))) \
        .with_row(dashboard.Row("Replicas")) \
        .with_panel(_panel("Replicas against the HPA's range", "Is the HPA at its ceiling?", "short",
                           promql.hpa_replicas(view.namespace, view.app), width=8)) \
        .with_panel(_panel("CPU per replica against its request", "Is a replica busier than what it asks for?",
                           "cores", promql.cpu_cores(app), width=8)) \
        .with_panel(_panel("Memory per replica against its request", "Is a replica near what it asks for?",
                           "bytes", promql.memory_bytes(app), width=8)) \
        .with_panel(_panel("Restarts per replica (15 min)", "Is a replica crashing?", "short",
                           {"{{pod}}": promql.restarts(app, "15m")})) \
        .with_panel(_panel("Node CPU and memory in use", "Do the nodes have room for the next replica?",
                           "percentunit", {"cpu {{instance}}": promql.node_cpu_busy(),
                                           "memory {{instance}}": promql.node_memory_used()}))


def _postgres_metric(view: StackView, metric: str, aggregation: str, ref: str) -> azuremonitor.AzureMonitorQuery:
    resource = azuremonitor.AzureMonitorResource().subscription(view.subscription_id) \
        .resource_group(view.resource_group).resource_name(view.postgres_server).metric_namespace(POSTGRES_NAMESPACE)
    return azuremonitor.AzureMonitorQuery().ref_id(ref).query_type("Azure Monitor").datasource(AZURE_MONITOR) \
        .subscription(view.subscription_id).azure_monitor(
            azuremonitor.AzureMetricQuery().resources([resource]).metric_namespace(POSTGRES_NAMESPACE)
            .metric_name(metric).aggregation(aggregation).time_grain("auto"))


def _azure_panel(view: StackView, title: str, question: str, unit: str, metric: str, aggregation: str,
                 lines: Sequence[float] = ()) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).description(question).unit(unit).span(8).height(8) \
        .datasource(AZURE_MONITOR).with_target(_postgres_metric(view, metric, aggregation, "A"))
    return _with_lines(panel, lines) if lines else panel


def database(view: StackView) -> dashboard.Dashboard:
    budget = view.budget
    demand = ", ".join(f"{w.name} {w.demand}" for w in budget.workloads)
    return _board("owui-database", "Open WebUI database", view) \
        .description(f"PostgreSQL {view.postgres_server}: the connection lines are the stack's budget "
                     f"({budget.arithmetic()})") \
        .with_panel(_panel(
            "Connections by application against the budget",
            f"Which workload holds the server's connections? Lines: the alert at {budget.alert_threshold}, the "
            f"{budget.capacity} the server accepts beyond Azure's reserved; each workload's peak in the budget: "
            f"{demand}.", "short", {"{{application}}": promql.connections_by_application()}, width=24,
            lines=(budget.alert_threshold, budget.capacity))) \
        .with_panel(_azure_panel(
            view, "Connections against the budget",
            f"Is the server near what it accepts? Lines: the alert at {budget.alert_threshold}, the "
            f"{budget.capacity} connections it accepts beyond Azure's {budget.reserved} reserved; the stack's peak "
            f"demand is {budget.demand}.", "short", "active_connections", "Maximum",
            lines=(budget.alert_threshold, budget.capacity))) \
        .with_panel(_azure_panel(view, "Storage used", "Will auto-grow have to act soon?", "percent",
                                 "storage_percent", "Maximum", lines=(STORAGE_ALERT_PERCENT,))) \
        .with_panel(_azure_panel(view, "CPU", "Is the SKU too small?", "percent", "cpu_percent", "Average",
                                 lines=(CPU_ALERT_PERCENT,)))


def gpu_pool(view: StackView) -> dashboard.Dashboard:
    ollama = Workload(view.namespace, view.ollama)
    return _board("owui-gpu", "Open WebUI GPU pool", view) \
        .with_panel(_panel("GPU utilisation", "Are the GPUs busy, or idle and paid for?", "percent",
                           {"{{Hostname}} {{gpu}}": promql.gpu_utilisation()})) \
        .with_panel(_panel("GPU memory used against the GPU's", "Does another model fit in GPU memory?", "decmbytes",
                           promql.gpu_memory_mib())) \
        .with_panel(_panel("GPUs requested against the pool's", "Is there a GPU free for another Ollama?", "short",
                           promql.gpus(view.namespace), width=8)) \
        .with_panel(_panel("Ollama requests through Open WebUI", "How much work goes to the models?", "reqps",
                           {"{{http_route}}": promql.ollama_requests_per_second()}, width=8)) \
        .with_panel(_panel("Ollama latency p95 (ms)", "How long does a model take to answer?", "ms",
                           {"p95": promql.latency_ms(0.95, routes=promql.OLLAMA_ROUTES)}, width=8)) \
        .with_panel(_panel("Ollama CPU against its request", "Is Ollama bound by CPU?", "cores",
                           promql.cpu_cores(ollama))) \
        .with_panel(_panel("Ollama memory against its request", "Does a loaded model fit?", "bytes",
                           promql.memory_bytes(ollama)))


def model(board: dashboard.Dashboard) -> dict[str, Any]:
    """The dashboard's JSON model, as Grafana's API takes it."""
    result: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return result


def builders(with_ollama: bool) -> dict[str, Callable[[StackView], dashboard.Dashboard]]:
    """Name -> builder of every dashboard the stack has (the GPU pool's only with Ollama)."""
    return {"overview": overview, "database": database, **({"gpu-pool": gpu_pool} if with_ollama else {})}


def dashboards(view: StackView) -> dict[str, dict[str, Any]]:
    """Name -> JSON model of every dashboard the stack has."""
    return {name: model(build(view)) for name, build in builders(bool(view.ollama)).items()}
