"""The data-backed-up policy: every place the stack keeps data has a backup with at least the stack's retention:
each PostgreSQL server its own backups (backupRetentionDays), each Azure Files share an Azure Backup protected
item whose policy keeps that many daily snapshots. A share the CSI driver makes for a claim lives outside the
stack, where nothing protects it."""

from __future__ import annotations

from typing import Any, Mapping

from pulumi_policy import PolicyConfigSchema, PolicyResource, ReportViolation, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from resources import PVC, SERVER, STORAGE_CLASS, known, metadata, with_defaults

FILE_SHARE = "azure-native:storage:FileShare"
PROTECTED_ITEM = "azure-native:recoveryservices:ProtectedItem"
PROTECTION_POLICY = "azure-native:recoveryservices:ProtectionPolicy"

BACKUP_SCHEMA = PolicyConfigSchema(properties={
    "minRetentionDays": {"type": "integer", "default": 7,
                         "description": "Fewest days every data store's backups are kept."},
})


def _daily_retention(policy: PolicyResource) -> int:
    properties = policy.props.get("properties") or {}
    daily = ((properties.get("retentionPolicy") or {}).get("dailySchedule") or {}).get("retentionDuration") or {}
    return int(daily.get("count") or 0) if daily.get("durationType", "Days") == "Days" else 0


def _protected_shares(resources: list[PolicyResource]) -> dict[str, int]:
    """Share name -> the days its backup policy keeps (the most, when several protect it)."""
    policies = {r.urn: r for r in resources if r.resource_type == PROTECTION_POLICY}
    protected: dict[str, int] = {}
    for item in (r for r in resources if r.resource_type == PROTECTED_ITEM):
        properties: Mapping[str, Any] = known(lambda: item.props.get("properties"), {}) or {}
        if properties.get("protectedItemType") != "AzureFileShareProtectedItem":
            continue
        by = [policies[d.urn] for d in item.property_dependencies.get("properties", []) if d.urn in policies]
        days = max((_daily_retention(p) for p in by), default=0)
        share = str(known(lambda: properties.get("friendlyName"), ""))
        protected[share] = max(days, protected.get(share, 0))
    return protected


def data_backed_up(args: StackValidationArgs, report: ReportViolation) -> None:
    minimum = int(with_defaults(BACKUP_SCHEMA, args.get_config())["minRetentionDays"])
    resources = list(args.resources)
    for server in (r for r in resources if r.resource_type == SERVER):
        days = known(lambda: (server.props.get("backup") or {}).get("backupRetentionDays"))
        if days is not None and int(days) < minimum:
            report(f"PostgreSQL server '{server.name}' keeps {int(days)} days of backups; this stack requires at least "
                   f"{minimum} (postgresBackupRetentionDays, 7 to 35).", server.urn)
    protected = _protected_shares(resources)
    for share in (r for r in resources if r.resource_type == FILE_SHARE):
        try:
            name = str(share.props.get("shareName") or share.name)
        except UnknownValueError:
            continue
        if name not in protected:
            report(f"Azure Files share '{name}' has no backup: a deleted share, or files wiped through a compromised "
                   "pod, are gone for good. Protect it with Azure Backup (a Recovery Services vault, a policy, the "
                   "account as a protection container, the share as a protected item: components/backup.py).",
                   share.urn)
        elif protected[name] < minimum:
            report(f"Azure Files share '{name}': its backup policy keeps {protected[name]} days of snapshots; this "
                   f"stack requires at least {minimum} (filesBackupRetentionDays).", share.urn)
    classes = {metadata(r.props).get("name"): r for r in resources if r.resource_type == STORAGE_CLASS}
    for claim in (r for r in resources if r.resource_type == PVC):
        storage_class = classes.get(known(lambda: (claim.props.get("spec") or {}).get("storageClassName")))
        if storage_class is not None and known(lambda: storage_class.props.get("provisioner")) == "file.csi.azure.com":
            report(f"claim '{metadata(claim.props).get('name')}' gets its Azure Files share from the CSI driver, in "
                   "the cluster's node resource group, where no backup protects it and deleting the cluster deletes "
                   "it. Give the stack its own share with a backup and bind the claim to it (components/"
                   "files_storage.py, components/backup.py).", claim.urn)
