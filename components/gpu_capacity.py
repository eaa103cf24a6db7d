"""GPU capacity: how many GPUs a stack's workloads ask for against what its GPU pools can ever offer.

Like connection_budget.py, this is the one home of the arithmetic: config validation uses it before anything
is declared, the offline plan prints it, and the policy pack imports it to check any stack. It imports nothing
from Pulumi so that all three can load it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

GPUS_PER_VM: Mapping[str, int] = {
    # NVIDIA T4 16 GB
    "Standard_NC4as_T4_v3": 1,
    "Standard_NC8as_T4_v3": 1,
    "Standard_NC16as_T4_v3": 1,
    "Standard_NC64as_T4_v3": 4,
    # NVIDIA A100 80 GB
    "Standard_NC24ads_A100_v4": 1,
    "Standard_NC48ads_A100_v4": 2,
    "Standard_NC96ads_A100_v4": 4,
    # NVIDIA A100 40 GB (ND A100 v4) and 80 GB (NDm A100 v4), InfiniBand between VMs
    "Standard_ND96asr_v4": 8,
    "Standard_ND96amsr_A100_v4": 8,
    # NVIDIA H100 94 GB
    "Standard_NC40ads_H100_v5": 1,
    "Standard_NC80adis_H100_v5": 2,
    # NVIDIA H100 80 GB (ND H100 v5)
    "Standard_ND96isr_H100_v5": 8,
}
"""GPUs per VM of the Azure sizes this program knows (Azure docs: NCasT4_v3, NC A100 v4, ND A100 v4, NDm A100 v4,
NC H100 v5 and ND H100 v5 series)."""


@dataclass(frozen=True)
class GpuPool:
    vm_size: str
    gpus_per_vm: int
    max_nodes: int
    """The most nodes the pool can run: maxCount when it autoscales, else its count."""

    @property
    def gpus(self) -> int:
        return self.max_nodes * self.gpus_per_vm


@dataclass(frozen=True)
class GpuDemand:
    """A set of identical pods that each ask for GPUs."""

    name: str
    replicas: int
    gpus_per_pod: int

    @property
    def gpus(self) -> int:
        return self.replicas * self.gpus_per_pod


@dataclass(frozen=True)
class GpuCapacity:
    """GPUs wanted by the GPU workloads at their peak against the GPU pools at their largest."""

    pools: tuple[GpuPool, ...]
    demands: tuple[GpuDemand, ...]

    @property
    def wanted(self) -> int:
        return sum(d.gpus for d in self.demands)

    @property
    def available(self) -> int:
        return sum(p.gpus for p in self.pools)

    @property
    def unschedulable(self) -> list[GpuDemand]:
        """Pods asking for more GPUs than any one node has: a pod's GPUs come from a single VM."""
        largest = max((p.gpus_per_vm for p in self.pools), default=0)
        return [d for d in self.demands if d.gpus_per_pod > largest]

    @property
    def within(self) -> bool:
        return not self.unschedulable and self.wanted <= self.available

    def arithmetic(self) -> str:
        wanted = " + ".join(f"{d.name}: {d.replicas} replicas x {d.gpus_per_pod} GPU" for d in self.demands)
        available = " + ".join(f"{p.vm_size}: {p.max_nodes} nodes x {p.gpus_per_vm} GPU" for p in self.pools)
        return f"wanted {self.wanted} ({wanted or 'nothing'}) / available {self.available} ({available or 'no GPU pool'})"

    def violation(self, names: Mapping[str, str]) -> str:
        """Why the pools cannot hold the workloads, with fixes named as the caller calls each knob
        ('replicas', 'max_nodes', 'vm_size')."""
        if self.unschedulable:
            return "; ".join(f"{d.name} asks for {d.gpus_per_pod} GPUs per pod but no GPU node has that many: it can "
                             f"never be scheduled; choose a larger {names['vm_size']}" for d in self.unschedulable) + "."
        per_vm = max(p.gpus_per_vm for p in self.pools) if self.pools else 1
        fixes = [f"raise {names['max_nodes']} so the pool offers {self.wanted} GPUs "
                 f"({-(-self.wanted // per_vm)} nodes of {per_vm} GPU)",
                 f"or choose a {names['vm_size']} with more GPUs per VM"]
        if len(self.demands) == 1:
            d = self.demands[0]
            fixes.insert(0, f"lower {names['replicas']} of {d.name} to {self.available // d.gpus_per_pod}")
        return (f"GPU pool too small: {self.arithmetic()}; the extra pods would stay Pending forever. Fix: "
                + "; ".join(fixes) + ".")
