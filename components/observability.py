"""Observability: Azure's managed Prometheus and Grafana for the stack. An Azure Monitor workspace stores the
metrics; the cluster's metrics add-on (azureMonitorProfile, components/aks.py) scrapes the nodes and pods into it
through a data collection endpoint and rule associated with the cluster; Azure Managed Grafana reads the workspace,
and Azure Monitor's platform metrics of the stack's resources (PostgreSQL's connections, storage, CPU).

Each identity gets the least it needs: Grafana's own reads the workspace (Monitoring Data Reader) and the group's
metrics (Monitoring Reader); the admins (`grafanaAdminGroup`, else whoever runs `pulumi up`) administer Grafana and
nothing else, and whoever runs `pulumi up` edits it (the dashboards are written as them). `observabilityEnabled:
false` makes none of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
from pulumi_azure_native import authorization, dashboard, monitor

from components.audit import AuditTarget, audit_logs
from components.deployer import principal_type
from components.network import PrivateLink, private_endpoint

MONITORING_DATA_READER = "b0d8363b-8ddd-447d-831f-62ca05bff136"
MONITORING_READER = "43d0d8ad-25c7-4714-9337-8ba259a9fe05"
GRAFANA_ADMIN = "22926164-76b3-42b3-bc55-97df8dab3e41"
GRAFANA_EDITOR = "a79a5197-3a5c-4973-a920-486035ffd60f"
PROMETHEUS_STREAM = "Microsoft-PrometheusMetrics"
WORKSPACE_DESTINATION = "stack-metrics"


def grafana_name(stack: str) -> str:
    """Managed Grafana's name: 2-23 letters, digits and hyphens, starting with a letter; one per stack's group."""
    return f"owui-{re.sub(r'[^a-z0-9-]', '-', stack.lower())}"[:23].rstrip("-")


@dataclass(frozen=True)
class ObservabilitySettings:
    admin_group: str
    """The Entra group whose members administer Grafana; empty: whoever runs `pulumi up`."""
    collector_image: str
    gpu_exporter_image: str


@dataclass
class ObservabilityArgs:
    settings: ObservabilitySettings
    cluster_id: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    resource_group_id: pulumi.Input[str]
    location: pulumi.Input[str]
    tags: Mapping[str, str]
    audit: Optional[AuditTarget] = None
    """Where Grafana's sign-ins go (who looked, and when)."""
    private_link: Optional[PrivateLink] = None
    """Private mode: Grafana has no public endpoint, only this one in the VNet (as the API server and PostgreSQL)."""


class Observability(pulumi.ComponentResource):
    grafana_url: pulumi.Output[str]
    workspace_id: pulumi.Output[str]
    dashboard_writer: authorization.RoleAssignment
    """The deployer's role on Grafana: what writing the dashboards waits for."""

    def __init__(self, name: str, args: ObservabilityArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:monitoring:Observability", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        workspace = monitor.AzureMonitorWorkspace(
            f"{name}-workspace", resource_group_name=args.resource_group_name, location=args.location, tags=tags,
            opts=child)
        endpoint = monitor.DataCollectionEndpoint(
            f"{name}-endpoint", resource_group_name=args.resource_group_name, location=args.location, kind="Linux",
            tags=tags, opts=child)
        rule = monitor.DataCollectionRule(
            f"{name}-rule", resource_group_name=args.resource_group_name, location=args.location, kind="Linux",
            data_collection_endpoint_id=endpoint.id, tags=tags,
            data_sources=monitor.DataCollectionRuleDataSourcesArgs(prometheus_forwarder=[
                monitor.PrometheusForwarderDataSourceArgs(name="prometheus", streams=[PROMETHEUS_STREAM])]),
            destinations=monitor.DataCollectionRuleDestinationsArgs(monitoring_accounts=[
                monitor.MonitoringAccountDestinationArgs(account_resource_id=workspace.id,
                                                         name=WORKSPACE_DESTINATION)]),
            data_flows=[monitor.DataFlowArgs(streams=[PROMETHEUS_STREAM], destinations=[WORKSPACE_DESTINATION])],
            opts=child)
        # The add-on finds its rule and its endpoint through these two associations on the cluster.
        monitor.DataCollectionRuleAssociation(
            f"{name}-rule-association", resource_uri=args.cluster_id, association_name="stack-prometheus",
            data_collection_rule_id=rule.id, opts=child)
        monitor.DataCollectionRuleAssociation(
            f"{name}-endpoint-association", resource_uri=args.cluster_id,
            association_name="configurationAccessEndpoint", data_collection_endpoint_id=endpoint.id, opts=child)

        grafana = dashboard.Grafana(
            f"{name}-grafana", resource_group_name=args.resource_group_name, location=args.location, tags=tags,
            workspace_name=grafana_name(pulumi.get_stack()), sku=dashboard.ResourceSkuArgs(name="Standard"),
            identity=dashboard.ManagedServiceIdentityArgs(type="SystemAssigned"),
            properties=dashboard.ManagedGrafanaPropertiesArgs(
                api_key="Disabled", deterministic_outbound_ip="Disabled",
                public_network_access="Disabled" if args.private_link else "Enabled",
                grafana_integrations=dashboard.GrafanaIntegrationsArgs(azure_monitor_workspace_integrations=[
                    dashboard.AzureMonitorWorkspaceIntegrationArgs(azure_monitor_workspace_resource_id=workspace.id)])),
            opts=child)
        audit_logs(f"{name}-grafana", grafana.id, ["GrafanaLoginEvents"], args.audit, self)
        if args.private_link:
            private_endpoint(f"{name}-grafana", grafana.id, "grafana", args.private_link, args.resource_group_name,
                             args.location, args.tags, self)
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))

        def role(role_id: str) -> pulumi.Output[str]:
            return pulumi.Output.concat("/subscriptions/", client.subscription_id,
                                        "/providers/Microsoft.Authorization/roleDefinitions/", role_id)

        grafana_identity = grafana.identity.apply(lambda i: i.principal_id if i else "")
        authorization.RoleAssignment(
            f"{name}-grafana-reads-workspace", scope=workspace.id, principal_id=grafana_identity,
            principal_type="ServicePrincipal", role_definition_id=role(MONITORING_DATA_READER), opts=child)
        authorization.RoleAssignment(
            f"{name}-grafana-reads-metrics", scope=args.resource_group_id, principal_id=grafana_identity,
            principal_type="ServicePrincipal", role_definition_id=role(MONITORING_READER), opts=child)
        group = args.settings.admin_group
        admins = authorization.RoleAssignment(
            f"{name}-grafana-admins", scope=grafana.id, principal_id=group or client.object_id,
            principal_type="Group" if group else principal_type(client.client_id), role_definition_id=role(GRAFANA_ADMIN),
            opts=child)
        # the dashboards are written as the deployer (components/grafana_dashboards.py): an admin already, or an editor
        self.dashboard_writer = authorization.RoleAssignment(
            f"{name}-grafana-deployer-edits", scope=grafana.id, principal_id=client.object_id,
            principal_type=principal_type(client.client_id), role_definition_id=role(GRAFANA_EDITOR),
            opts=child) if group else admins

        self.grafana_url = grafana.properties.apply(lambda p: p.endpoint or "")
        self.workspace_id = workspace.id
        self.register_outputs({"grafana_url": self.grafana_url, "workspace_id": self.workspace_id})
