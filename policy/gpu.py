"""The GPU policies: pools tainted, GPU pods tolerating the taint, GPU capacity (components/gpu_capacity.py),
and no GPU pool paid for with nothing on it."""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from pulumi_policy import (PolicyConfigSchema, PolicyResource, ReportViolation, ResourceValidationArgs,
                           StackValidationArgs)
from pulumi_policy.proxy import UnknownValueError

from components.gpu_capacity import GPUS_PER_VM, GpuCapacity, GpuDemand, GpuPool
from resources import (AGENT_POOL, DEPLOYMENT, HPA, JOB, MANAGED_CLUSTER, STATEFUL_SET, WORKLOADS, containers, known,
                       node_pools, peak_replicas, pod_spec, tolerates, with_defaults)

GPU_VM_SIZE = re.compile(r"^Standard_N[CDV]", re.IGNORECASE)
GPU_RESOURCE = "nvidia.com/gpu"
GPU_KNOBS = {"replicas": "replicas", "max_nodes": "the GPU pool's maxCount (count without autoscaling)",
             "vm_size": "vmSize"}
GPU_TAINT = "sku=gpu:NoSchedule"
"""The taint AKS docs (and this program) put on GPU pools."""


# gpu-pools-tainted --------------------------------------------------------------------------------

def gpu_pools_tainted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    pools: list[Mapping[str, Any]] = []
    if args.resource_type == AGENT_POOL:
        pools = [args.props]
    elif args.resource_type == MANAGED_CLUSTER:
        pools = list(known(lambda: args.props.get("agentPoolProfiles"), []) or [])
    for pool in pools:
        size = str(known(lambda: pool.get("vmSize"), ""))
        taints = known(lambda: pool.get("nodeTaints") or [], None)
        if GPU_VM_SIZE.match(size) and taints is not None and not any(str(t).endswith(":NoSchedule") for t in taints):
            report(f"GPU node pool of {size} has no NoSchedule taint: ordinary pods would fill its expensive "
                   "nodes. Add nodeTaints: [sku=gpu:NoSchedule] (fixed at creation).", None)


def gpu_pools(resources: Iterable[PolicyResource]) -> list[tuple[PolicyResource, Mapping[str, Any]]]:
    """Every GPU-sized pool of the stack with the resource that declares it (AgentPools and inline profiles)."""
    return [(r, p) for r, p in node_pools(resources) if GPU_VM_SIZE.match(str(known(lambda: p.get("vmSize"), "")))]


def gpus_per_pod(props: Mapping[str, Any]) -> int:
    total = 0
    for c in containers(props):
        resources = c.get("resources") or {}
        asked = (resources.get("limits") or {}).get(GPU_RESOURCE, (resources.get("requests") or {}).get(GPU_RESOURCE))
        total += int(asked or 0)
    return total

# gpu-capacity -------------------------------------------------------------------------------------

GPU_SCHEMA = PolicyConfigSchema(properties={
    "gpusPerVm": {"type": "object", "default": dict(GPUS_PER_VM),
                  "description": "GPUs per VM of each GPU VM size."},
})


def gpu_capacity(args: StackValidationArgs, report: ReportViolation) -> None:
    per_vm = with_defaults(GPU_SCHEMA, args.get_config())["gpusPerVm"]
    hpas = [r for r in args.resources if r.resource_type == HPA]
    demands, pools = [], []
    for r in args.resources:
        if r.resource_type in (DEPLOYMENT, STATEFUL_SET, JOB):
            try:
                gpus = gpus_per_pod(r.props)
                if gpus:
                    demands.append(GpuDemand(r.name, peak_replicas(r, hpas), gpus))
            except UnknownValueError:
                continue
    for r, pool in gpu_pools(args.resources):
        try:
            size = str(pool["vmSize"])
            if size not in per_vm:
                report(f"GPU pool of {size}: its GPUs per VM are unknown, so no GPU workload can be checked against "
                       "it; add the size to the pack config (gpu-capacity: gpusPerVm).", r.urn)
                return
            autoscale = bool(pool.get("enableAutoScaling"))
            nodes = pool.get("maxCount") if autoscale else pool.get("count")
            pools.append(GpuPool(size, int(per_vm[size]), int(nodes or 0)))
        except UnknownValueError:
            return  # the pool's size is known only after deployment: nothing to compare against
    capacity = GpuCapacity(tuple(pools), tuple(demands))
    if demands and not capacity.within:
        report(capacity.violation(GPU_KNOBS), None)

# gpu-pods-tolerate-taint --------------------------------------------------------------------------

def gpu_pods_tolerate_taint(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in WORKLOADS or not known(lambda: gpus_per_pod(args.props), 0):
        return
    key, rest = GPU_TAINT.split("=")
    value, effect = rest.split(":")
    tolerations = known(lambda: list(pod_spec(args.props).get("tolerations") or []), None)
    if tolerations is None:
        return  # known only after deployment
    if not tolerates(tolerations, GPU_TAINT):
        report(f"pods ask for {GPU_RESOURCE} but do not tolerate the GPU pools' taint {GPU_TAINT}: they can never "
               f"be scheduled on a GPU node. Add tolerations: [{{key: {key}, operator: Equal, value: {value}, "
               f"effect: {effect}}}].", None)

# gpu-pool-in-use ----------------------------------------------------------------------------------

def gpu_pool_in_use(args: StackValidationArgs, report: ReportViolation) -> None:
    asking = [r.name for r in args.resources if r.resource_type in WORKLOADS
              and known(lambda: gpus_per_pod(r.props), 1)]
    if asking:
        return
    for r, pool in gpu_pools(args.resources):
        report(f"GPU pool of {known(lambda: pool.get('vmSize'), '?')} but no workload of this stack asks for "
               f"{GPU_RESOURCE}: its nodes cost money and serve nothing. Run a GPU workload (ollamaEnabled) or remove "
               "the pool (gpuPoolWithoutOllama false).", r.urn)
