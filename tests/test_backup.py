"""FilesBackup on its own, under the SDK's mock runtime: the vault, the daily policy, the account and the share."""

from components.backup import BACKUP_TIME, FilesBackup, FilesBackupArgs, FilesBackupSettings
from offline_plan.mock_engine import run_components


def build(days: int, protect: bool = False):
    return run_components(lambda: FilesBackup("backup", FilesBackupArgs(
        settings=FilesBackupSettings(days), resource_group_name="rg", location="westeurope", tags={"stack": "t"},
        account_id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct",
        account_name="acct", share_name="open-webui-data", protect=protect)))


def test_a_daily_snapshot_kept_for_the_stacks_retention():
    run = build(35)
    policy = run.named("backup-files-policy").inputs
    assert policy["policyName"] == "files-daily-35d"
    properties = policy["properties"]
    assert properties["backupManagementType"] == "AzureStorage" and properties["workLoadType"] == "AzureFileShare"
    assert properties["schedulePolicy"] == {"schedulePolicyType": "SimpleSchedulePolicy",
                                            "scheduleRunFrequency": "Daily", "scheduleRunTimes": [BACKUP_TIME]}
    daily = properties["retentionPolicy"]["dailySchedule"]
    assert daily == {"retentionTimes": [BACKUP_TIME], "retentionDuration": {"count": 35, "durationType": "Days"}}


def test_the_account_is_registered_and_the_share_protected_under_azures_names():
    run = build(7)
    container = run.named("backup-container").inputs
    assert container["fabricName"] == "Azure" and container["containerName"] == "StorageContainer;Storage;rg;acct"
    assert container["properties"]["containerType"] == "StorageContainer"
    assert container["properties"]["sourceResourceId"].endswith("/storageAccounts/acct")
    item = run.named("backup-share")
    assert item.inputs["protectedItemName"] == "AzureFileShare;open-webui-data"
    assert item.inputs["containerName"] == "StorageContainer;Storage;rg;acct"
    assert item.inputs["properties"]["protectedItemType"] == "AzureFileShareProtectedItem"
    assert item.inputs["properties"]["policyId"] == "backup-files-policy-id"
    assert item.inputs["properties"]["friendlyName"] == "open-webui-data"
    vault = run.named("backup-vault").inputs
    assert vault["sku"] == {"name": "RS0", "tier": "Standard"}


def test_prod_protects_the_vault_that_holds_the_recovery_points():
    assert [r.name for r in build(35, protect=True).registrations if r.protect] == ["backup-vault"]
    assert [r.name for r in build(7).registrations if r.protect] == []
