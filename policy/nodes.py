"""The node-capacity policy: every pod's CPU and memory requests at the peak (HPA maximum, Jobs, DaemonSets on every
node, the Helm releases' pods) against the node pools that can run them at their largest, after AKS's reservations.
The arithmetic is the program's own (components/node_capacity.py)."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from pulumi_policy import ReportViolation, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from components.node_capacity import (DEFAULT_MAX_PODS, VM_SIZES, ZERO, NodeCapacity, NodePool, PodDemand,
                                      Resources)
from resources import (DAEMON_SET, DEPLOYMENT, HPA, JOB, MANAGED_CLUSTER, STATEFUL_SET, node_pools, peak_replicas,
                       pod_spec, rolling_surge, tolerates)

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
NODE_KNOBS = {"replicas": "the HPA's maxReplicas (or replicas)", "max_nodes": "the pool's count (maxCount when it "
              "autoscales)", "vm_size": "vmSize"}


def _requests(container: Mapping[str, Any]) -> Resources:
    asked = (container.get("resources") or {}).get("requests") or {}
    return Resources.parse(str(asked.get("cpu", "0")), str(asked.get("memory", "0")))


def pod_requests(spec: Mapping[str, Any]) -> Resources:
    """What the scheduler reserves for one pod: its containers and sidecars (init containers that keep running)
    together, or its largest one-off init container if that is more."""
    inits = list(spec.get("initContainers") or [])
    sidecars = [c for c in inits if c.get("restartPolicy") == "Always"]
    running = sum((_requests(c) for c in [*(spec.get("containers") or []), *sidecars]), ZERO)
    one_off = [_requests(c) for c in inits if c not in sidecars]
    return Resources(max([running.cpu_m, *(r.cpu_m for r in one_off)]),
                     max([running.memory, *(r.memory for r in one_off)]))


def _schedulable_on(spec: Mapping[str, Any], pool: Mapping[str, Any]) -> bool:
    """The pool's labels satisfy the pod's nodeSelector and the pod tolerates each of its NoSchedule taints."""
    labels = pool.get("nodeLabels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    tolerations = spec.get("tolerations") or []
    return all(tolerates(tolerations, str(t)) for t in pool.get("nodeTaints") or [] if str(t).endswith(":NoSchedule"))


def chart_pods(values: Mapping[str, Any]) -> Iterator[tuple[str, int, Resources]]:
    """The pods a Helm release's values ask for: each block with resources.requests, times its replicas
    (replicaCount, or deployment.replicas as Traefik's chart has it)."""
    def walk(node: Mapping[str, Any], path: str) -> Iterator[tuple[str, int, Resources]]:
        resources = node.get("resources")
        requests = resources.get("requests") if isinstance(resources, Mapping) else None
        if requests:
            replicas = node.get("replicaCount") or (node.get("deployment") or {}).get("replicas") or 1
            yield path, int(replicas), Resources.parse(str(requests.get("cpu", "0")), str(requests.get("memory", "0")))
        for key, child in node.items():
            if isinstance(child, Mapping) and key != "resources":
                yield from walk(child, f"{path}.{key}")

    yield from walk(values, "")


def node_capacity(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = list(args.resources)
    try:
        declared = node_pools(resources)
        if not declared:
            return  # the stack deploys onto a cluster it does not declare: nothing to compare against
        checked = []
        for r, p in declared:
            size = str(p["vmSize"])
            if size not in VM_SIZES:
                report(f"node pool of {size}: its CPU and memory are unknown, so its pods cannot be checked against "
                       "it; add the size to components/node_capacity.py VM_SIZES.", r.urn)
                return
            nodes = p.get("maxCount") if p.get("enableAutoScaling") else p.get("count")
            checked.append((p, NodePool(size, int(nodes or 0), system=p.get("mode") == "System",
                                           max_pods=int(p.get("maxPods") or DEFAULT_MAX_PODS))))
    except UnknownValueError:
        return  # a pool's size or count is known only after deployment

    whole_cluster = any(r.resource_type == MANAGED_CLUSTER for r in resources)
    hpas = [r for r in resources if r.resource_type == HPA]
    demands: list[list[PodDemand]] = [[] for _ in checked]
    for r in resources:
        try:
            if r.resource_type in (DEPLOYMENT, STATEFUL_SET, JOB, DAEMON_SET):
                spec = pod_spec(r.props)
                peak = peak_replicas(r, hpas)
                pods = [(r.name, peak, pod_requests(spec), spec)]
                if surge := rolling_surge(r, peak):
                    pods.append((f"{r.name}-surge", surge, pod_requests(spec), spec))
            elif r.resource_type == HELM_RELEASE:
                pods = [(f"{r.name}{path}", n, asked, {}) for path, n, asked in chart_pods(r.props.get("values") or {})]
            else:
                continue
            for name, replicas, asked, spec in pods:
                eligible = [i for i, (p, _) in enumerate(checked) if _schedulable_on(spec, p)]
                if not eligible:
                    if whole_cluster and name == r.name:  # else a pool this stack does not declare may run them
                        report(f"{name}: no node pool of the cluster can run its pods (its nodeSelector or "
                               "tolerations match none): they would stay Pending.", r.urn)
                    continue
                per_node = r.resource_type == DAEMON_SET
                for i in eligible if per_node else eligible[:1]:
                    demands[i].append(PodDemand(name, replicas, asked, per_node=per_node, scalable=name == r.name
                                                and r.resource_type in (DEPLOYMENT, STATEFUL_SET)))
        except (UnknownValueError, ValueError):
            continue  # requests known only after deployment, or not a quantity (the schema check says so)
    for (_, pool), wanted in zip(checked, demands):
        capacity = NodeCapacity(pool, tuple(wanted))
        if wanted and not capacity.within:
            report(capacity.violation(NODE_KNOBS), None)
