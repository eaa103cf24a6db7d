"""The control-plane policies: the cluster signs people in with Entra ID only (no local accounts), its API server
is limited to known addresses or private, and what happens to it is recorded (the audit log). Advisory by default;
policy/prod.json makes them mandatory."""

from __future__ import annotations

from typing import Any, Mapping

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs, StackValidationArgs

from resources import MANAGED_CLUSTER, known

DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
AUDIT_CATEGORIES = ("kube-audit-admin", "kube-audit")


def cluster_local_accounts_off(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != MANAGED_CLUSTER:
        return
    if known(lambda: args.props.get("disableLocalAccounts"), True) is not True:
        report("the cluster keeps its local accounts: its static cluster-admin certificate works from anywhere the "
               "API answers until a certificate rotation. Set disableLocalAccounts true with managed Entra ID and "
               "Azure RBAC (aadProfile managed, enableAzureRBAC; aksLocalAccounts false).", None)


def cluster_api_limited(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != MANAGED_CLUSTER:
        return
    profile: Mapping[str, Any] = known(lambda: args.props.get("apiServerAccessProfile"), {}) or {}
    if not profile.get("enablePrivateCluster") and not profile.get("authorizedIPRanges"):
        report("the cluster's API server answers the whole internet. Limit it to the deployers' and CI's addresses "
               "(apiServerAccessProfile.authorizedIPRanges: aksAuthorizedIpRanges) or make it private "
               "(enablePrivateCluster: postgresNetwork private).", None)


def _audited(cluster: PolicyResource, settings: list[PolicyResource]) -> bool:
    for setting in settings:
        if cluster.urn not in {d.urn for d in setting.property_dependencies.get("resourceUri", [])}:
            continue
        logs = known(lambda: setting.props.get("logs"), []) or []
        if any(log.get("enabled") and (log.get("category") in AUDIT_CATEGORIES or log.get("categoryGroup") in (
                "audit", "allLogs")) for log in logs):  # a category, or a group that holds it
            return True
    return False


def cluster_audit_logs(args: StackValidationArgs, report: ReportViolation) -> None:
    settings = [r for r in args.resources if r.resource_type == DIAGNOSTIC_SETTING]
    for cluster in (r for r in args.resources if r.resource_type == MANAGED_CLUSTER):
        if not _audited(cluster, settings):
            report(f"nothing records who used cluster {cluster.name}'s Kubernetes API: an intrusion would leave no "
                   "evidence. Send its kube-audit-admin log to a Log Analytics workspace (a diagnostic setting; "
                   "components/audit.py).", cluster.urn)
