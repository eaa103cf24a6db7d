"""Alerts: on the PostgreSQL server (connections from the budget, storage, CPU) and the cluster, to one action group."""

from __future__ import annotations

import pytest

from offline_plan.mock_engine import MockRun, reveal, run_program


@pytest.fixture(scope="module", params=["dev", "prod"])
def run(request: pytest.FixtureRequest) -> MockRun:
    return request.getfixturevalue(f"{request.param}_run")


def alert(run: MockRun, name: str) -> dict:
    return reveal(run.named(name).inputs)


def criterion(run: MockRun, name: str) -> dict:
    [only] = alert(run, name)["criteria"]["allOf"]
    return only


def test_postgres_alerts_watch_the_server_with_the_budgets_threshold(run):
    # 80% of capacity: dev B1ms 35 -> 28, prod D2ds_v5 844 -> 675; it moves with the SKU
    threshold = {"dev": 28, "prod": 675}[run.stack]
    assert threshold == run.outputs["connectionBudget"]["capacity"] * 80 // 100
    for name, metric, value, aggregation in (("postgres-connections", "active_connections", threshold, "Maximum"),
                                             ("postgres-storage", "storage_percent", 80, "Average"),
                                             ("postgres-cpu", "cpu_percent", 80, "Average")):
        spec = alert(run, name)
        assert spec["scopes"] == ["postgres-server-id"] and spec["location"] == "global"
        assert spec["criteria"]["odataType"] == "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"
        c = criterion(run, name)
        assert (c["metricName"], c["metricNamespace"], c["operator"], c["threshold"], c["timeAggregation"]) == (
            metric, "Microsoft.DBforPostgreSQL/flexibleServers", "GreaterThan", value, aggregation)
        assert spec["actions"] == [{"actionGroupId": "alerts-action-group-id"}]
        assert run.named("postgres-server").urn in run.named(name).property_dependencies["scopes"]


def test_cluster_alerts_watch_pods_and_nodes(run):
    pods = criterion(run, "aks-pods-not-ready")
    assert (pods["metricName"], pods["threshold"]) == ("kube_pod_status_ready", 0)
    assert pods["dimensions"] == [{"name": "namespace", "operator": "Include", "values": ["open-webui"]},
                                  {"name": "condition", "operator": "Include", "values": ["false"]}]
    for name, metric in (("aks-node-cpu", "node_cpu_usage_percentage"),
                         ("aks-node-memory", "node_memory_working_set_percentage")):
        c = criterion(run, name)
        assert (c["metricName"], c["metricNamespace"], c["threshold"]) == (
            metric, "Microsoft.ContainerService/managedClusters", 80)
        assert alert(run, name)["scopes"] == ["aks-cluster-id"]


def test_the_action_group_emails_whoever_config_names(dev_run):
    quiet = reveal(dev_run.named("alerts-action-group").inputs)
    assert quiet["groupShortName"] == "openwebui" and "emailReceivers" not in quiet
    told = reveal(run_program("dev", {"alertEmail": "oncall@example.org"}).named("alerts-action-group").inputs)
    assert told["emailReceivers"] == [{"name": "operators", "emailAddress": "oncall@example.org",
                                       "useCommonAlertSchema": True}]
