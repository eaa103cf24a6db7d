"""The policies of the openwebui-aks pack. Each validator is a plain function of its args, testable directly.

The connection budget uses the program's own formula (components/connection_budget.py): one source of truth.
Only literal values are read; a value unknown during preview skips that one item, never the policy.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the program's components/, for the formula
from components.connection_budget import (  # noqa: E402
    AZURE_RESERVED_CONNECTIONS,
    POSTGRES_CONNECTIONS_ANNOTATION,
    POSTGRES_SERVER_ANNOTATION,
    ConnectionBudget,
    PlainClient,
    PoolError,
    Workload,
    default_sku_table,
    max_connections_for,
)
from components.cost import BUDGET_TAG, estimate  # noqa: E402
from components.gpu_capacity import GPUS_PER_VM, GpuCapacity, GpuDemand, GpuPool  # noqa: E402

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
DATA_DIR = "/app/backend/data"
POOL_ENV = ("UVICORN_WORKERS", "DATABASE_POOL_SIZE", "DATABASE_POOL_MAX_OVERFLOW", "PGVECTOR_POOL_SIZE",
            "PGVECTOR_POOL_MAX_OVERFLOW", "VECTOR_DB", "ENABLE_DB_MIGRATIONS")
BUDGET_KNOBS = {"max_replicas": "the HPA's maxReplicas", "database_pool": "DATABASE_POOL_SIZE/DATABASE_POOL_MAX_OVERFLOW",
                "pgvector_pool": "PGVECTOR_POOL_SIZE/PGVECTOR_POOL_MAX_OVERFLOW", "sku": "the server's sku.name"}
CREDENTIAL_ENV = re.compile(r"(PASSWORD|SECRET|SECRET_KEY|TOKEN|API_KEY|PRIVATE_KEY|DATABASE_URL|DB_URL)$")
URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@:]+:[^/@]+@", re.IGNORECASE)
GPU_VM_SIZE = re.compile(r"^Standard_N[CDV]", re.IGNORECASE)
GPU_RESOURCE = "nvidia.com/gpu"
GPU_KNOBS = {"replicas": "replicas", "max_nodes": "the GPU pool's maxCount (count without autoscaling)",
             "vm_size": "vmSize"}
PREMIUM_V1_SKUS = ("Premium_LRS", "Premium_ZRS")
GPU_TAINT = "sku=gpu:NoSchedule"
"""The taint AKS docs (and this program) put on GPU pools."""


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


# Kubernetes helpers -------------------------------------------------------------------------------

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


# connection-budget --------------------------------------------------------------------------------

BUDGET_SCHEMA = PolicyConfigSchema(properties={
    "reservedConnections": {"type": "integer", "default": AZURE_RESERVED_CONNECTIONS,
                            "description": "Connections Azure keeps for itself (reserved + superuser reserved)."},
    "skuMaxConnections": {"type": "object", "default": default_sku_table(),
                          "description": "Default max_connections of each Flexible Server SKU."},
})


def connection_budget(args: StackValidationArgs, report: ReportViolation) -> None:
    config = with_defaults(BUDGET_SCHEMA, args.get_config())
    resources = args.resources
    servers = [r for r in resources if r.resource_type == SERVER]
    hpas = [r for r in resources if r.resource_type == HPA]
    demand: dict[str, list[Workload | PlainClient]] = {s.name: [] for s in servers}

    for r in resources:
        if r.resource_type not in WORKLOADS:
            continue
        try:
            connecting = [c for c in pod_spec(r.props).get("containers") or []
                          if any(e.get("name") in ("DATABASE_URL", "PGVECTOR_DB_URL") for e in env_entries(c))]
            if not connecting:
                continue
            annotations = metadata(r.props).get("annotations") or {}
            server = annotations.get(POSTGRES_SERVER_ANNOTATION)
            if server is None and len(servers) == 1:
                server = servers[0].name
            if server not in demand:
                report(f"{r.name} connects to PostgreSQL but names no server of this stack; annotate it with "
                       f"{POSTGRES_SERVER_ANNOTATION}: <server resource name> so its connections are budgeted.", r.urn)
                continue
            if POSTGRES_CONNECTIONS_ANNOTATION in annotations:  # a plain client: its connection count is declared
                demand[server].append(PlainClient(r.name, peak_replicas(r, hpas),
                                                  int(annotations[POSTGRES_CONNECTIONS_ANNOTATION])))
                continue
            for c in connecting:
                opaque = [e["name"] for e in env_entries(c) if e.get("name") in POOL_ENV and "value" not in e]
                if opaque:
                    report(f"{r.name}: {', '.join(opaque)} must be literal values so the connection budget can "
                           "be checked.", r.urn)
                    continue
                demand[server].append(Workload.from_env(r.name, peak_replicas(r, hpas), literal_env(c)))
        except UnknownValueError:
            continue  # this workload's values are known only after deployment
        except PoolError as e:
            report(f"{r.name}: {e}", r.urn)

    for s in servers:
        try:
            try:
                max_connections = _max_connections(s, resources, config)
            except KeyError:
                sku = str((s.props.get("sku") or {}).get("name"))
                report(f"PostgreSQL server '{s.name}': SKU {sku} has no max_connections in the pack config "
                       "(skuMaxConnections); add it, or set the max_connections server parameter.", s.urn)
                continue
            budget = ConnectionBudget(s.name, max_connections, int(config["reservedConnections"]),
                                      tuple(demand[s.name]))
            if not budget.within:
                report(budget.violation(BUDGET_KNOBS), s.urn)
        except UnknownValueError:
            continue


def _max_connections(server: PolicyResource, resources: Sequence[PolicyResource], config: Mapping[str, Any]) -> int:
    """The server's max_connections: its explicit server parameter, else its SKU's default (KeyError if unknown)."""
    servers = [r for r in resources if r.resource_type == SERVER]
    sku = str((server.props.get("sku") or {}).get("name"))
    explicit = next((int(c.props["value"]) for c in resources
                     if c.resource_type == CONFIGURATION and c.props.get("configurationName") == "max_connections"
                     and server in _server_of(c, "serverName", servers)), None)
    return max_connections_for(sku, explicit, config["skuMaxConnections"])


def _server_of(resource: PolicyResource, prop: str, servers: list[PolicyResource]) -> list[PolicyResource]:
    """The server a resource points at: through its property dependency, else the only server in the stack."""
    linked = [d for d in resource.property_dependencies.get(prop, []) if d.resource_type == SERVER]
    if linked:
        return [s for s in servers if s.urn in {d.urn for d in linked}]
    return servers if len(servers) == 1 else []


# connection-alert ----------------------------------------------------------------------------------

METRIC_ALERT = "azure-native:monitor:MetricAlert"


def connection_alert(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every PostgreSQL server has an active_connections alert that fires before its capacity is reached."""
    config = with_defaults(BUDGET_SCHEMA, args.get_config())
    servers = [r for r in args.resources if r.resource_type == SERVER]
    alerts = [r for r in args.resources if r.resource_type == METRIC_ALERT]
    for s in servers:
        thresholds = []
        for alert in alerts:
            if s not in _server_of(alert, "scopes", servers):
                continue
            criteria = known(lambda: (alert.props.get("criteria") or {}).get("allOf"), []) or []
            thresholds += [c.get("threshold") for c in criteria if c.get("metricName") == "active_connections"]
        try:
            budget = ConnectionBudget(s.name, _max_connections(s, args.resources, config),
                                      int(config["reservedConnections"]), ())
        except (KeyError, UnknownValueError):
            continue  # connection-budget reports an unknown SKU
        if not thresholds:
            report(f"PostgreSQL server '{s.name}' has no active_connections alert: nobody hears of the connection "
                   f"budget running out until clients are refused. Alert above {budget.alert_threshold} (80% of its "
                   f"capacity {budget.capacity}).", s.urn)
        elif all(t is not None and float(t) >= budget.capacity for t in thresholds):
            report(f"PostgreSQL server '{s.name}': its active_connections alert fires at {min(thresholds)}, at or "
                   f"above its capacity {budget.capacity}: clients are refused before it fires.", s.urn)


