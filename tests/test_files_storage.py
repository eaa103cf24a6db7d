"""PremiumFilesVolume on its own, under the SDK's mock runtime."""

from components.files_storage import FilesSettings, PremiumFilesVolume, PremiumFilesVolumeArgs
from tools.mock_engine import run_components


def build(settings: FilesSettings, protect: bool = False):
    return run_components(lambda: PremiumFilesVolume("data", PremiumFilesVolumeArgs(
        settings=settings, namespace="ns", protect=protect)))


def test_storage_class_is_azure_files_retained_and_expandable():
    sc = build(FilesSettings("Premium_ZRS", 200)).named("data-class").inputs
    assert sc["provisioner"] == "file.csi.azure.com"
    assert sc["parameters"] == {"skuName": "Premium_ZRS", "protocol": "smb"}
    assert sc["reclaimPolicy"] == "Retain" and sc["allowVolumeExpansion"] is True
    assert {"uid=0", "gid=0", "mfsymlinks", "nosharesock", "actimeo=30", "cache=strict"} <= set(sc["mountOptions"])


def test_claim_is_read_write_many_of_the_requested_size_on_that_class():
    run = build(FilesSettings("Premium_LRS", 150), protect=True)
    claim = run.named("data-claim")
    assert claim.inputs["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim.inputs["spec"]["resources"]["requests"]["storage"] == "150Gi"
    assert claim.inputs["spec"]["storageClassName"] == run.named("data-class").inputs["metadata"]["name"]
    assert claim.inputs["metadata"]["namespace"] == "ns"
    assert claim.protect and not run.named("data-class").protect


def test_premium_v1_is_the_one_with_a_100_gib_floor():
    assert FilesSettings("Premium_LRS", 100).premium_v1
    assert not FilesSettings("PremiumV2_LRS", 32).premium_v1
