"""Node capacity: the CPU and memory the pods of one node pool request at their peak against what the pool's
nodes can ever allocate.

The third of the capacity family with connection_budget.py and gpu_capacity.py: the same shape (within,
arithmetic, violation(names) with the knobs named as the caller calls them), one home of the arithmetic for config
validation, the offline plan and the policy pack. It imports nothing from Pulumi so that all three can load it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Mapping

MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclass(frozen=True)
class VmSize:
    vcpus: int
    memory_gib: int


VM_SIZES: Mapping[str, VmSize] = {
    # General purpose (Azure docs: Ddsv5 and Dsv5 series)
    **{f"Standard_D{n}{s}_v5": VmSize(n, 4 * n) for n in (2, 4, 8, 16, 32) for s in ("ds", "s")},
    # Memory optimised (Edsv5 series)
    **{f"Standard_E{n}ds_v5": VmSize(n, 8 * n) for n in (2, 4, 8, 16, 32)},
    # GPU (the sizes of gpu_capacity.GPUS_PER_VM: NCasT4_v3, NC A100 v4, ND A100 v4, NDm A100 v4, NC/ND H100 v5)
    "Standard_NC4as_T4_v3": VmSize(4, 28), "Standard_NC8as_T4_v3": VmSize(8, 56),
    "Standard_NC16as_T4_v3": VmSize(16, 110), "Standard_NC64as_T4_v3": VmSize(64, 440),
    "Standard_NC24ads_A100_v4": VmSize(24, 220), "Standard_NC48ads_A100_v4": VmSize(48, 440),
    "Standard_NC96ads_A100_v4": VmSize(96, 880), "Standard_ND96asr_v4": VmSize(96, 900),
    "Standard_ND96amsr_A100_v4": VmSize(96, 1900), "Standard_NC40ads_H100_v5": VmSize(40, 320),
    "Standard_NC80adis_H100_v5": VmSize(80, 640), "Standard_ND96isr_H100_v5": VmSize(96, 1900),
}
"""vCPUs and memory of the Azure VM sizes this program knows (Azure docs, each series' size table)."""

DEFAULT_MAX_PODS = 250
"""Pods per node with Azure CNI overlay when maxPods is not set (the cluster does not set it)."""
EVICTION_THRESHOLD = 100 * MIB
"""The kubelet's memory.available<100Mi hard eviction (AKS 1.29 and later)."""


def is_gpu_size(vm_size: str) -> bool:
    return vm_size.startswith("Standard_N")


def kube_reserved_cpu_m(cores: int) -> int:
    """AKS's kube-reserved CPU (learn.microsoft.com/azure/aks/node-resource-reservations): 60m for 1 core, 100m
    for 2, 140m for 4 ... 740m for 64. From 4 cores up the table is 140m + 10m per further core, which gives every
    row from 8 to 64 exactly; the same line is used past 64 cores."""
    return {1: 60, 2: 100}.get(cores, 140 + 10 * max(cores - 4, 0))


def kube_reserved_memory(memory: int, max_pods: int = DEFAULT_MAX_PODS) -> int:
    """AKS 1.29 and later (same page): the lesser of 20 MB x max pods + 50 MB and 25% of the node's memory."""
    return min((20 * max_pods + 50) * MIB, memory // 4)


@dataclass(frozen=True)
class Resources:
    cpu_m: int
    memory: int
    """Bytes."""

    def __add__(self, other: "Resources") -> "Resources":
        return Resources(self.cpu_m + other.cpu_m, self.memory + other.memory)

    def __sub__(self, other: "Resources") -> "Resources":
        return Resources(self.cpu_m - other.cpu_m, self.memory - other.memory)

    def __mul__(self, n: int) -> "Resources":
        return Resources(self.cpu_m * n, self.memory * n)

    def fits(self, room: "Resources") -> bool:
        return self.cpu_m <= room.cpu_m and self.memory <= room.memory

    def __str__(self) -> str:
        return f"{self.cpu_m / 1000:g} CPU, {self.memory / GIB:.2f} GiB"

    @classmethod
    def parse(cls, cpu: str, memory: str) -> "Resources":
        return cls(cpu_millicores(cpu), memory_bytes(memory))

    @classmethod
    def requested(cls, resources: Mapping[str, Mapping[str, str]]) -> "Resources":
        """A container's requests, from its {"requests": {...}, "limits": {...}}."""
        return cls.parse(resources["requests"]["cpu"], resources["requests"]["memory"])


ZERO = Resources(0, 0)
KUBE_SYSTEM_PER_NODE = Resources(250, 400 * MIB)
"""An allowance for AKS's own DaemonSets on every node (Cilium, azure-cns, cloud-node-manager, the Azure Disk and
Files CSI node plugins, ip-masq-agent): their requests are set by AKS, change with its releases and are not in the
stack; `kubectl describe node` ("Allocated resources", namespace kube-system) shows the real figure."""
KUBE_SYSTEM_PER_CLUSTER = Resources(500, 500 * MIB)
"""The same, for AKS's Deployments on the system pool (CoreDNS and its autoscaler, metrics-server, konnectivity)."""

CPU = re.compile(r"(\d+(?:\.\d+)?)(m?)")
MEMORY = re.compile(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?")
MEMORY_UNITS = {None: 1, "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12,
                "Ki": 1024, "Mi": MIB, "Gi": GIB, "Ti": 1024 * GIB}


def cpu_millicores(quantity: str) -> int:
    match = CPU.fullmatch(str(quantity).strip())
    if not match:
        raise ValueError(f"{quantity!r} is not a CPU quantity (such as 500m or 2)")
    value = float(match.group(1))
    return round(value if match.group(2) else value * 1000)


def memory_bytes(quantity: str) -> int:
    match = MEMORY.fullmatch(str(quantity).strip())
    if not match:
        raise ValueError(f"{quantity!r} is not a memory quantity (such as 512Mi or 2Gi)")
    return round(float(match.group(1)) * MEMORY_UNITS[match.group(2)])


def allocatable(vm: VmSize, max_pods: int = DEFAULT_MAX_PODS) -> Resources:
    """What the kubelet lets pods request on one node of this size."""
    memory = vm.memory_gib * GIB
    return Resources(vm.vcpus * 1000 - kube_reserved_cpu_m(vm.vcpus),
                     memory - kube_reserved_memory(memory, max_pods) - EVICTION_THRESHOLD)


@dataclass(frozen=True)
class NodePool:
    vm_size: str
    max_nodes: int
    """The most nodes the pool can run: maxCount when it autoscales, else its count."""
    system: bool
    """The system pool also runs AKS's own Deployments."""
    max_pods: int = DEFAULT_MAX_PODS

    @property
    def node_room(self) -> Resources:
        """What one node offers the stack's pods: its allocatable less AKS's DaemonSets."""
        return allocatable(VM_SIZES[self.vm_size], self.max_pods) - KUBE_SYSTEM_PER_NODE

    @property
    def room(self) -> Resources:
        """What the pool's pods may request at its largest, after AKS's reservations and its own pods."""
        total = self.node_room * self.max_nodes
        return total - KUBE_SYSTEM_PER_CLUSTER if self.system else total


@dataclass(frozen=True)
class PodDemand:
    """A set of identical pods on the pool, at their most (per_node: one per node, a DaemonSet)."""

    name: str
    replicas: int
    requests: Resources
    scalable: bool = False
    """Its replicas are the pool's 'replicas' knob (the HPA's maximum, Ollama's replicas)."""
    per_node: bool = False

    def total(self, nodes: int) -> Resources:
        return self.requests * (nodes if self.per_node else self.replicas)


@dataclass(frozen=True)
class NodeCapacity:
    """The requests of every pod of one pool at its peak against the pool's nodes at their largest."""

    pool: NodePool
    demands: tuple[PodDemand, ...]

    @property
    def wanted(self) -> Resources:
        return sum((d.total(self.pool.max_nodes) for d in self.demands), ZERO)

    @property
    def unschedulable(self) -> list[PodDemand]:
        """Pods that ask for more than one node offers: a pod's requests come from a single node."""
        return [d for d in self.demands if not d.requests.fits(self.pool.node_room)]

    @property
    def within(self) -> bool:
        return not self.unschedulable and self.wanted.fits(self.pool.room)

    def arithmetic(self) -> str:
        p, nodes = self.pool, self.pool.max_nodes
        lines = [f"{d.name}: {'1 per node' if d.per_node else d.replicas} x ({d.requests.cpu_m}m, "
                 f"{d.requests.memory / MIB:.0f}Mi) = {d.total(nodes)}" for d in self.demands]
        system = f" and {KUBE_SYSTEM_PER_CLUSTER} on the system pool" if p.system else ""
        lines.append(f"wanted {self.wanted} vs room {p.room} ({nodes} x {p.vm_size}: "
                     f"{allocatable(VM_SIZES[p.vm_size], p.max_pods)} allocatable each after AKS's reservations, "
                     f"less AKS's own pods {KUBE_SYSTEM_PER_NODE} per node{system})")
        return "\n".join(lines)

    def _fits_with(self, pool: NodePool, demand: PodDemand | None = None, replicas: int = 0) -> bool:
        """Whether the pool fits on `pool` instead, with `demand` at `replicas` instead."""
        demands = tuple(replace(d, replicas=replicas) if d is demand else d for d in self.demands)
        return NodeCapacity(pool, demands).within

    def fixes(self, names: Mapping[str, str]) -> list[str]:
        """The smallest single changes that make the pool hold its pods, with the knobs named as the caller calls
        them ('replicas', 'max_nodes', 'vm_size')."""
        p, fixes = self.pool, []
        for d in self.demands:
            if d.scalable and not self.unschedulable:
                fitting = max((n for n in range(d.replicas) if self._fits_with(p, d, n)), default=0)
                if fitting >= 1:
                    fixes.append(f"lower {names['replicas']} of {d.name} from {d.replicas} to {fitting}")
        if not self.unschedulable:
            nodes = next((n for n in range(p.max_nodes + 1, p.max_nodes + 101)
                          if self._fits_with(replace(p, max_nodes=n))), None)
            if nodes:
                fixes.append(f"raise {names['max_nodes']} from {p.max_nodes} to {nodes}")
        gpu = is_gpu_size(p.vm_size)  # a GPU pool's other choices are GPU sizes, and the system pool's are not
        sizes = sorted((s for s in VM_SIZES if is_gpu_size(s) == gpu
                        and self._fits_with(replace(p, vm_size=s))),
                       key=lambda s: (VM_SIZES[s].vcpus, VM_SIZES[s].memory_gib))
        if sizes:
            fixes.append(f"choose a larger {names['vm_size']}: {sizes[0]} "
                         f"({allocatable(VM_SIZES[sizes[0]], p.max_pods)} allocatable per node)")
        return fixes or ["no single change fits: lower the requests or split the workloads over more pools"]

    def violation(self, names: Mapping[str, str]) -> str:
        if self.unschedulable:
            problem = "; ".join(f"{d.name} requests {d.requests} per pod, more than one {self.pool.vm_size} node "
                                f"offers ({self.pool.node_room}): it can never be scheduled" for d in self.unschedulable)
        else:
            problem = "at the peak, the pods past what it holds would stay Pending"
        return (f"node pool of {self.pool.vm_size} too small: {problem}.\n{self.arithmetic()}\nFix with one of:\n"
                + "\n".join(f"  - {fix}" for fix in self.fixes(names)))