# multi-replica-shared-state ------------------------------------------------------------------------

def multi_replica_shared_state(args: StackValidationArgs, report: ReportViolation) -> None:
    hpas = [r for r in args.resources if r.resource_type == HPA]
    claims = {(metadata(r.props).get("namespace"), metadata(r.props).get("name")): r
              for r in args.resources if r.resource_type == PVC}
    for r in args.resources:
        if r.resource_type not in (DEPLOYMENT, STATEFUL_SET) or not known(lambda: is_open_webui(r.props), False):
            continue
        try:
            replicas = peak_replicas(r, hpas)
            if replicas <= 1:
                continue
            problems = []
            for c in pod_spec(r.props).get("containers") or []:
                env = literal_env(c)
                if not env_from_secret(c, "DATABASE_URL") and not env.get("DATABASE_URL", "").startswith("postgres"):
                    problems.append("DATABASE_URL must point at PostgreSQL (unset or sqlite keeps SQLite on one pod)")
                if env.get("VECTOR_DB", "chroma") == "chroma":
                    problems.append("VECTOR_DB must not be chroma (its SQLite breaks with several writers)")
                if not env_from_secret(c, "WEBUI_SECRET_KEY"):
                    problems.append("WEBUI_SECRET_KEY must come from a Secret, identical on every replica")
                if env.get("WEBSOCKET_MANAGER") != "redis":
                    problems.append("WEBSOCKET_MANAGER must be redis so websockets work across replicas")
                for mount in c.get("volumeMounts") or []:
                    if mount.get("mountPath") != DATA_DIR:
                        continue
                    volume: Mapping[str, Any] = next((v for v in pod_spec(r.props).get("volumes") or []
                                   if v.get("name") == mount.get("name")), {})
                    claim_name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
                    claim = claims.get((metadata(r.props).get("namespace"), claim_name))
                    modes = (claim.props.get("spec") or {}).get("accessModes") if claim else None
                    if claim and "ReadWriteMany" not in (modes or []):
                        problems.append(f"the data volume {claim_name} must be ReadWriteMany (a ReadWriteOnce "
                                        "volume stops a second pod)")
            if problems:
                report(f"{r.name} may run {replicas} replicas, which share state only if: " + "; ".join(problems)
                       + ".", r.urn)
        except UnknownValueError:
            continue


