"""The dashboards (components/dashboards.py), built with Grafana's SDK for each stack, and the PromQL of the
dashboards and the Prometheus rules (components/promql.py): every expression parses with promtool and names only
metrics the catalog vouches for, the database's lines are the stack's connection budget; deployed under the mocks
through the Grafana provider (components/grafana_dashboards.py)."""

import json
from datetime import date

import pytest

from components import settings as stack_settings, stack_capacity
from components.app_metrics import series_names
from components.dashboards import StackView, dashboards
from components.prometheus_rules import rules
from components.otel_collector import DATABASE_CONNECTIONS
from components.promql import GPU_METRICS, PLATFORM_METRICS
from components.stack_config import StackConfig
from offline_plan.mock_engine import MockRun, reveal, run_program
from testing.promtool import check, metric_names

TODAY = date(2026, 12, 2)


def view(stack: str) -> StackView:
    settings = stack_settings.assemble(StackConfig.of_stack(stack), None, stack, TODAY)
    return StackView(stack=stack, namespace=settings.namespace, app="open-webui",
                     ollama="ollama" if settings.ollama else "", subscription_id="sub", resource_group="rg",
                     postgres_server="pg", budget=stack_capacity.connection_budget(settings))


def prometheus_queries(models: dict[str, dict]) -> dict[str, str]:
    """'<dashboard> / <panel> / <legend>' -> PromQL, for every Prometheus target of the dashboards."""
    return {f"{name} / {panel['title']} / {target.get('legendFormat', '')}": target["expr"]
            for name, model in models.items() for panel in model["panels"] if panel.get("type") != "row"
            for target in panel.get("targets", []) if target["datasource"]["type"] == "prometheus"}


def every_expression(stack: str) -> dict[str, str]:
    v = view(stack)
    return {**prometheus_queries(dashboards(v)), **{r.alert: r.expression for r in rules(v.namespace, v.app)}}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_expression_parses_with_promtool(stack: str) -> None:
    expressions = every_expression(stack)
    assert len(expressions) > 20
    verdict = check(expressions)
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr


def test_promtool_refuses_a_broken_expression() -> None:
    verdict = check({"unclosed": "sum(rate(http_server_requests_total[5m])"})
    assert verdict.returncode != 0 and "unclosed" in (verdict.stdout + verdict.stderr).lower()


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_expressions_name_only_what_the_e2e_saw_or_the_add_on_scrapes(stack: str) -> None:
    known = set(series_names()) | set(PLATFORM_METRICS) | {DATABASE_CONNECTIONS.metric} | set(GPU_METRICS)
    named = {name: metric_names(expr) for name, expr in every_expression(stack).items()}
    assert all(named.values())
    assert {name: m - known for name, m in named.items() if m - known} == {}


def test_the_metric_reader_finds_each_metric() -> None:
    assert metric_names('histogram_quantile(0.95, sum by (le, http_route) (rate(a_bucket{job="x"}[5m]))) > 10') \
        == {"a_bucket"}
    assert metric_names("1 - b{} / c{}") == {"b", "c"}


def test_the_database_lines_are_the_stacks_budget() -> None:
    v = view("prod")
    panels = {p["title"]: p for p in dashboards(v)["database"]["panels"]}
    by_application = panels["Connections by application against the budget"]
    connections = panels["Connections against the budget"]
    for panel in (by_application, connections):
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert [s["value"] for s in steps[1:]] == sorted([v.budget.alert_threshold, v.budget.capacity])
        assert panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"] == {"mode": "line"}
    for workload in v.budget.workloads:  # the question names each workload's peak
        assert f"{workload.name} {workload.demand}" in by_application["description"]
    assert by_application["targets"][0]["legendFormat"] == "{{application}}"
    assert connections["targets"][0]["azureMonitor"]["metricName"] == "active_connections"
    assert connections["targets"][0]["azureMonitor"]["resources"] == [{
        "subscription": "sub", "resourceGroup": "rg", "resourceName": "pg",
        "metricNamespace": "Microsoft.DBforPostgreSQL/flexibleServers"}]


