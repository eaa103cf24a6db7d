"""FilesBackup: Azure Backup for the stack's Azure Files share (a Recovery Services vault, a daily snapshot policy
with the stack's retention, the storage account registered as a protection container, the share protected).

Azure Files backups are share snapshots kept in the storage account and managed by the vault: a deleted file or a
share wrecked by a compromised pod comes back from any day within the retention. PostgreSQL needs none of this:
Flexible Server backs itself up (postgresBackupRetentionDays) and restores to a point in time from config
(postgresRestoreFrom, components/postgres.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
from pulumi_azure_native import recoveryservices as rs

from components.audit import AuditTarget, audit_logs
from components.locks import delete_lock

BACKUP_TIME = "2026-01-01T02:00:00Z"
"""Azure Backup reads only the time of day (02:00 UTC): the share's daily snapshot, outside working hours."""
FABRIC = "Azure"
VAULT_LOGS = ("CoreAzureBackup", "AddonAzureBackupJobs", "AddonAzureBackupAlerts", "AddonAzureBackupPolicy",
              "AddonAzureBackupStorage", "AddonAzureBackupProtectedInstance")
"""Azure Backup's resource-specific log categories (Dedicated tables): jobs, alerts, policy and storage changes."""
FILES_MAX_DAILY_RETENTION = 200
"""The most daily snapshots an Azure Files backup policy keeps (a share holds at most 200 snapshots)."""


@dataclass(frozen=True)
class FilesBackupSettings:
    retention_days: int


@dataclass
class FilesBackupArgs:
    settings: FilesBackupSettings
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    tags: Mapping[str, str]
    account_id: pulumi.Input[str]
    account_name: pulumi.Input[str]
    share_name: pulumi.Input[str]
    protect: bool
    """Protect the vault (it holds the recovery points) from deletion (prod): Pulumi's protect, an Azure delete lock,
    and immutability locked (no one can shorten what it keeps)."""
    private: bool = False
    """The stack is private (postgresNetwork private): the vault takes no public traffic either."""
    audit: Optional[AuditTarget] = None
    """Where the vault's jobs, alerts and policy changes are logged."""


class FilesBackup(pulumi.ComponentResource):
    vault_name: pulumi.Output[str]

    def __init__(self, name: str, args: FilesBackupArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:backup:FilesBackup", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        vault = rs.Vault(
            f"{name}-vault", resource_group_name=args.resource_group_name, location=args.location,
            sku=rs.SkuArgs(name="RS0", tier="Standard"),
            properties=rs.VaultPropertiesArgs(
                public_network_access="Disabled" if args.private else "Enabled",
                # backups that outlive an intruder: nothing expires or is deleted early (immutable; once Locked,
                # Azure never lets it be unlocked), and a deleted backup stays 14 days recoverable, always
                security_settings=rs.SecuritySettingsArgs(
                    immutability_settings=rs.ImmutabilitySettingsArgs(
                        state=rs.ImmutabilityState.LOCKED if args.protect else rs.ImmutabilityState.UNLOCKED),
                    soft_delete_settings=rs.SoftDeleteSettingsArgs(
                        soft_delete_state=rs.SoftDeleteState.ALWAYS_ON, soft_delete_retention_period_in_days=14))),
            tags=dict(args.tags), opts=pulumi.ResourceOptions(parent=self, protect=args.protect))
        audit_logs(f"{name}-vault", vault.id, VAULT_LOGS, args.audit, self)
        delete_lock(f"{name}-vault", vault.id, args.protect, self,
                    "the Recovery Services vault of the shared volume's backups")
        days = args.settings.retention_days
        policy = rs.ProtectionPolicy(
            f"{name}-files-policy", resource_group_name=args.resource_group_name, vault_name=vault.name,
            policy_name=f"files-daily-{days}d",
            properties=rs.AzureFileShareProtectionPolicyArgs(
                backup_management_type="AzureStorage", work_load_type="AzureFileShare", time_zone="UTC",
                schedule_policy=rs.SimpleSchedulePolicyArgs(
                    schedule_policy_type="SimpleSchedulePolicy", schedule_run_frequency="Daily",
                    schedule_run_times=[BACKUP_TIME]),
                retention_policy=rs.LongTermRetentionPolicyArgs(
                    retention_policy_type="LongTermRetentionPolicy",
                    daily_schedule=rs.DailyRetentionScheduleArgs(
                        retention_times=[BACKUP_TIME],
                        retention_duration=rs.RetentionDurationArgs(count=days, duration_type="Days")))),
            opts=child)
        # Azure's names: the account registered as "StorageContainer;Storage;<group>;<account>", the share
        # protected as "AzureFileShare;<share>".
        container_name = pulumi.Output.concat("StorageContainer;Storage;", args.resource_group_name, ";",
                                              args.account_name)
        container = rs.ProtectionContainer(
            f"{name}-container", resource_group_name=args.resource_group_name, vault_name=vault.name,
            fabric_name=FABRIC, container_name=container_name,
            properties=rs.AzureStorageContainerArgs(
                container_type="StorageContainer", backup_management_type="AzureStorage",
                source_resource_id=args.account_id, friendly_name=args.account_name),
            opts=child)
        rs.ProtectedItem(
            f"{name}-share", resource_group_name=args.resource_group_name, vault_name=vault.name,
            fabric_name=FABRIC, container_name=container.name,
            protected_item_name=pulumi.Output.concat("AzureFileShare;", args.share_name),
            properties=rs.AzureFileshareProtectedItemArgs(
                protected_item_type="AzureFileShareProtectedItem", policy_id=policy.id,
                source_resource_id=args.account_id, friendly_name=args.share_name),
            opts=child)
        self.vault_name = vault.name
        self.register_outputs({"vault_name": self.vault_name})
