"""The estimated monthly bill of a stack, line by line, from the resources it declares and the price table in
prices.json (kept as data, each price with its source). An estimate: list prices of one region, no data transfer,
no reservations. It imports nothing from Pulumi, so the program's plan and the policy pack both use it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from components.node_capacity import GIB, VM_SIZES, memory_bytes

PRICES_FILE = Path(__file__).with_name("prices.json")
BUDGET_TAG = "monthly-budget-usd"
"""The resource group's tag that carries monthlyBudgetUsd, where the policy pack reads it."""
PREMIUM_DISK_TIERS = ((64, "P6"), (128, "P10"))
"""Premium SSD tiers by size: a disk is billed at the smallest tier that holds it."""

SERVER = "azure-native:dbforpostgresql:Server"
CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
PUBLIC_IP = "azure-native:network:PublicIPAddress"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
FILE_SHARE = "azure-native:storage:FileShare"
PROTECTED_ITEM = "azure-native:recoveryservices:ProtectedItem"
WORKSPACE = "azure-native:operationalinsights:Workspace"
DEFENDER_PLAN = "azure-native:security:Pricing"
GRAFANA = "azure-native:dashboard:Grafana"
PROMETHEUS_RULES = "azure-native:alertsmanagement:PrometheusRuleGroup"
MONITOR_WORKSPACE = "azure-native:monitor:AzureMonitorWorkspace"
FILES_BACKUP_TIERS = ((250, "250"), (1024, "1024"))
"""Azure Backup's protected-instance fee for a share, by its size (GiB): the smallest tier that holds it."""


@dataclass(frozen=True)
class CostLine:
    item: str
    low: float
    """At the smallest the stack runs (autoscaled pools at their minimum)."""
    high: float
    """At the largest (autoscaled pools at their maximum)."""
    arithmetic: str


@dataclass(frozen=True)
class CostEstimate:
    lines: tuple[CostLine, ...]
    unpriced: tuple[str, ...]
    """What the stack declares that the price table has no price for (left out of the totals)."""
    region: str
    date: str

    @property
    def low(self) -> float:
        return round(sum(line.low for line in self.lines), 2)

    @property
    def high(self) -> float:
        return round(sum(line.high for line in self.lines), 2)

    def table(self) -> list[str]:
        rows = [f"  {'item':<44}{'min $/mo':>10}{'max $/mo':>10}  arithmetic"]
        rows += [f"  {line.item:<44}{line.low:>10.2f}{line.high:>10.2f}  {line.arithmetic}" for line in self.lines]
        rows.append(f"  {'total (estimate)':<44}{self.low:>10.2f}{self.high:>10.2f}  list prices, {self.region}, "
                    f"{self.date}; no data transfer, no reservations")
        rows += [f"  not priced: {item}" for item in self.unpriced]
        return rows


