"""The PostgreSQL policies: the connection budget (the program's own formula, components/connection_budget.py),
its alert, the extension allow list and the server's hardening."""

from __future__ import annotations

import ipaddress
from typing import Any, Mapping, Sequence

from pulumi_policy import (PolicyConfigSchema, PolicyResource, ReportViolation, ResourceValidationArgs,
                           StackValidationArgs)
from pulumi_policy.proxy import UnknownValueError

from components.connection_budget import (
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
from resources import (CONFIGURATION, EXTENSION, FIREWALL_RULE, HPA, SERVER, WORKLOADS, env_entries, known,
                       literal_env, metadata, peak_replicas, pod_spec, rolling_surge, with_defaults)

POOL_ENV = ("UVICORN_WORKERS", "DATABASE_POOL_SIZE", "DATABASE_POOL_MAX_OVERFLOW", "PGVECTOR_POOL_SIZE",
            "PGVECTOR_POOL_MAX_OVERFLOW", "VECTOR_DB", "ENABLE_DB_MIGRATIONS")
BUDGET_KNOBS = {"max_replicas": "the HPA's maxReplicas", "database_pool": "DATABASE_POOL_SIZE/DATABASE_POOL_MAX_OVERFLOW",
                "pgvector_pool": "PGVECTOR_POOL_SIZE/PGVECTOR_POOL_MAX_OVERFLOW", "sku": "the server's sku.name"}


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
                peak = peak_replicas(r, hpas)
                demand[server].append(Workload.from_env(r.name, peak, literal_env(c)))
                if surge := rolling_surge(r, peak):  # a rolling update runs these beside the peak
                    demand[server].append(Workload.from_env(f"{r.name}-surge", surge, literal_env(c)))
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

# postgres-hardening -------------------------------------------------------------------------------

HARDENING_SCHEMA = PolicyConfigSchema(properties={
    "requireGeoRedundantBackup": {"type": "boolean", "default": False},
    "requireHighAvailability": {"type": "boolean", "default": False},
    "requireTls": {"type": "boolean", "default": True},
})


def postgres_hardening(args: ResourceValidationArgs, report: ReportViolation) -> None:
    config = with_defaults(HARDENING_SCHEMA, args.get_config())
    props = args.props
    if args.resource_type == SERVER:
        backup = known(lambda: props.get("backup"), None) or {}
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