def test_each_panel_says_what_it_answers_and_queries_through_a_variable() -> None:
    models = dashboards(view("dev"))
    assert set(models) == {"overview", "database", "gpu-pool"}
    for model in models.values():
        assert {v["name"] for v in model["templating"]["list"]} == {"prometheus", "azuremonitor"}
        for panel in model["panels"]:
            if panel["type"] != "row":
                assert panel["description"].rstrip(".").split(" Lines:")[0].endswith("?"), panel["title"]
                assert panel["datasource"]["uid"] in ("${prometheus}", "${azuremonitor}")


def test_without_ollama_there_is_no_gpu_dashboard() -> None:
    v = view("dev")
    assert set(dashboards(StackView(**{**v.__dict__, "ollama": ""}))) == {"overview", "database"}


def test_they_are_deployed_into_the_stacks_grafana_as_the_deployer(stack_run: MockRun) -> None:
    provider = reveal(stack_run.named("dashboards-provider").inputs)
    assert provider["url"] == f"https://owui-{stack_run.stack}.grafana.azure.com" == stack_run.outputs["grafanaUrl"]
    folder = reveal(stack_run.named("dashboards-folder").inputs)
    for name in ("overview", "database"):
        board = stack_run.named(f"dashboards-{name}")
        inputs = reveal(board.inputs)
        assert inputs["folder"] == folder["uid"] and inputs["overwrite"] is True
        assert json.loads(inputs["configJson"])["uid"].endswith(stack_run.stack)
        assert "urn:pulumi:" in board.provider and "dashboards-provider" in board.provider
        assert any("metrics-grafana-admins" in d for d in board.dependencies)


def test_switched_off_there_are_no_dashboards_and_no_rules() -> None:
    run = run_program("dev", {"observabilityEnabled": False})
    assert not [r.name for r in run.registrations if r.type.startswith("grafana:")
                or r.type == "azure-native:alertsmanagement:PrometheusRuleGroup"]
    assert run.outputs["dashboards"] == {}


def test_the_overview_reads_rates_errors_and_latency_right() -> None:
    """The overview's queries over series named as the e2e saw them: 100 answers a second on one route, 10 of them
    500s, 90 under 1 s and 10 between 1 and 2 s."""
    from components import promql
    from testing.promtool import alert_tests

    app = 'job="open-webui", instance="open-webui-replica-1", http_method="GET", http_route="/api/models"'
    bucket = f'http_server_duration_milliseconds_bucket{{{app}, http_status_code="200"'
    series = {f'http_server_requests_total{{{app}, http_status_code="200"}}': "0+5400x30",
              f'http_server_requests_total{{{app}, http_status_code="500"}}': "0+600x30",
              f'{bucket}, le="1000"}}': "0+5400x30", f'{bucket}, le="2000"}}': "0+6000x30",
              f'{bucket}, le="+Inf"}}': "0+6000x30"}
    route = {"http_route": "/api/models"}

    def expect(expr: str, value: float, labels: dict[str, str]) -> dict:
        shown = ", ".join(f'{k}="{v}"' for k, v in labels.items())
        return {"expr": expr, "eval_time": "20m", "exp_samples": [{"labels": f"{{{shown}}}", "value": value}]}

    verdict = alert_tests([], [{
        "interval": "1m", "input_series": [{"series": s, "values": v} for s, v in series.items()],
        "promql_expr_test": [expect(promql.requests_per_second("http_route"), 100, route),
                             expect(promql.error_ratio("http_route"), 0.1, route),
                             expect(promql.latency_ms(0.45, "http_route"), 500, route),
                             expect(promql.latency_ms(0.95, "http_route"), 1500, route)]}])
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
