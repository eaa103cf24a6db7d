"""The PromQL alerts (components/prometheus_rules.py), under the SDK's mock runtime: a rule group on the stack's
Azure Monitor workspace for its cluster, firing into the stack's action group. promtool parses each expression
(tests/test_dashboards.py, with the dashboards')."""

from components.prometheus_rules import ERROR_RATIO, P95_LATENCY_MS, rules
from offline_plan.mock_engine import MockRun, reveal


def test_the_rules_watch_errors_latency_and_restarts() -> None:
    by_alert = {r.alert: r for r in rules("ns", "open-webui")}
    assert set(by_alert) == {"OpenWebUIErrorRatio", "OpenWebUIP95Latency", "OpenWebUIReplicaRestarting"}
    assert by_alert["OpenWebUIErrorRatio"].expression.endswith(f"> {ERROR_RATIO}")
    assert 'http_status_code=~"5.."' in by_alert["OpenWebUIErrorRatio"].expression
    assert by_alert["OpenWebUIP95Latency"].expression.endswith(f"> {P95_LATENCY_MS}")
    assert 'namespace="ns", container="open-webui"' in by_alert["OpenWebUIReplicaRestarting"].expression


def test_the_group_runs_on_the_workspace_for_the_cluster_and_fires_into_the_action_group(stack_run: MockRun) -> None:
    group = reveal(stack_run.named("prometheus-rules-group").inputs)
    assert group["scopes"] == ["metrics-workspace-id"] and group["clusterName"] == "aks-cluster"
    assert group["enabled"] is True and group["interval"] == "PT1M"
    expected = rules(stack_run.outputs["namespace"], "open-webui")
    assert [(r["alert"], r["expression"]) for r in group["rules"]] == [(r.alert, r.expression) for r in expected]
    for rule in group["rules"]:
        assert rule["actions"] == [{"actionGroupId": "alerts-action-group-id"}]
        assert rule["annotations"]["summary"] and rule["resolveConfiguration"]["autoResolved"] is True
