"""AKS: the Kubernetes version, the pools' sizes and counts, the namespace."""

from __future__ import annotations

import re
from datetime import date

from components.aks import AKS_VERSIONS
from components.backup import FILES_MAX_DAILY_RETENTION
from components.files_storage import FILES_SKUS, PREMIUM_MINIMUM_GI, FilesSettings
from components.gpu_capacity import GPUS_PER_VM
from components.node_capacity import VM_SIZES
from components.stack_config import StackConfig


KUBERNETES_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
"""RFC 1123 label: what Kubernetes takes as a namespace's name."""


def check_cluster(c: StackConfig, today: date) -> list[str]:
    errors = []
    errors += check_kubernetes_version(c.aks_kubernetes_version, today)
    if c.aks_system_node_count < 1:
        errors.append("aksSystemNodeCount: needs at least 1 node (2 or more to spread replicas).")
    if c.gpu_autoscaling:
        if c.gpu_min_count < 0 or c.gpu_min_count > c.gpu_max_count:
            errors.append(f"gpuMinCount/gpuMaxCount: {c.gpu_min_count}..{c.gpu_max_count} is not a range; "
                          "gpuMinCount must be 0 or more and at most gpuMaxCount.")
        if c.gpu_max_count < 1:
            errors.append("gpuMaxCount: must be at least 1 or the GPU pool can never run a node.")
    elif c.gpu_node_count < 0:
        errors.append(f"gpuNodeCount: {c.gpu_node_count} is negative.")
    if c.aks_system_vm_size not in VM_SIZES or c.aks_system_vm_size in GPUS_PER_VM:
        errors.append(f"aksSystemVmSize: {c.aks_system_vm_size!r} is not a size whose CPU and memory this program "
                      f"knows; use one of {', '.join(v for v in VM_SIZES if v not in GPUS_PER_VM)} (or add it to "
                      "components/node_capacity.py VM_SIZES).")
    if c.gpu_vm_size not in GPUS_PER_VM:
        errors.append(f"gpuVmSize: {c.gpu_vm_size!r} is not a GPU size whose GPUs per VM this program knows; use one "
                      f"of {', '.join(GPUS_PER_VM)} (or add it to components/gpu_capacity.py).")
    if not 1 <= c.files_backup_retention_days <= FILES_MAX_DAILY_RETENTION:
        errors.append(f"filesBackupRetentionDays: {c.files_backup_retention_days} is outside Azure Backup's "
                      f"1..{FILES_MAX_DAILY_RETENTION} daily snapshots of a share.")
    if c.files_sku not in FILES_SKUS:
        errors.append(f"filesSku: {c.files_sku!r} must be one of {', '.join(FILES_SKUS)} "
                      "(Standard shares are too slow for the shared model cache).")
    elif FilesSettings(c.files_sku, c.files_size_gi).premium_v1 and c.files_size_gi < PREMIUM_MINIMUM_GI:
        errors.append(f"filesSizeGi: {c.files_size_gi} GiB on {c.files_sku} is billed as {PREMIUM_MINIMUM_GI} GiB "
                      f"(the provisioned minimum); request at least {PREMIUM_MINIMUM_GI}.")
    return errors


def check_kubernetes_version(version: str, today: date) -> list[str]:
    match = re.fullmatch(r"(1\.\d+)(\.\d+)?", version)
    if not match:
        return [f"aksKubernetesVersion: {version!r} is not a version AKS takes: a minor such as '1.35' (AKS runs its "
                "latest patch) or a patch such as '1.35.2'."]
    minor = match.group(1)
    supported = [v for v, end in AKS_VERSIONS.items() if end >= today]
    if minor not in AKS_VERSIONS:
        return [f"aksKubernetesVersion: AKS offers no Kubernetes {minor} (it offers {', '.join(supported)}, "
                "components/aks.py AKS_VERSIONS; `az aks get-versions --location <region>` lists a region's) and "
                "would refuse the cluster."]
    if AKS_VERSIONS[minor] < today:
        newer = [v for v in supported if tuple(map(int, v.split("."))) > tuple(map(int, minor.split(".")))]
        return [f"aksKubernetesVersion: AKS ended standard support for {minor} on {AKS_VERSIONS[minor]} and creates "
                f"no cluster on it; use {newer[0] if newer else supported[0]}. A running cluster moves one minor at a "
                "time: set the next minor, `pulumi up`, then the one after."]
    return []


def check_namespace(c: StackConfig) -> list[str]:
    if KUBERNETES_NAME.match(c.namespace):
        return []
    return [f"namespace: {c.namespace!r} is not a Kubernetes namespace name (a DNS label: at most 63 lowercase letters, "
            "digits and hyphens, starting and ending with a letter or digit); Kubernetes refuses it. For example "
            "'open-webui'."]
