"""How a policy reads the stack's resources: their type tokens, and the Kubernetes and config helpers every
policy module shares. Only literal values are read; a value unknown during preview skips that one item, never the
policy."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Optional

from pulumi_policy import PolicyConfigSchema, PolicyResource
from pulumi_policy.proxy import UnknownValueError

SERVER = "azure-native:dbforpostgresql:Server"
CONFIGURATION = "azure-native:dbforpostgresql:Configuration"
FIREWALL_RULE = "azure-native:dbforpostgresql:FirewallRule"
EXTENSION = "pulumi-python:dynamic/postgres:Extension"
AGENT_POOL = "azure-native:containerservice:AgentPool"
MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
JOB = "kubernetes:batch/v1:Job"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
WORKLOADS = (DEPLOYMENT, STATEFUL_SET, DAEMON_SET, JOB)


def with_defaults(schema: PolicyConfigSchema, config: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    """The policy's config: the schema's defaults (the one place they live), overlaid by the given config."""
    defaults = {k: v["default"] for k, v in schema.properties.items() if "default" in v}
    return {**defaults, **(config or {})}


def known(read: Callable[[], Any], default: Any = None) -> Any:
    """Reads a property that may be unknown during preview; unknown reads as the default."""
    try:
        return read()
    except UnknownValueError:
        return default


def pod_spec(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return ((props.get("spec") or {}).get("template") or {}).get("spec") or {}


def containers(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    spec = pod_spec(props)
    return list(spec.get("containers") or []) + list(spec.get("initContainers") or [])


def env_entries(container: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(container.get("env") or [])


def literal_env(container: Mapping[str, Any]) -> dict[str, str]:
    return {e["name"]: str(e["value"]) for e in env_entries(container) if isinstance(e.get("value"), (str, int))}


def env_from_secret(container: Mapping[str, Any], name: str) -> bool:
    return any(e.get("name") == name and ((e.get("valueFrom") or {}).get("secretKeyRef"))
               for e in env_entries(container))


def metadata(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return props.get("metadata") or {}


def is_open_webui(props: Mapping[str, Any]) -> bool:
    return any("open-webui" in str(c.get("image", "")) for c in (pod_spec(props).get("containers") or []))


def node_pools(resources: Iterable[PolicyResource]) -> list[tuple[PolicyResource, Mapping[str, Any]]]:
    """Every node pool of the stack with the resource that declares it (a cluster's inline profiles, AgentPools)."""
    found: list[tuple[PolicyResource, Mapping[str, Any]]] = []
    for r in resources:
        if r.resource_type == MANAGED_CLUSTER:
            found += [(r, p) for p in known(lambda: r.props.get("agentPoolProfiles"), []) or []]
        elif r.resource_type == AGENT_POOL:
            found.append((r, r.props))
    return found


def tolerates(tolerations: Iterable[Mapping[str, Any]], taint: str) -> bool:
    """Whether a pod's tolerations let it onto nodes with this taint ("key=value:Effect"), as the scheduler matches
    them: the same effect or none; Exists on the key (or on every key), else Equal key and value."""
    key, _, rest = taint.partition("=")
    value, _, effect = rest.partition(":")
    return any((t.get("operator") == "Exists" and t.get("key") in (None, "", key))
               or (t.get("operator") != "Exists" and t.get("key") == key and t.get("value") == value)
               for t in tolerations if t.get("effect") in (None, "", effect))


def rolling_surge(resource: PolicyResource, peak: int) -> int:
    """The pods a Deployment's rolling update adds above its count: maxSurge (Kubernetes' default 25%, rounded up);
    none for Recreate or another kind of workload."""
    if resource.resource_type != DEPLOYMENT:
        return 0
    strategy = (resource.props.get("spec") or {}).get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0
    surge = str((strategy.get("rollingUpdate") or {}).get("maxSurge", "25%"))
    return -(-peak * int(surge[:-1]) // 100) if surge.endswith("%") else int(float(surge))


def peak_replicas(resource: PolicyResource, hpas: Iterable[PolicyResource]) -> int:
    """HPA maxReplicas when an HPA targets the workload, else its own replicas (or parallelism), else 1."""
    props = resource.props
    if resource.resource_type == JOB:
        return int(known(lambda: (props.get("spec") or {}).get("parallelism"), None) or 1)
    name, namespace = metadata(props).get("name"), metadata(props).get("namespace")
    for hpa in hpas:
        target = (hpa.props.get("spec") or {}).get("scaleTargetRef") or {}
        if (target.get("kind") == "Deployment" and target.get("name") == name
                and metadata(hpa.props).get("namespace") == namespace):
            return int(hpa.props["spec"]["maxReplicas"])
    return int((props.get("spec") or {}).get("replicas") or 1)
