"""Azure's managed Prometheus and Grafana, under the SDK's mock runtime (components/observability.py): the cluster's
metrics into an Azure Monitor workspace, Grafana reading it, each identity with the least it needs; and the switch."""

import pytest

from components.observability import GRAFANA_ADMIN, GRAFANA_EDITOR, MONITORING_DATA_READER, MONITORING_READER, grafana_name
from components.stack_config import ConfigError
from offline_plan.mock_engine import MockRun, reveal, run_program

OBSERVABILITY_TYPES = {"azure-native:monitor:AzureMonitorWorkspace", "azure-native:monitor:DataCollectionEndpoint",
                       "azure-native:monitor:DataCollectionRule", "azure-native:monitor:DataCollectionRuleAssociation",
                       "azure-native:dashboard:Grafana", "azure-native:alertsmanagement:PrometheusRuleGroup",
                       "grafana:oss/dashboard:Dashboard", "kubernetes:azmonitoring.coreos.com/v1:PodMonitor"}
GROUP = "aaaaaaaa-0000-0000-0000-00000000000a"


def role_assignments(run: MockRun) -> dict[str, dict]:
    return {r.name: reveal(r.inputs) for r in run.of_type("azure-native:authorization:RoleAssignment")
            if r.name.startswith("metrics-")}


def test_the_clusters_metrics_flow_into_the_workspace_grafana_reads(stack_run: MockRun) -> None:
    cluster = reveal(stack_run.named("aks-cluster").inputs)
    assert cluster["azureMonitorProfile"] == {"metrics": {"enabled": True}}
    workspace_id = "metrics-workspace-id"
    rule = reveal(stack_run.named("metrics-rule").inputs)
    assert rule["dataSources"]["prometheusForwarder"] == [{"name": "prometheus",
                                                          "streams": ["Microsoft-PrometheusMetrics"]}]
    assert rule["destinations"]["monitoringAccounts"] == [{"accountResourceId": workspace_id, "name": "stack-metrics"}]
    assert rule["dataFlows"] == [{"streams": ["Microsoft-PrometheusMetrics"], "destinations": ["stack-metrics"]}]
    assert rule["dataCollectionEndpointId"] == "metrics-endpoint-id"
    cluster_id = "aks-cluster-id"
    associations = {r.name: reveal(r.inputs) for r in stack_run.of_type(
        "azure-native:monitor:DataCollectionRuleAssociation")}
    assert {a["resourceUri"] for a in associations.values()} == {cluster_id}
    assert associations["metrics-endpoint-association"]["associationName"] == "configurationAccessEndpoint"
    assert associations["metrics-rule-association"]["dataCollectionRuleId"] == "metrics-rule-id"
    grafana = reveal(stack_run.named("metrics-grafana").inputs)
    assert grafana["workspaceName"] == f"owui-{stack_run.stack}" and grafana["sku"] == {"name": "Standard"}
    assert grafana["identity"] == {"type": "SystemAssigned"} and grafana["properties"]["apiKey"] == "Disabled"
    assert grafana["properties"]["grafanaIntegrations"] == {
        "azureMonitorWorkspaceIntegrations": [{"azureMonitorWorkspaceResourceId": workspace_id}]}


def test_each_identity_gets_the_least_it_needs(stack_run: MockRun) -> None:
    assignments = role_assignments(stack_run)
    reads_workspace, reads_metrics, admins = (assignments[f"metrics-grafana-{n}"]
                                              for n in ("reads-workspace", "reads-metrics", "admins"))
    assert reads_workspace["roleDefinitionId"].endswith(MONITORING_DATA_READER)
    assert reads_workspace["scope"] == "metrics-workspace-id"
    assert reads_metrics["roleDefinitionId"].endswith(MONITORING_READER)  # PostgreSQL's platform metrics
    assert reads_metrics["scope"] == "openwebui-id"
    assert reads_workspace["principalType"] == reads_metrics["principalType"] == "ServicePrincipal"
    assert admins["roleDefinitionId"].endswith(GRAFANA_ADMIN)
    # the mock's deployer is a service principal (CI's deploy identity): Azure refuses a mismatched principalType
    assert admins["scope"] == "metrics-grafana-id" and admins["principalType"] == "ServicePrincipal"
    assert "metrics-grafana-deployer-edits" not in assignments  # an admin already


