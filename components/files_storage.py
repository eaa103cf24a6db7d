"""PremiumFilesVolume: the stack's Azure Files share and the ReadWriteMany claim that mounts it (file.csi.azure.com).

Open WebUI's data directory (uploads, the shared embedding model cache) lives here, mounted by every replica.
Its databases do not: SQLite's locking is broken on SMB/NFS, so the data of record is in PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import storage

from components.audit import AuditTarget, audit_logs
from components.locks import delete_lock
from components.network import PrivateLink, private_endpoint

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
    """Protect the storage account, the share and the claim from deletion (prod)."""
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    tags: Mapping[str, str]
    egress_ip_address: pulumi.Input[str]
    """Public mode: the cluster's outbound address, the one address the account's firewall admits."""
    private_endpoint_subnet_id: Optional[pulumi.Input[str]] = None
    files_dns_zone_id: Optional[pulumi.Input[str]] = None
    audit: Optional[AuditTarget] = None
    """Where the share's reads, writes and deletes are logged (who deleted files, from where)."""
    """Private mode: the account takes no public traffic at all; the nodes reach it through a private endpoint in
    their subnet, named in this zone (privatelink.file.core.windows.net, linked to the VNet)."""


class PremiumFilesVolume(pulumi.ComponentResource):
    """The share is the stack's own (a FileStorage account and its share, statically provisioned to the cluster),
    not one the CSI driver makes in the node resource group: Azure Backup protects it (components/backup.py), and
    it outlives the cluster."""

    claim_name: pulumi.Output[str]
    account_id: pulumi.Output[str]
    account_name: pulumi.Output[str]
    share_name: pulumi.Output[str]

    def __init__(self, name: str, args: PremiumFilesVolumeArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:storage:PremiumFilesVolume", name, None, opts)
        s = args.settings
        protected = pulumi.ResourceOptions(parent=self, protect=args.protect)
        private = args.private_endpoint_subnet_id is not None
        account = storage.StorageAccount(
            # Storage account names are 3-24 lower-case letters and digits: autonamed from a name without dashes.
            name.replace("-", ""),
            resource_group_name=args.resource_group_name, location=args.location,
            kind=storage.Kind.FILE_STORAGE, sku=storage.SkuArgs(name=s.sku),
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2, allow_blob_public_access=False,
            enable_https_traffic_only=True,
            # Closed to the internet: whoever holds the key reads or wipes every upload, but only from where the
            # cluster is. Azure's trusted services pass (Azure Backup snapshots the share through them).
            network_rule_set=storage.NetworkRuleSetArgs(
                default_action=storage.DefaultAction.DENY, bypass=storage.Bypass.AZURE_SERVICES,
                ip_rules=[] if private else [storage.IPRuleArgs(i_p_address_or_range=args.egress_ip_address,
                                                                action=storage.Action.ALLOW)]),
            public_network_access=storage.PublicNetworkAccess.DISABLED if private else
            storage.PublicNetworkAccess.ENABLED,
            tags=dict(args.tags), opts=protected)
        if args.private_endpoint_subnet_id is not None and args.files_dns_zone_id is not None:
            link = PrivateLink(args.private_endpoint_subnet_id, args.files_dns_zone_id)
            private_endpoint(name, account.id, "file", link, args.resource_group_name, args.location, args.tags, self)
        audit_logs(f"{name}-files", pulumi.Output.concat(account.id, "/fileServices/default"),
                   ["StorageRead", "StorageWrite", "StorageDelete"], args.audit, self)
        delete_lock(f"{name}-account", account.id, args.protect, self,
                    "the storage account of Open WebUI's uploads and their snapshots")
        share = storage.FileShare(
            f"{name}-share", account_name=account.name, resource_group_name=args.resource_group_name,
            share_name=name, share_quota=s.size_gi, enabled_protocols=storage.EnabledProtocols.SMB, opts=protected)
        keys = storage.list_storage_account_keys_output(
            resource_group_name=args.resource_group_name, account_name=account.name,
            opts=pulumi.InvokeOutputOptions(parent=self))
        # The CSI driver mounts the share with the account's key, from this Secret (its azurestorageaccount* keys).
        secret = k8s.core.v1.Secret(
            f"{name}-account", metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{name}-account", namespace=args.namespace),
            string_data={"azurestorageaccountname": account.name,
                         "azurestorageaccountkey": pulumi.Output.secret(keys.keys[0].value)},
            opts=pulumi.ResourceOptions(parent=self))
        volume = k8s.core.v1.PersistentVolume(
            f"{name}-volume",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=pulumi.Output.concat(args.namespace, "-", name)),
            spec=k8s.core.v1.PersistentVolumeSpecArgs(
                capacity={"storage": f"{s.size_gi}Gi"}, access_modes=["ReadWriteMany"],
                # Retain: deleting the claim must never delete the share with users' files.
                persistent_volume_reclaim_policy="Retain", storage_class_name="", mount_options=SMB_MOUNT_OPTIONS,
                csi=k8s.core.v1.CSIPersistentVolumeSourceArgs(
                    driver="file.csi.azure.com",
                    volume_handle=pulumi.Output.concat(args.resource_group_name, "#", account.name, "#", share.name),
                    volume_attributes={"resourceGroup": args.resource_group_name, "storageAccount": account.name,
                                       "shareName": share.name},
                    node_stage_secret_ref=k8s.core.v1.SecretReferenceArgs(name=secret.metadata.name,
                                                                          namespace=args.namespace))),
            opts=protected)
        claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-claim",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteMany"], storage_class_name="", volume_name=volume.metadata.name,
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": f"{s.size_gi}Gi"})),
            opts=protected)
        self.claim_name = claim.metadata.name
        self.account_id, self.account_name, self.share_name = account.id, account.name, share.name
        self.register_outputs({"claim_name": self.claim_name, "account_id": self.account_id,
                               "share_name": self.share_name})

