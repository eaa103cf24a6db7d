"""Alerts in PromQL, on what only Prometheus sees: Open WebUI's 5xx share and p95 latency (its own metrics through
the collector), and a replica restarting (kube-state-metrics). A Prometheus rule group on the stack's Azure Monitor
workspace, evaluated by Azure, firing into the stack's action group beside the metric alerts (components/alerts.py).
The expressions come from components/promql.py, which the dashboards read too; `make test` parses each with promtool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
from pulumi_azure_native import alertsmanagement

from components import promql
from components.promql import Workload

ERROR_RATIO = 0.05
"""5xx answers above one in twenty for ten minutes: something is failing for many users, not one bad request."""
P95_LATENCY_MS = 10_000
"""p95 over 10 s for fifteen minutes: a chat page or a model call that users give up on."""


@dataclass(frozen=True)
class Rule:
    alert: str
    expression: str
    duration: str
    """How long the expression must hold (ISO 8601)."""
    severity: int
    summary: str


def rules(namespace: str, app: str) -> list[Rule]:
    replicas = Workload(namespace, app)
    return [
        Rule("OpenWebUIErrorRatio", f"{promql.error_ratio()} > {ERROR_RATIO}", "PT10M", 2,
             f"More than {ERROR_RATIO:.0%} of Open WebUI's answers are 5xx: its replicas' logs name the failure."),
        Rule("OpenWebUIP95Latency", f"{promql.latency_ms(0.95)} > {P95_LATENCY_MS}", "PT15M", 3,
             f"Open WebUI's p95 latency is over {P95_LATENCY_MS / 1000:.0f} s: the overview dashboard shows which "
             "route."),
        Rule("OpenWebUIReplicaRestarting", f"{promql.restarts(replicas, '15m')} > 0", "PT1M", 2,
             "An Open WebUI replica restarted in the last 15 minutes: `kubectl logs --previous` says why."),
    ]


@dataclass
class PrometheusRulesArgs:
    workspace_id: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    namespace: str
    app: str
    action_group_id: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    tags: Mapping[str, str]


class PrometheusRules(pulumi.ComponentResource):
    def __init__(self, name: str, args: PrometheusRulesArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:monitoring:PrometheusRules", name, None, opts)
        alertsmanagement.PrometheusRuleGroup(
            f"{name}-group", rule_group_name=f"{name}-open-webui", resource_group_name=args.resource_group_name,
            location=args.location, tags=dict(args.tags), scopes=[args.workspace_id],
            cluster_name=args.cluster_name, enabled=True, interval="PT1M",
            description="Open WebUI's errors, latency and restarts, from its own metrics and kube-state-metrics",
            rules=[alertsmanagement.PrometheusRuleArgs(
                alert=rule.alert, expression=rule.expression, for_=rule.duration, severity=rule.severity,
                enabled=True, annotations={"summary": rule.summary},
                labels={"namespace": args.namespace},
                resolve_configuration=alertsmanagement.PrometheusRuleResolveConfigurationArgs(
                    auto_resolved=True, time_to_resolve="PT10M"),
                actions=[alertsmanagement.PrometheusRuleGroupActionArgs(action_group_id=args.action_group_id)])
                for rule in rules(args.namespace, args.app)],
            opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})
