"""The PromQL alerts (components/prometheus_rules.py), under the SDK's mock runtime: a rule group on the stack's
Azure Monitor workspace for its cluster, firing into the stack's action group. promtool parses each expression
(tests/test_dashboards.py, with the dashboards')."""

from components.prometheus_rules import ERROR_RATIO, P95_LATENCY_MS, rules
from testing.promtool import prometheus_duration, alert_tests
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


NAMESPACE = "open-webui"
APP = 'job="open-webui", instance="open-webui-replica-1", http_method="GET", http_route="/api/v1/chats/list"'


def rule_file() -> list[dict]:
    """The stack's rules as Prometheus writes them: what Azure evaluates, run here by Prometheus's own engine."""
    return [{"alert": r.alert, "expr": r.expression, "for": prometheus_duration(r.duration),
             "labels": {"namespace": NAMESPACE}, "annotations": {"summary": r.summary}}
            for r in rules(NAMESPACE, "open-webui")]


def alert_test(alert: str, series: dict[str, str], fires: bool, at: str = "40m", **labels: str) -> dict:
    expected = [{"exp_labels": {"namespace": NAMESPACE, **labels},
                 "exp_annotations": {"summary": next(r.summary for r in rules(NAMESPACE, "open-webui")
                                                    if r.alert == alert)}}] if fires else []
    return {"interval": "1m", "input_series": [{"series": s, "values": v} for s, v in series.items()],
            "alert_rule_test": [{"eval_time": at, "alertname": alert, "exp_alerts": expected}]}


def answers(share_5xx_per_minute: int) -> dict[str, str]:
    return {f'http_server_requests_total{{{APP}, http_status_code="200"}}': f"0+{100 - share_5xx_per_minute}x60",
            f'http_server_requests_total{{{APP}, http_status_code="500"}}': f"0+{share_5xx_per_minute}x60"}


def durations(slow_per_minute: int) -> dict[str, str]:
    """A histogram of 100 requests a minute: the slow ones between 10 and 20 s, the rest under 1 s."""
    bucket = f"http_server_duration_milliseconds_bucket{{{APP}, http_status_code=\"200\""
    return {f'{bucket}, le="1000"}}': f"0+{100 - slow_per_minute}x60",
            f'{bucket}, le="10000"}}': f"0+{100 - slow_per_minute}x60",
            f'{bucket}, le="20000"}}': "0+100x60", f'{bucket}, le="+Inf"}}': "0+100x60"}


def test_the_alerts_fire_on_what_they_watch_and_only_then() -> None:
    restarts = f'kube_pod_container_status_restarts_total{{namespace="{NAMESPACE}", container="open-webui", ' \
               'pod="open-webui-7c9f-abcde"}'
    verdict = alert_tests(rule_file(), [
        alert_test("OpenWebUIErrorRatio", answers(10), fires=True),  # one answer in ten is 5xx
        alert_test("OpenWebUIErrorRatio", answers(1), fires=False),  # one in a hundred: a bad request, not an outage
        alert_test("OpenWebUIP95Latency", durations(10), fires=True),  # p95 between 10 and 20 s
        alert_test("OpenWebUIP95Latency", durations(4), fires=False),  # p95 under a second
        alert_test("OpenWebUIReplicaRestarting", {restarts: "0x30 1x30"}, fires=True, at="35m",
                   pod="open-webui-7c9f-abcde"),  # it names the pod
        alert_test("OpenWebUIReplicaRestarting", {restarts: "0x30 1x30"}, fires=False, at="50m"),  # 15 min later
        alert_test("OpenWebUIReplicaRestarting", {restarts: "3x60"}, fires=False),  # restarts long ago only
    ])
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr


def test_promtool_catches_an_alert_that_does_not_fire_as_expected() -> None:
    verdict = alert_tests(rule_file(), [alert_test("OpenWebUIErrorRatio", answers(1), fires=True)])
    assert verdict.returncode != 0 and "OpenWebUIErrorRatio" in verdict.stdout + verdict.stderr