def load_prices(path: Path = PRICES_FILE) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def estimate(resources: Iterable[tuple[str, str, Mapping[str, Any]]], prices: Optional[Mapping[str, Any]] = None
             ) -> CostEstimate:
    """resources: (name, type token, properties), as the plan and the policy pack see them."""
    table = prices or load_prices()
    price = {k: float(v["usd"]) for k, v in table["prices"].items()}
    lines: list[CostLine] = []
    unpriced: list[str] = []
    resources = list(resources)
    classes = {str((p.get("metadata") or {}).get("name")): p for _, t, p in resources if t == STORAGE_CLASS}
    premium_files = [str((p.get("sku") or {}).get("name")) in ("Premium_LRS", "Premium_ZRS")
                     for _, t, p in resources if t == STORAGE_ACCOUNT and p.get("kind") == "FileStorage"]
    shares = {str(p.get("shareName")): _gib(f"{p.get('shareQuota') or 0}Gi") for _, t, p in resources
              if t == FILE_SHARE}

    def add(item: str, key: str, low: float, high: float, unit: str) -> None:
        if key not in price:
            unpriced.append(f"{item} ({key})")
            return
        each = price[key]
        count = f"{low:g}" if low == high else f"{low:g}..{high:g}"
        lines.append(CostLine(item, round(low * each, 2), round(high * each, 2), f"{count} {unit} x ${each:g}"))

    def vcores() -> tuple[float, float]:
        """The stack's nodes' vCPUs, at the pools' fewest and most nodes (Defender for Containers bills by them)."""
        low = high = 0.0
        for _, kind, p in resources:
            pools = (p.get("agentPoolProfiles") or []) if kind == CLUSTER else [p] if kind == AGENT_POOL else []
            for pool in pools:
                size = VM_SIZES.get(str(pool.get("vmSize")))
                count = float(pool.get("count") or 0)
                fewest, most = ((float(pool.get("minCount") or 0), float(pool.get("maxCount") or 0))
                                if pool.get("enableAutoScaling") else (count, count))
                low, high = low + fewest * (size.vcpus if size else 0), high + most * (size.vcpus if size else 0)
        return low, high

    for name, kind, p in resources:
        if kind == WORKSPACE:
            unpriced.append(f"Log Analytics audit logs: ${price['log-analytics-ingestion']:g} per GB ingested "
                            f"(by use), kept {int(float(p.get('retentionInDays') or 0))} days")
        elif kind == GRAFANA:
            add(f"Managed Grafana {(p.get('sku') or {}).get('name')}", "managed-grafana-standard", 1, 1, "instance")
            unpriced.append(f"Managed Grafana users: ${price['managed-grafana-user']:g} per active user a month")
        elif kind == MONITOR_WORKSPACE:
            unpriced.append(f"Managed Prometheus: ${price['managed-prometheus-ingestion']:g} per 10 million samples "
                            "ingested (by use: nodes, pods and scrape interval)")
        elif kind == PROMETHEUS_RULES:
            unpriced.append(f"Managed Prometheus rules {name}: ${price['managed-prometheus-query']:g} per billion "
                            f"samples their queries process (by use: {len(p.get('rules') or [])} rules every "
                            f"{p.get('interval')})")
        elif kind == DEFENDER_PLAN:
            plan = str(p.get("pricingName"))
            if plan == "Containers":
                low, high = vcores()
                add("Defender for Containers", "defender-containers", low, high, "vCore")
            elif plan == "StorageAccounts":
                accounts = float(sum(1 for _, t, _ in resources if t == STORAGE_ACCOUNT))
                add("Defender for Storage", "defender-storage", accounts, accounts, "account")
            elif plan == "OpenSourceRelationalDatabases":
                servers = float(sum(1 for _, t, _ in resources if t == SERVER))
                add("Defender for open-source databases", "defender-oss-db", servers, servers, "server")
        elif kind == SERVER:
            sku = str((p.get("sku") or {}).get("name"))
            storage = float((p.get("storage") or {}).get("storageSizeGB") or 0)
            add(f"PostgreSQL compute {sku}", f"postgres:{sku}", 1, 1, "server")
            if (p.get("highAvailability") or {}).get("mode", "Disabled") != "Disabled":
                add(f"PostgreSQL HA standby {sku}", f"postgres:{sku}", 1, 1, "standby")
            add("PostgreSQL storage", "postgres-storage", storage, storage, "GiB")
            backup = p.get("backup") or {}
            geo = backup.get("geoRedundantBackup") == "Enabled"
            # Azure keeps backups up to the provisioned storage's size at no charge
            lines.append(CostLine(f"PostgreSQL backups, {int(float(backup.get('backupRetentionDays', 7)))} days"
                                  + (" (geo)" if geo else ""), 0.0, 0.0,
                                  f"up to {storage:g} GiB included (the provisioned storage)"))
            if geo:
                unpriced.append("PostgreSQL geo-redundant backup storage beyond the provisioned size (billed by size)")
        elif kind == CLUSTER:
            for pool in p.get("agentPoolProfiles") or []:
                nodes = float(pool.get("count") or 0)
                add(f"AKS pool {pool.get('name')} {pool.get('vmSize')}", f"vm:{pool.get('vmSize')}", nodes, nodes,
                    "node")
            if str((p.get("networkProfile") or {}).get("loadBalancerSku", "")).lower() == "standard":
                add("Standard load balancer", "load-balancer-standard", 1, 1, "load balancer")
        elif kind == AGENT_POOL:
            low, high = ((float(p.get("minCount") or 0), float(p.get("maxCount") or 0)) if p.get("enableAutoScaling")
                         else (float(p.get("count") or 0),) * 2)
            add(f"AKS pool {p.get('vmSize')} (GPU)" if str(p.get("vmSize", "")).startswith("Standard_N")
                else f"AKS pool {p.get('vmSize')}", f"vm:{p.get('vmSize')}", low, high, "node")
        elif kind == PUBLIC_IP:
            add(f"static public IP {name}", "public-ip-static", 1, 1, "IP")
        elif kind == PVC:
            spec = p.get("spec") or {}
            storage_class = classes.get(str(spec.get("storageClassName")), {})
            if storage_class.get("provisioner") == "file.csi.azure.com":
                # Premium shares are billed for at least the table's minimum, whatever the claim asks
                size = max(_gib((spec.get("resources") or {}).get("requests", {}).get("storage")),
                           float(table["prices"]["files-premium"].get("minimum", 0)))
                add("Azure Files Premium share", "files-premium", size, size, "GiB")
        elif kind == FILE_SHARE and len(premium_files) == 1 and premium_files[0]:
            # the stack's own share on its one FileStorage account; Premium (v1) bills at least the minimum
            size = max(shares[str(p.get("shareName"))], float(table["prices"]["files-premium"].get("minimum", 0)))
            add("Azure Files Premium share", "files-premium", size, size, "GiB")
        elif kind == PROTECTED_ITEM and (p.get("properties") or {}).get("protectedItemType") == \
                "AzureFileShareProtectedItem":
            share = str((p.get("properties") or {}).get("friendlyName"))
            size = shares.get(share, 0.0)
            tier = next((t for limit, t in FILES_BACKUP_TIERS if size <= limit), None)
            if tier is None:
                unpriced.append(f"Azure Backup of share {share} ({size:g} GiB, above the price table's tiers)")
            else:
                add(f"Azure Backup of share {share}", f"backup-files-share:{tier}", 1, 1,
                    f"protected share ({size:g} GiB)")
            unpriced.append(f"Azure Files snapshots of share {share} (billed by the data changed between them)")
        elif kind == STATEFUL_SET:
            spec = p.get("spec") or {}
            for template in spec.get("volumeClaimTemplates") or []:
                size = _gib(((template.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage"))
                tier = next((name for limit, name in PREMIUM_DISK_TIERS if size <= limit), f">{size:g}GiB")
                replicas = float(spec.get("replicas", 1))
                add(f"Premium SSD {tier} per replica ({(p.get('metadata') or {}).get('name')})",
                    f"disk-premium:{tier}", replicas, replicas, "disk")
    # sorted: the SDK registers resources in whatever order their inputs resolve
    return CostEstimate(tuple(lines), tuple(sorted(unpriced)), str(table["region"]), str(table["date"]))


def _gib(quantity: Any) -> float:
    """A Kubernetes storage quantity in whole GiB, rounded up (the grammar of node_capacity.memory_bytes)."""
    return float(math.ceil(memory_bytes(str(quantity or "0")) / GIB))