# extensions-allow-listed --------------------------------------------------------------------------

def extensions_allow_listed(args: StackValidationArgs, report: ReportViolation) -> None:
    servers = [r for r in args.resources if r.resource_type == SERVER]
    allow_lists = [r for r in args.resources if r.resource_type == CONFIGURATION
                   and r.props.get("configurationName") == "azure.extensions"]
    for ext in (r for r in args.resources if r.resource_type == EXTENSION):
        try:
            name = str(ext.props["name"])
            server = _server_of(ext, "host", servers)
            lists = [c for c in allow_lists if not server or set(_server_of(c, "serverName", servers)) & set(server)]
            allowed = {x.strip().lower() for c in lists for x in str(c.props.get("value", "")).split(",") if x.strip()}
            if name.lower() not in allowed:
                report(f"extension '{name}' is not in its server's azure.extensions allow list "
                       f"({', '.join(sorted(allowed)) or 'none'}): CREATE EXTENSION would fail with \"not allow-listed\". "
                       "Add it to the azure.extensions Configuration.", ext.urn)
        except UnknownValueError:
            continue


# no-plaintext-secrets -----------------------------------------------------------------------------

def no_plaintext_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in WORKLOADS:
        return
    for c in containers(args.props):
        for e in env_entries(c):
            value = known(lambda: e.get("value"))
            if not isinstance(value, str) or not value:
                continue
            if CREDENTIAL_ENV.search(e.get("name", "")) or URL_WITH_PASSWORD.match(value):
                report(f"container '{c.get('name')}' sets {e.get('name')} as a plain value; take it from a Secret "
                       "with valueFrom.secretKeyRef so it is not stored in the manifest.", None)


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
    pools: list[tuple[PolicyResource, Mapping[str, Any]]] = []
    for r in resources:
        if r.resource_type == AGENT_POOL:
            pools.append((r, r.props))
        elif r.resource_type == MANAGED_CLUSTER:
            pools += [(r, p) for p in known(lambda: r.props.get("agentPoolProfiles"), []) or []]
    return [(r, p) for r, p in pools if GPU_VM_SIZE.match(str(known(lambda: p.get("vmSize"), "")))]


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

    def tolerates(t: Mapping[str, Any]) -> bool:
        if t.get("effect") not in (None, "", effect):
            return False
        if t.get("operator") == "Exists":
            return t.get("key") in (None, "", key)
        return bool(t.get("key") == key and t.get("value") == value)

    if not any(tolerates(t) for t in tolerations):
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