def test_a_group_administers_grafana_when_named_and_the_deployer_edits_it() -> None:
    assignments = role_assignments(run_program("dev", {"grafanaAdminGroup": GROUP}))
    admins, deployer = assignments["metrics-grafana-admins"], assignments["metrics-grafana-deployer-edits"]
    assert (admins["principalId"], admins["principalType"]) == (GROUP, "Group")
    assert deployer["roleDefinitionId"].endswith(GRAFANA_EDITOR) and deployer["principalId"] == "deployer"
    with pytest.raises(ConfigError, match="grafanaAdminGroup: 'platform team' is not a group's object ID"):
        run_program("dev", {"grafanaAdminGroup": "platform team"})


def test_switched_off_there_is_none_of_it_and_no_bill_for_it() -> None:
    run = run_program("dev", {"observabilityEnabled": False})
    assert not {r.type for r in run.registrations} & OBSERVABILITY_TYPES
    assert "azureMonitorProfile" not in reveal(run.named("aks-cluster").inputs)
    assert run.outputs["grafanaUrl"] == ""


def test_grafanas_name_is_one_azure_takes() -> None:
    assert grafana_name("prod") == "owui-prod"
    assert grafana_name("Feature_Branch-with-a-long-name") == "owui-feature-branch-wit"
    assert len(grafana_name("x" * 40)) <= 23


def test_the_bill_names_grafana_and_what_prometheus_costs_by_use(dev_run: MockRun) -> None:
    from components.cost import estimate
    bill = estimate((r.name, r.type, reveal(r.inputs)) for r in dev_run.registrations)
    assert [(line.item, line.low) for line in bill.lines if "Grafana" in line.item] == [("Managed Grafana Standard",
                                                                                         62.05)]
    assert any(item.startswith("Managed Prometheus: $0.16 per 10 million samples") for item in bill.unpriced)


def test_grafanas_sign_ins_go_to_the_audit_log(dev_run: MockRun) -> None:
    setting = reveal(dev_run.named("metrics-grafana-audit").inputs)
    assert setting["resourceUri"] == "metrics-grafana-id"
    assert [log["category"] for log in setting["logs"]] == ["GrafanaLoginEvents"]
    assert setting["workspaceId"] == "audit-workspace-id"


def test_in_private_mode_grafana_has_no_public_endpoint_only_one_in_the_vnet(prod_run: MockRun) -> None:
    grafana = reveal(prod_run.named("metrics-grafana").inputs)
    assert grafana["properties"]["publicNetworkAccess"] == "Disabled"
    endpoint = reveal(prod_run.named("metrics-grafana-endpoint").inputs)
    assert endpoint["subnet"]["id"] == "network-aks-subnet-id"
    assert endpoint["privateLinkServiceConnections"] == [{"name": "metrics-grafana-grafana",
                                                          "privateLinkServiceId": "metrics-grafana-id",
                                                          "groupIds": ["grafana"]}]
    zone = reveal(prod_run.named("network-grafana-dns").inputs)
    assert zone["privateZoneName"] == "privatelink.grafana.azure.com"
    [config] = reveal(prod_run.named("metrics-grafana-endpoint-dns").inputs)["privateDnsZoneConfigs"]
    assert config == {"name": "grafana", "privateDnsZoneId": "network-grafana-dns-id"}


def test_in_public_mode_grafana_signs_in_from_anywhere_with_entra_id(dev_run: MockRun) -> None:
    assert reveal(dev_run.named("metrics-grafana").inputs)["properties"]["publicNetworkAccess"] == "Enabled"
    assert not [r.name for r in dev_run.registrations if r.name.startswith("metrics-grafana-endpoint")]
