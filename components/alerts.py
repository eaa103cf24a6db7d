"""Alerts: the stack's Azure Monitor action group, and the one way a component declares metric alerts on what it
owns (the PostgreSQL server's and the cluster's alerts live in their components, with the thresholds they know)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
from pulumi_azure_native import monitor


@dataclass(frozen=True)
class MetricRule:
    """One Azure Monitor platform metric crossing a static threshold."""

    name: str
    metric: str
    operator: str
    threshold: float
    aggregation: str
    description: str
    dimensions: Mapping[str, Sequence[str]] = field(default_factory=dict)
    severity: int = 2
    window: str = "PT15M"


@dataclass
class AlertTarget:
    """Where a component's alerts go: the stack's action group, and the resource group they live in."""

    action_group_id: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    tags: Mapping[str, str]


def metric_alerts(prefix: str, scope: pulumi.Input[str], metric_namespace: str, rules: Sequence[MetricRule],
                  target: AlertTarget, parent: pulumi.Resource) -> list[monitor.MetricAlert]:
    return [monitor.MetricAlert(
        f"{prefix}-{rule.name}", rule_name=f"{prefix}-{rule.name}", description=rule.description,
        resource_group_name=target.resource_group_name, location="global", tags=dict(target.tags),
        scopes=[scope], severity=rule.severity, enabled=True, auto_mitigate=True,
        evaluation_frequency="PT5M", window_size=rule.window,
        criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
            odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
            all_of=[monitor.MetricCriteriaArgs(
                criterion_type="StaticThresholdCriterion", name=rule.name, metric_name=rule.metric,
                metric_namespace=metric_namespace, operator=rule.operator, threshold=rule.threshold,
                time_aggregation=rule.aggregation,
                dimensions=[monitor.MetricDimensionArgs(name=k, operator="Include", values=list(v))
                            for k, v in rule.dimensions.items()] or None)]),
        actions=[monitor.MetricAlertActionArgs(action_group_id=target.action_group_id)],
        opts=pulumi.ResourceOptions(parent=parent)) for rule in rules]


@dataclass
class AlertReceiversArgs:
    email: str
    """'' for none: the alerts still fire and show in the portal."""
    resource_group_name: pulumi.Input[str]
    tags: Mapping[str, str]


class AlertReceivers(pulumi.ComponentResource):
    action_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: AlertReceiversArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:monitoring:AlertReceivers", name, None, opts)
        group = monitor.ActionGroup(
            f"{name}-action-group", group_short_name="openwebui", enabled=True, location="global",
            resource_group_name=args.resource_group_name, tags=dict(args.tags),
            email_receivers=[monitor.MicrosoftCommonEmailReceiverArgs(
                name="operators", email_address=args.email, use_common_alert_schema=True)] if args.email else None,
            opts=pulumi.ResourceOptions(parent=self))
        self.action_group_id = group.id
        self.register_outputs({"action_group_id": self.action_group_id})