# postgres-hardening -------------------------------------------------------------------------------

HARDENING_SCHEMA = PolicyConfigSchema(properties={
    "minBackupRetentionDays": {"type": "integer", "default": 7, "description": "Fewest days of backups."},
    "requireGeoRedundantBackup": {"type": "boolean", "default": False},
    "requireHighAvailability": {"type": "boolean", "default": False},
    "requireTls": {"type": "boolean", "default": True},
})


def postgres_hardening(args: ResourceValidationArgs, report: ReportViolation) -> None:
    config = with_defaults(HARDENING_SCHEMA, args.get_config())
    props = args.props
    if args.resource_type == SERVER:
        backup = known(lambda: props.get("backup"), None) or {}
        days = known(lambda: backup.get("backupRetentionDays"))
        if days is not None and int(days) < int(config["minBackupRetentionDays"]):
            report(f"backup retention is {days} days; this stack requires at least {config['minBackupRetentionDays']}.", None)
        if config["requireGeoRedundantBackup"] and known(lambda: backup.get("geoRedundantBackup"), "Enabled") != "Enabled":
            report("geo-redundant backup is off; this stack requires it (it can only be chosen when the server is created).", None)
        mode = known(lambda: (props.get("highAvailability") or {}).get("mode"), "ZoneRedundant")
        if config["requireHighAvailability"] and mode in (None, "Disabled"):
            report("high availability is Disabled; this stack requires ZoneRedundant or SameZone.", None)
    elif args.resource_type == FIREWALL_RULE:
        start, end = known(lambda: props.get("startIpAddress")), known(lambda: props.get("endIpAddress"))
        if start and end and int(ipaddress.IPv4Address(end)) - int(ipaddress.IPv4Address(start)) >= 2 ** 24:
            report(f"firewall rule {start}-{end} opens PostgreSQL to a large part of the internet; allow only the "
                   "addresses that need it.", None)
    elif args.resource_type == CONFIGURATION and config["requireTls"]:
        if props.get("configurationName") == "require_secure_transport" and str(known(lambda: props.get("value"), "ON")).upper() != "ON":
            report("require_secure_transport is off: clients could connect without TLS.", None)


# postgres-not-open-to-azure ------------------------------------------------------------------------

