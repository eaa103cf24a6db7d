"""PremiumFilesVolume on its own, under the SDK's mock runtime: the stack's own share, statically provisioned."""

from components.files_storage import FilesSettings, PremiumFilesVolume, PremiumFilesVolumeArgs
from offline_plan.mock_engine import is_secret, reveal, run_components


def build(settings: FilesSettings, protect: bool = False):
    return run_components(lambda: PremiumFilesVolume("data", PremiumFilesVolumeArgs(
        settings=settings, namespace="ns", protect=protect, resource_group_name="rg", location="westeurope",
        tags={"stack": "test"}, egress_ip_address="203.0.113.9")))


def test_the_share_is_the_stacks_own_on_a_file_storage_account():
    run = build(FilesSettings("Premium_ZRS", 200))
    [account] = [r.inputs for r in run.of_type("azure-native:storage:StorageAccount")]
    assert account["kind"] == "FileStorage" and account["sku"] == {"name": "Premium_ZRS"}
    assert account["minimumTlsVersion"] == "TLS1_2" and account["allowBlobPublicAccess"] is False
    share = run.named("data-share").inputs
    assert share == {"accountName": "data", "resourceGroupName": "rg", "shareName": "data", "shareQuota": 200,
                     "enabledProtocols": "SMB"}


def test_the_volume_mounts_that_share_retained_with_the_accounts_key_from_a_secret():
    run = build(FilesSettings("Premium_LRS", 150))
    volume = run.named("data-volume").inputs["spec"]
    assert volume["persistentVolumeReclaimPolicy"] == "Retain" and volume["accessModes"] == ["ReadWriteMany"]
    assert volume["capacity"] == {"storage": "150Gi"}
    assert volume["csi"]["driver"] == "file.csi.azure.com" and volume["csi"]["volumeHandle"] == "rg#data#data"
    assert volume["csi"]["volumeAttributes"] == {"resourceGroup": "rg", "storageAccount": "data", "shareName": "data"}
    assert volume["csi"]["nodeStageSecretRef"] == {"name": "data-account", "namespace": "ns"}
    assert {"uid=0", "gid=0", "mfsymlinks", "nosharesock", "actimeo=30", "cache=strict"} <= set(volume["mountOptions"])
    secret = run.named("data-account")
    assert is_secret(secret.inputs["stringData"])  # the key travels as a secret
    assert reveal(secret.inputs)["stringData"] == {"azurestorageaccountname": "data",
                                                   "azurestorageaccountkey": "placeholder-secure-value"}


def test_the_claim_binds_that_volume_and_nothing_provisions_another():
    run = build(FilesSettings("Premium_LRS", 150), protect=True)
    claim = run.named("data-claim")
    assert claim.inputs["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim.inputs["spec"]["resources"]["requests"]["storage"] == "150Gi"
    assert claim.inputs["spec"]["storageClassName"] == "" and claim.inputs["spec"]["volumeName"] == "ns-data"
    assert claim.inputs["metadata"]["namespace"] == "ns"
    assert run.of_type("kubernetes:storage.k8s.io/v1:StorageClass") == []
    protected = {(r.type.rsplit(":", 1)[-1], r.name) for r in run.registrations if r.protect}
    assert protected == {("StorageAccount", "data"), ("FileShare", "data-share"), ("PersistentVolume", "data-volume"),
                         ("PersistentVolumeClaim", "data-claim")}


def test_premium_v1_is_the_one_with_a_100_gib_floor():
    assert FilesSettings("Premium_LRS", 100).premium_v1
    assert not FilesSettings("PremiumV2_LRS", 32).premium_v1
