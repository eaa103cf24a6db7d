"""PremiumFilesVolume: an Azure Files (file.csi.azure.com) StorageClass and the ReadWriteMany PVC on it.

Open WebUI's data directory (uploads, the shared embedding model cache) lives here, mounted by every replica.
Its databases do not: SQLite's locking is broken on SMB/NFS, so the data of record is in PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

PREMIUM_MINIMUM_GI = 100
"""Premium (provisioned v1) shares bill at least 100 GiB whatever is requested."""
FILES_SKUS = ("Premium_LRS", "Premium_ZRS", "PremiumV2_LRS", "PremiumV2_ZRS")

# The Open WebUI image runs as root (uid/gid 0). SMB has no POSIX owners: the mount presents every file as
# owned by that user. mfsymlinks keeps symlinks (Hugging Face caches use them); nosharesock gives each
# mount its own connection; actimeo trades a little staleness for far fewer metadata round trips.
SMB_MOUNT_OPTIONS = ["dir_mode=0770", "file_mode=0660", "uid=0", "gid=0", "mfsymlinks", "cache=strict",
                     "actimeo=30", "nosharesock"]


@dataclass(frozen=True)
class FilesSettings:
    sku: str
    size_gi: int

    @property
    def premium_v1(self) -> bool:
        return self.sku in ("Premium_LRS", "Premium_ZRS")


@dataclass
class PremiumFilesVolumeArgs:
    settings: FilesSettings
    namespace: pulumi.Input[str]
    protect: bool
    """Protect the PVC (and so the share behind it) from deletion (prod)."""


class PremiumFilesVolume(pulumi.ComponentResource):
    claim_name: pulumi.Output[str]

    def __init__(self, name: str, args: PremiumFilesVolumeArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:storage:PremiumFilesVolume", name, None, opts)
        s = args.settings
        storage_class = k8s.storage.v1.StorageClass(
            f"{name}-class",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{name}-{s.sku.lower().replace('_', '-')}"),
            provisioner="file.csi.azure.com",
            parameters={"skuName": s.sku, "protocol": "smb"},
            mount_options=SMB_MOUNT_OPTIONS,
            # Retain: deleting the claim must never delete the share with users' files.
            reclaim_policy="Retain",
            allow_volume_expansion=True,
            volume_binding_mode="Immediate",
            opts=pulumi.ResourceOptions(parent=self))
        claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-claim",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteMany"],
                storage_class_name=storage_class.metadata.name,
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": f"{s.size_gi}Gi"})),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect))
        self.claim_name = claim.metadata.name
        self.register_outputs({"claim_name": self.claim_name})