def postgres_not_open_to_azure(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != FIREWALL_RULE:
        return
    start, end = known(lambda: args.props.get("startIpAddress")), known(lambda: args.props.get("endIpAddress"))
    if start == end == "0.0.0.0":
        report("firewall rule 0.0.0.0-0.0.0.0 admits every address inside Azure, every other customer's VMs "
               "included: only the password protects the data. Admit the cluster's egress address instead "
               "(postgresNetwork public does) or take the server off the public network (postgresNetwork private).",
               None)


# redis-password -----------------------------------------------------------------------------------

REDIS_URL_ENV = ("REDIS_URL", "WEBSOCKET_REDIS_URL")


def redis_password(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in WORKLOADS:
        return
    for c in containers(args.props):
        words = [str(w) for w in list(c.get("command") or []) + list(c.get("args") or [])]
        if "redis" in str(c.get("image", "")).split("/")[-1] and "--requirepass" not in words:
            report(f"container '{c.get('name')}' runs Redis without --requirepass: any pod in the cluster can read "
                   "and write Open WebUI's websocket state. Require a password taken from a Secret.", None)
        for name, value in literal_env(c).items():
            if name in REDIS_URL_ENV and value and not URL_WITH_PASSWORD.match(value):
                report(f"container '{c.get('name')}' sets {name}={value} with no password; use a password-protected "
                       "Redis and take the URL from a Secret.", None)


# namespace-default-deny ---------------------------------------------------------------------------

def namespace_default_deny(args: StackValidationArgs, report: ReportViolation) -> None:
    namespaces = {str(known(lambda: metadata(r.props).get("namespace"), "")) for r in args.resources
                  if r.resource_type in WORKLOADS}
    namespaces = {n for n in namespaces if n and not n.startswith("kube-")}
    denying = set()
    for r in args.resources:
        if r.resource_type != NETWORK_POLICY:
            continue
        spec = known(lambda: r.props.get("spec"), {}) or {}
        selector = spec.get("podSelector") or {}
        if not selector.get("matchLabels") and not selector.get("matchExpressions") and \
                "Ingress" in (spec.get("policyTypes") or []) and not spec.get("ingress"):
            denying.add(str(known(lambda: metadata(r.props).get("namespace"), "")))
    for namespace in sorted(namespaces - denying):
        report(f"namespace '{namespace}' runs workloads with no default-deny ingress NetworkPolicy: every pod in the "
               "cluster can reach every one of them. Add one (podSelector: {}, policyTypes: [Ingress]) and allow "
               "only what must pass.", None)
    clusters = [r for r in args.resources if r.resource_type == MANAGED_CLUSTER]
    if denying and clusters:
        for cluster in clusters:
            engine = known(lambda: (cluster.props.get("networkProfile") or {}).get("networkPolicy"), "cilium")
            if engine in (None, "", "none"):
                report("the stack declares NetworkPolicies but its cluster has no network policy engine "
                       "(networkProfile.networkPolicy): nothing would enforce them. Use cilium (or calico).",
                       cluster.urn)


# no-privilege-escalation --------------------------------------------------------------------------

def no_privilege_escalation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in WORKLOADS:
        return
    for c in containers(args.props):
        context = known(lambda: c.get("securityContext"), {}) or {}
        if context.get("allowPrivilegeEscalation") is not False or context.get("privileged"):
            report(f"container '{c.get('name')}' may escalate privileges; set securityContext.allowPrivilegeEscalation: "
                   "false (and drop all capabilities).", None)


# open-webui-tls-only ------------------------------------------------------------------------------

def open_webui_tls_only(args: StackValidationArgs, report: ReportViolation) -> None:
    """Open WebUI's pods reachable from the internet only through TLS: no LoadBalancer or NodePort Service
    selects them, and every Ingress host routed to them has a certificate."""
    apps = [(str(known(lambda: metadata(r.props).get("namespace"), "")),
             known(lambda: (metadata((r.props.get("spec") or {}).get("template") or {}).get("labels")), {}) or {})
            for r in args.resources if r.resource_type in (DEPLOYMENT, STATEFUL_SET) and is_open_webui(r.props)]

    def selects_app(namespace: str, selector: Mapping[str, Any]) -> bool:
        return bool(selector) and any(ns == namespace and all(labels.get(k) == v for k, v in selector.items())
                                      for ns, labels in apps)

    app_services = set()
    for r in args.resources:
        if r.resource_type != SERVICE:
            continue
        namespace = str(known(lambda: metadata(r.props).get("namespace"), ""))
        spec = known(lambda: r.props.get("spec"), {}) or {}
        if not selects_app(namespace, spec.get("selector") or {}):
            continue
        app_services.add((namespace, str(known(lambda: metadata(r.props).get("name"), ""))))
        if spec.get("type") in ("LoadBalancer", "NodePort"):
            report(f"Service '{metadata(r.props).get('name')}' ({spec['type']}) puts Open WebUI on the network in "
                   "plain HTTP: passwords, API keys and session cookies cross it in clear text. Make it ClusterIP "
                   "and publish it through an Ingress with TLS (the stack's edge does).", r.urn)
    for r in args.resources:
        if r.resource_type != INGRESS:
            continue
        namespace = str(known(lambda: metadata(r.props).get("namespace"), ""))
        spec = known(lambda: r.props.get("spec"), {}) or {}
        secured = {h for t in spec.get("tls") or [] for h in t.get("hosts") or []}
        for rule in spec.get("rules") or []:
            backends = {(namespace, ((p.get("backend") or {}).get("service") or {}).get("name"))
                        for p in ((rule.get("http") or {}).get("paths") or [])}
            if backends & app_services and rule.get("host") not in secured:
                report(f"Ingress '{metadata(r.props).get('name')}' routes {rule.get('host') or 'any host'} to Open "
                       "WebUI without TLS for it; add the host to spec.tls with a certificate "
                       "(cert-manager.io/cluster-issuer makes one).", r.urn)


# monthly-budget -----------------------------------------------------------------------------------

RESOURCE_GROUP = "azure-native:resources:ResourceGroup"


def monthly_budget(args: StackValidationArgs, report: ReportViolation) -> None:
    """The estimated bill (components/cost.py) within the stack's monthlyBudgetUsd (its resource group's tag)."""
    budgets = [(r, known(lambda: (r.props.get("tags") or {}).get(BUDGET_TAG))) for r in args.resources
               if r.resource_type == RESOURCE_GROUP]
    budgets = [(r, float(b)) for r, b in budgets if b]
    if not budgets:
        return
    try:
        bill = estimate((r.name, r.resource_type, r.props) for r in args.resources)
    except UnknownValueError:
        return  # a size or SKU is known only after deployment
    for group, budget in budgets:
        if bill.high > budget:
            report(f"the estimated monthly bill is ${bill.low:,.2f}..${bill.high:,.2f} (list prices, {bill.region}, "
                   f"{bill.date}; `make plan` shows it line by line), above monthlyBudgetUsd ${budget:,.0f}. Lower "
                   "node counts or SKUs, or raise the budget.", group.urn)


# premium-files-size -------------------------------------------------------------------------------

PREMIUM_FILES_SCHEMA = PolicyConfigSchema(properties={
    "minimumGi": {"type": "integer", "default": 100,
                  "description": "Size a Premium (provisioned v1) share is billed at, at the least."},
})


def premium_files_size(args: StackValidationArgs, report: ReportViolation) -> None:
    minimum = int(with_defaults(PREMIUM_FILES_SCHEMA, args.get_config())["minimumGi"])
    classes = {metadata(r.props).get("name"): r for r in args.resources if r.resource_type == STORAGE_CLASS}
    for claim in (r for r in args.resources if r.resource_type == PVC):
        try:
            spec = claim.props.get("spec") or {}
            storage_class = classes.get(spec.get("storageClassName"))
            if storage_class is None or storage_class.props.get("provisioner") != "file.csi.azure.com":
                continue
            sku = (storage_class.props.get("parameters") or {}).get("skuName")
            size = str(((spec.get("resources") or {}).get("requests") or {}).get("storage", ""))
            match = re.fullmatch(r"(\d+)Gi", size)
            if sku in PREMIUM_V1_SKUS and match and int(match.group(1)) < minimum:
                report(f"{claim.name} asks for {size} of {sku}, which is billed as {minimum}Gi (the "
                       f"provisioned minimum): request {minimum}Gi and get the IOPS you pay for.", claim.urn)
        except UnknownValueError:
            continue


# workload-hygiene ---------------------------------------------------------------------------------

def workload_hygiene(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (DEPLOYMENT, STATEFUL_SET, DAEMON_SET):
        return
    for c in pod_spec(args.props).get("containers") or []:
        resources = known(lambda: c.get("resources"), {}) or {}
        missing = [k for k in ("requests", "limits") if not resources.get(k)]
        if args.resource_type != DAEMON_SET:
            missing += [p for p in ("readinessProbe", "livenessProbe") if not c.get(p)]
        if missing:
            report(f"container '{c.get('name')}' has no {', '.join(missing)}.", None)


POLICIES = [
    StackValidationPolicy(
        name="connection-budget", enforcement_level=EnforcementLevel.MANDATORY, validate=connection_budget,
        description="Peak PostgreSQL connections of the workloads never exceed what their server accepts.",
        config_schema=BUDGET_SCHEMA),
    StackValidationPolicy(
        name="multi-replica-shared-state", enforcement_level=EnforcementLevel.MANDATORY,
        validate=multi_replica_shared_state,
        description="Open WebUI with more than one replica keeps its state where replicas can share it."),
    StackValidationPolicy(
        name="extensions-allow-listed", enforcement_level=EnforcementLevel.MANDATORY, validate=extensions_allow_listed,
        description="Every PostgreSQL extension resource is in its server's azure.extensions allow list."),
    ResourceValidationPolicy(
        name="no-plaintext-secrets", enforcement_level=EnforcementLevel.MANDATORY, validate=no_plaintext_secrets,
        description="Credentials and keys in container env come from Secrets."),
    ResourceValidationPolicy(
        name="gpu-pools-tainted", enforcement_level=EnforcementLevel.MANDATORY, validate=gpu_pools_tainted,
        description="GPU (NC/ND/NV) node pools carry a NoSchedule taint."),
    StackValidationPolicy(
        name="gpu-capacity", enforcement_level=EnforcementLevel.MANDATORY, validate=gpu_capacity,
        description="GPU workloads at their peak fit the GPU pools at their largest (nodes x GPUs per VM).",
        config_schema=GPU_SCHEMA),
    ResourceValidationPolicy(
        name="gpu-pods-tolerate-taint", enforcement_level=EnforcementLevel.MANDATORY,
        validate=gpu_pods_tolerate_taint,
        description="Pods that ask for nvidia.com/gpu tolerate the GPU pools' taint."),
    StackValidationPolicy(
        name="gpu-pool-in-use", enforcement_level=EnforcementLevel.ADVISORY, validate=gpu_pool_in_use,
        description="A stack pays for a GPU pool only when one of its workloads asks for GPUs."),
    ResourceValidationPolicy(
        name="postgres-hardening", enforcement_level=EnforcementLevel.ADVISORY, validate=postgres_hardening,
        description="Backups, geo-redundancy, HA and TLS of PostgreSQL as this stack requires; no world-open firewall.",
        config_schema=HARDENING_SCHEMA),
    ResourceValidationPolicy(
        name="postgres-not-open-to-azure", enforcement_level=EnforcementLevel.ADVISORY,
        validate=postgres_not_open_to_azure,
        description="No PostgreSQL firewall rule admits all of Azure (0.0.0.0-0.0.0.0)."),
    ResourceValidationPolicy(
        name="redis-password", enforcement_level=EnforcementLevel.ADVISORY, validate=redis_password,
        description="Redis requires a password, and clients take its URL from a Secret."),
    StackValidationPolicy(
        name="namespace-default-deny", enforcement_level=EnforcementLevel.ADVISORY, validate=namespace_default_deny,
        description="Every namespace with workloads denies ingress by default, and the cluster enforces it."),
    ResourceValidationPolicy(
        name="no-privilege-escalation", enforcement_level=EnforcementLevel.ADVISORY, validate=no_privilege_escalation,
        description="No container may escalate its privileges."),
    StackValidationPolicy(
        name="connection-alert", enforcement_level=EnforcementLevel.ADVISORY, validate=connection_alert,
        description="Every PostgreSQL server alerts on active_connections before its capacity is reached.",
        config_schema=BUDGET_SCHEMA),
    StackValidationPolicy(
        name="monthly-budget", enforcement_level=EnforcementLevel.ADVISORY, validate=monthly_budget,
        description="The estimated monthly bill stays within the stack's monthlyBudgetUsd."),
    StackValidationPolicy(
        name="open-webui-tls-only", enforcement_level=EnforcementLevel.MANDATORY, validate=open_webui_tls_only,
        description="Open WebUI is reachable from outside the cluster only over TLS (no LoadBalancer/NodePort "
                    "Service for it; every Ingress host for it has a certificate)."),
    StackValidationPolicy(
        name="premium-files-size", enforcement_level=EnforcementLevel.ADVISORY, validate=premium_files_size,
        description="Premium (v1) Azure Files claims ask for at least the 100Gi they are billed for.",
        config_schema=PREMIUM_FILES_SCHEMA),
    ResourceValidationPolicy(
        name="workload-hygiene", enforcement_level=EnforcementLevel.ADVISORY, validate=workload_hygiene,
        description="Containers set requests, limits and probes."),
]
