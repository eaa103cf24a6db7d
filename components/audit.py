"""AuditLog: the stack's Log Analytics workspace, where each component sends the logs that say who did what to it
(`audit_logs`: the Kubernetes API's audit log, PostgreSQL's connections and errors, the share's reads, writes and
deletes, the backup vault's jobs). An intrusion then leaves evidence, kept `auditRetentionDays`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import pulumi
from pulumi_azure_native import monitor, operationalinsights

RETENTION_DAYS = (30, 730)
"""Log Analytics' analytics retention: 30 days (included in the price) to two years."""


@dataclass(frozen=True)
class AuditTarget:
    """Where a component's diagnostic logs go."""

    workspace_id: pulumi.Input[str]


def audit_logs(name: str, resource_id: pulumi.Input[str], categories: Sequence[str], target: Optional[AuditTarget],
               parent: pulumi.Resource) -> Optional[monitor.DiagnosticSetting]:
    """One diagnostic setting: the resource's log `categories`, to the workspace's resource-specific tables."""
    if target is None:
        return None
    return monitor.DiagnosticSetting(
        f"{name}-audit", name="audit", resource_uri=resource_id, workspace_id=target.workspace_id,
        log_analytics_destination_type="Dedicated",
        logs=[monitor.DiagnosticsLogSettingsArgs(enabled=True, category=c) for c in categories],
        opts=pulumi.ResourceOptions(parent=parent))


@dataclass
class AuditLogArgs:
    retention_days: int
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    tags: Mapping[str, str]


class AuditLog(pulumi.ComponentResource):
    target: AuditTarget

    def __init__(self, name: str, args: AuditLogArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:monitoring:AuditLog", name, None, opts)
        workspace = operationalinsights.Workspace(
            f"{name}-workspace", resource_group_name=args.resource_group_name, location=args.location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"), retention_in_days=args.retention_days,
            tags=dict(args.tags), opts=pulumi.ResourceOptions(parent=self))
        self.target = AuditTarget(workspace.id)
        self.register_outputs({"workspace_id": workspace.id})
