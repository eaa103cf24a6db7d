"""The stack's configuration: read once (defaults live in Pulumi.yaml), validated before anything is declared.

Every problem is reported at once, each naming the config key, what would go wrong, and the fix.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta, timezone
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import pulumi
import yaml

from components.audit import RETENTION_DAYS as AUDIT_RETENTION_DAYS
from components.aks import DEVICE_PLUGIN_RESOURCES, POD_CIDR, AksSettings
from components.backup import FILES_MAX_DAILY_RETENTION, FilesBackupSettings
from components.capacity import CapacityCheck
from components.connection_budget import AZURE_RESERVED_CONNECTIONS, POSTGRES_SKUS, ConnectionBudget
from components.data_migration import RESOURCES as DATA_MIGRATION_RESOURCES, DataMigrationSettings
from components.entra_app import EntraSettings, SecretRotation
from components.edge import (CERT_MANAGER_PODS, CERT_MANAGER_RESOURCES, ISSUERS, TRAEFIK_REPLICAS, TRAEFIK_RESOURCES,
                             EdgeSettings)
from components.files_storage import FILES_SKUS, PREMIUM_MINIMUM_GI, FilesSettings
from components.network import NETWORK_MODES, NetworkSettings
from components.gpu_capacity import GPUS_PER_VM, GpuCapacity, GpuDemand, GpuPool
from components.node_capacity import CPU, MEMORY, VM_SIZES, NodeCapacity, NodePool, PodDemand, Resources
from components.ollama import GPUS_PER_POD, PULLER_RESOURCES, OllamaSettings, service_url
from components.open_webui import RESUME_RESOURCES, ROLLING_SURGE, OpenWebUISettings
from components.pg_extension import PgExtensionProvider
from components.pg_role import PgRoleProvider
from components.postgres import LIBRARY_ONLY, PRELOAD_LIBRARIES, FirewallRange, PostgresRestore, PostgresSettings
from components.redis import RESOURCES as REDIS_RESOURCES
from components.regions import region_error
from components.sign_in import AUTH_MODES, SignInSettings
from components.upgrade import unpinned

APP_NAME = "open-webui"
POSTGRES_NAME = "postgres"
OLLAMA_NAME = "ollama"
DATA_MIGRATION_NAME = "open-webui-data-migration"
DATA_CLAIM_NAME = "open-webui-data"
HA_MODES = ("Disabled", "SameZone", "ZoneRedundant")
VECTOR_DBS = ("pgvector", "chroma")
INDEX_METHODS = ("hnsw", "ivfflat")
OLLAMA_MODEL = r"[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?"
GO_DURATION = r"-?\d+|(\d+(\.\d+)?(ns|us|ms|s|m|h))+"
PGVECTOR_MAX_DIMENSIONS = 2000
HALFVEC_MAX_DIMENSIONS = 4000
ROOT = Path(__file__).resolve().parent.parent
"""The project: Pulumi.yaml and every stack's Pulumi.<stack>.yaml."""

# What the budget's and the GPU capacity's fixes call each knob in this program's config.
BUDGET_KEYS = {"max_replicas": "maxReplicas", "database_pool": "databasePoolSize/databasePoolMaxOverflow",
               "pgvector_pool": "pgvectorPoolSize/pgvectorPoolMaxOverflow", "sku": "postgresSku"}
GPU_KEYS = {"replicas": "ollamaReplicas", "max_nodes": "gpuMaxCount (gpuNodeCount without autoscaling)",
            "vm_size": "gpuVmSize"}
SYSTEM_POOL_KEYS = {"replicas": "maxReplicas", "max_nodes": "aksSystemNodeCount", "vm_size": "aksSystemVmSize"}


class ConfigError(pulumi.RunError):
    """Bad configuration. A RunError: Pulumi prints the message without a stack trace."""


@dataclass(frozen=True)
class StackSettings:
    location: str
    protect: bool
    alert_email: str
    audit_retention_days: int
    defender: bool
    monthly_budget_usd: int
    network: NetworkSettings
    namespace: str
    redis_image: str
    postgres: PostgresSettings
    aks: AksSettings
    files: FilesSettings
    files_backup: FilesBackupSettings
    webui: OpenWebUISettings
    edge: EdgeSettings
    ollama: Optional[OllamaSettings]
    """None when ollamaEnabled is false."""
    migration: Optional[DataMigrationSettings]
    """None unless migrateFrom names an old Open WebUI's claim."""

    def connection_budget(self) -> ConnectionBudget:
        migration = (self.migration.workload(DATA_MIGRATION_NAME),) if self.migration else ()
        return ConnectionBudget(server=POSTGRES_NAME, max_connections=self.postgres.sku.default_max_connections,
                                reserved=AZURE_RESERVED_CONNECTIONS,
                                workloads=self.webui.workloads(APP_NAME) + migration)

    @property
    def app_workloads(self) -> tuple[str, str]:
        """The workloads that connect as the app role: the replicas at the peak, and the surge pod."""
        return APP_NAME, f"{APP_NAME}-surge"

    def role_limits(self) -> dict[str, int]:
        """Each role the stack makes, with its CONNECTION LIMIT: its share of the connection budget."""
        return {self.postgres.app_role: self.connection_budget().share(self.app_workloads)}

    def gpu_capacity(self) -> Optional[GpuCapacity]:
        """Ollama's GPUs against the GPU pool at its largest; None without Ollama."""
        if self.ollama is None:
            return None
        pool = GpuPool(self.aks.gpu_vm_size, GPUS_PER_VM[self.aks.gpu_vm_size], self.aks.gpu_max_nodes)
        return GpuCapacity(pools=(pool,), demands=(GpuDemand(OLLAMA_NAME, self.ollama.replicas, GPUS_PER_POD),))

    def node_capacity(self) -> tuple[NodeCapacity, ...]:
        """Every pod's requests at the peak against its pool at its largest: the system pool, then the GPU pool."""
        app = Resources.parse(self.webui.cpu_request, self.webui.memory_request)
        system = [PodDemand(APP_NAME, self.webui.max_replicas, app, scalable=True),
                  PodDemand(f"{APP_NAME}-surge", ROLLING_SURGE, app),
                  PodDemand(f"{APP_NAME}-migrate Job", 1, app),
                  PodDemand(f"{APP_NAME}-resume Job", 1, Resources.requested(RESUME_RESOURCES)),
                  PodDemand("redis", 1, Resources.requested(REDIS_RESOURCES)),
                  PodDemand("traefik", TRAEFIK_REPLICAS, Resources.requested(TRAEFIK_RESOURCES)),
                  PodDemand("cert-manager", len(CERT_MANAGER_PODS), Resources.requested(CERT_MANAGER_RESOURCES))]
        if self.migration:
            system.append(PodDemand(f"{DATA_MIGRATION_NAME} Job", 1, Resources.requested(DATA_MIGRATION_RESOURCES)))
        pools = [NodeCapacity(NodePool(self.aks.system_vm_size, self.aks.system_node_count, system=True),
                              tuple(system))]
        if self.aks.gpu_pool:
            gpu = [PodDemand("nvidia-device-plugin", 1, Resources.requested(DEVICE_PLUGIN_RESOURCES), per_node=True)]
            if self.ollama:
                pod = Resources.parse(self.ollama.cpu_request, self.ollama.memory_request) + Resources.requested(
                    PULLER_RESOURCES)
                gpu.insert(0, PodDemand(OLLAMA_NAME, self.ollama.replicas, pod, scalable=True))
            pools.append(NodeCapacity(NodePool(self.aks.gpu_vm_size, self.aks.gpu_max_nodes, system=False),
                                      tuple(gpu)))
        return tuple(pools)

    def capacity(self) -> list[CapacityCheck]:
        """The capacity family, in the order the plan prints it."""
        gpus = self.gpu_capacity()
        system, *gpu_pool = self.node_capacity()
        return [CapacityCheck(f"connection budget (PostgreSQL server '{POSTGRES_NAME}')", self.connection_budget(),
                              BUDGET_KEYS),
                *([CapacityCheck("GPU capacity (Ollama on the GPU pool)", gpus, GPU_KEYS)] if gpus else []),
                CapacityCheck("node capacity (system pool)", system, SYSTEM_POOL_KEYS),
                *(CapacityCheck("node capacity (GPU pool)", pool, GPU_KEYS) for pool in gpu_pool)]


RETIRED = {
    "migrateAllowSqlite": "With migrateFrom, a SQLite webui.db in the old data directory is now carried into "
                          "PostgreSQL (users, chats, settings) and verified before anything else, so there is nothing "
                          "left to allow (README, 'Migrating an existing Open WebUI').",
}
"""Keys a stack may still set from an earlier release of this program, and why they went."""


def load(config: pulumi.Config) -> StackSettings:
    """Reads and validates the stack's config; raises ConfigError listing every problem."""
    errors: list[str] = []

    def read(key: str, reader: Callable[[str], Any]) -> Any:
        try:
            return reader(key)
        except pulumi.ConfigTypeError as e:
            errors.append(f"{key}: {e}")
        except pulumi.ConfigMissingError:
            errors.append(f"{key}: missing. Declare it in Pulumi.yaml's config schema or `pulumi config set {key}`.")
        return None

    s = {key: read(key, config.require) for key in (
        "location", "postgresSku", "postgresHighAvailability", "postgresAdminLogin", "postgresAppRole", "postgresDatabase",
        "aksKubernetesVersion", "aksSystemVmSize", "gpuVmSize", "nvidiaDevicePluginImage", "filesSku", "image",
        "cpuRequest", "memoryRequest", "cpuLimit", "memoryLimit", "vectorDb", "pgvectorIndexMethod",
        "embeddingModel", "redisImage", "ollamaBaseUrl", "namespace", "ollamaImage", "ollamaKeepAlive",
        "ollamaCpuRequest", "ollamaMemoryRequest", "ollamaCpuLimit", "ollamaMemoryLimit", "ollamaModelPullerImage",
        "migrateFrom", "postgresNetwork", "vnetCidr", "aksSubnetCidr", "postgresSubnetCidr", "dnsLabel", "hostname",
        "acmeIssuer", "acmeEmail", "alertEmail", "postgresRestoreFrom", "postgresRestorePointInTime", "auth",
        "adminEmail", "entraTenantId", "entraClientId")}
    n = {key: read(key, config.require_int) for key in (
        "postgresStorageGb", "postgresBackupRetentionDays", "aksSystemNodeCount", "gpuNodeCount", "gpuMinCount",
        "gpuMaxCount", "filesSizeGi", "minReplicas", "maxReplicas", "cpuTargetPercent", "uvicornWorkers",
        "databasePoolSize", "databasePoolMaxOverflow", "databasePoolTimeout", "databasePoolRecycle",
        "pgvectorPoolSize", "pgvectorPoolMaxOverflow", "pgvectorMaxVectorLength", "ollamaReplicas", "ollamaDiskGi",
        "ollamaNumParallel", "ollamaMaxLoadedModels", "monthlyBudgetUsd", "filesBackupRetentionDays",
        "entraSecretRotationDays", "auditRetentionDays")}
    b = {key: read(key, config.require_bool) for key in (
        "protect", "postgresGeoRedundantBackup", "gpuAutoscaling", "pgvectorUseHalfvec", "ollamaEnabled",
        "gpuPoolWithoutOllama", "aksLocalAccounts", "defenderEnabled", "edgeEnabled")}
    errors += [f"{key}: retired. {why} Remove it: `pulumi config rm {key}`." for key, why in RETIRED.items()
               if config.get(key) is not None]
    lists = {key: read(key, config.require_object) for key in (
        "postgresExtensions", "postgresPreloadedLibraries", "postgresFirewallRules", "ollamaModels",
        "entraAdminGroups", "entraUserGroups", "aksAuthorizedIpRanges")}
    # a secret has no default in Pulumi.yaml's schema: absent unless a deployer brings their own registration
    entra_client_secret = config.get_secret("entraClientSecret")
    if errors:
        raise ConfigError(_report(errors))

    for key in lists:
        if not isinstance(lists[key], list) or not all(isinstance(x, str) for x in lists[key]):
            errors.append(f"{key}: must be a list of strings, e.g. `pulumi config set --path '{key}[0]' value`.")
    if errors:
        raise ConfigError(_report(errors))

    if problem := region_error(s["location"]):
        errors.append(problem)
    errors += _check_postgres(s, n, lists)
    errors += _check_restore(s, pulumi.get_stack(), datetime.now(timezone.utc))
    errors += _check_network(s, lists)
    errors += _check_edge(s)
    errors += _check_sign_in(s, n, lists, has_client_secret=entra_client_secret is not None)
    low, high = AUDIT_RETENTION_DAYS
    if not low <= n["auditRetentionDays"] <= high:
        errors.append(f"auditRetentionDays: {n['auditRetentionDays']} is outside Log Analytics' {low}..{high} days.")
    if n["monthlyBudgetUsd"] < 0:
        errors.append(f"monthlyBudgetUsd: {n['monthlyBudgetUsd']} is negative; 0 means no budget.")
    errors += _check_cluster(s, n, b)
    errors += _check_app(s, n, b, lists)
    if b["ollamaEnabled"]:
        errors += _check_ollama(s, n, lists)
    if s["migrateFrom"]:
        errors += _check_migration(s)
    if errors:
        raise ConfigError(_report(errors))

    dns_label = s["dnsLabel"] or default_dns_label(pulumi.get_stack())
    edge = EdgeSettings(hostname=s["hostname"] or f"{dns_label}.{s['location']}.cloudapp.azure.com",
                        dns_label=dns_label, acme_issuer=s["acmeIssuer"], acme_email=s["acmeEmail"],
                        enabled=b["edgeEnabled"])
    ollama_urls = ((service_url(s["namespace"]),) if b["ollamaEnabled"] else ()) + (
        (s["ollamaBaseUrl"],) if s["ollamaBaseUrl"] else ())

    settings = StackSettings(
        location=s["location"], protect=b["protect"], alert_email=s["alertEmail"],
        audit_retention_days=n["auditRetentionDays"], defender=b["defenderEnabled"],
        monthly_budget_usd=n["monthlyBudgetUsd"], namespace=s["namespace"], redis_image=s["redisImage"],
        network=NetworkSettings(mode=s["postgresNetwork"], vnet_cidr=s["vnetCidr"], aks_subnet_cidr=s["aksSubnetCidr"],
                                postgres_subnet_cidr=s["postgresSubnetCidr"]),
        postgres=PostgresSettings(
            sku=POSTGRES_SKUS[s["postgresSku"]], storage_gb=n["postgresStorageGb"],
            backup_retention_days=n["postgresBackupRetentionDays"], geo_redundant_backup=b["postgresGeoRedundantBackup"],
            high_availability=s["postgresHighAvailability"], admin_login=s["postgresAdminLogin"],
            app_role=s["postgresAppRole"],
            database=s["postgresDatabase"], extensions=tuple(lists["postgresExtensions"]),
            firewall_rules=tuple(_firewall_range(r) for r in lists["postgresFirewallRules"]),
            private=s["postgresNetwork"] == "private",
            restore=PostgresRestore(s["postgresRestoreFrom"], s["postgresRestorePointInTime"])
            if s["postgresRestoreFrom"] else None),
        aks=AksSettings(
            kubernetes_version=s["aksKubernetesVersion"], system_vm_size=s["aksSystemVmSize"],
            system_node_count=n["aksSystemNodeCount"], gpu_pool=b["ollamaEnabled"] or b["gpuPoolWithoutOllama"],
            gpu_vm_size=s["gpuVmSize"], gpu_autoscaling=b["gpuAutoscaling"],
            gpu_node_count=n["gpuNodeCount"], gpu_min_count=n["gpuMinCount"], gpu_max_count=n["gpuMaxCount"],
            nvidia_device_plugin_image=s["nvidiaDevicePluginImage"], local_accounts=b["aksLocalAccounts"],
            authorized_ip_ranges=tuple(lists["aksAuthorizedIpRanges"]), private_cluster=s["postgresNetwork"] == "private"),
        files=FilesSettings(sku=s["filesSku"], size_gi=n["filesSizeGi"]),
        files_backup=FilesBackupSettings(retention_days=n["filesBackupRetentionDays"]),
        webui=OpenWebUISettings(
            image=s["image"], min_replicas=n["minReplicas"], max_replicas=n["maxReplicas"],
            cpu_target_percent=n["cpuTargetPercent"], cpu_request=s["cpuRequest"], memory_request=s["memoryRequest"],
            cpu_limit=s["cpuLimit"], memory_limit=s["memoryLimit"], uvicorn_workers=n["uvicornWorkers"],
            database_pool_size=n["databasePoolSize"], database_pool_max_overflow=n["databasePoolMaxOverflow"],
            database_pool_timeout=n["databasePoolTimeout"], database_pool_recycle=n["databasePoolRecycle"],
            vector_db=s["vectorDb"], pgvector_pool_size=n["pgvectorPoolSize"],
            pgvector_pool_max_overflow=n["pgvectorPoolMaxOverflow"],
            pgvector_max_vector_length=n["pgvectorMaxVectorLength"], pgvector_use_halfvec=b["pgvectorUseHalfvec"],
            pgvector_index_method=s["pgvectorIndexMethod"], embedding_model=s["embeddingModel"],
            ollama_base_urls=ollama_urls, public_url=edge.url, trusted_proxies=POD_CIDR,
            sign_in=SignInSettings(admin_email=s["adminEmail"], public_url=edge.url, entra=EntraSettings(
                tenant_id=s["entraTenantId"], client_id=s["entraClientId"], client_secret=entra_client_secret,
                admin_groups=tuple(lists["entraAdminGroups"]), user_groups=tuple(lists["entraUserGroups"]),
                rotation=SecretRotation.of(datetime.now(timezone.utc).date(), n["entraSecretRotationDays"])) if s["auth"] == "entra"
                else None)),
        edge=edge,
        ollama=OllamaSettings(
            image=s["ollamaImage"], replicas=n["ollamaReplicas"], models=tuple(lists["ollamaModels"]),
            disk_gi=n["ollamaDiskGi"], keep_alive=s["ollamaKeepAlive"], num_parallel=n["ollamaNumParallel"],
            max_loaded_models=n["ollamaMaxLoadedModels"], cpu_request=s["ollamaCpuRequest"],
            memory_request=s["ollamaMemoryRequest"], cpu_limit=s["ollamaCpuLimit"], memory_limit=s["ollamaMemoryLimit"],
            puller_image=s["ollamaModelPullerImage"]) if b["ollamaEnabled"] else None,
        migration=DataMigrationSettings(source_claim=s["migrateFrom"].partition("/")[2]) if s["migrateFrom"] else None,
    )
    errors += [e for check in settings.capacity() if (e := check.error())]
    if errors:
        raise ConfigError(_report(errors))
    return settings


def _report(errors: list[str]) -> str:
    return "invalid stack configuration:\n" + "\n".join(f"- {e}" for e in errors)


def _firewall_range(rule: str) -> FirewallRange:
    start, _, end = rule.partition("-")
    return FirewallRange(start.strip(), (end or start).strip())


def _check_postgres(s: dict[str, Any], n: dict[str, Any], lists: dict[str, Any]) -> list[str]:
    errors = []
    sku = POSTGRES_SKUS.get(s["postgresSku"])
    if sku is None:
        errors.append(f"postgresSku: {s['postgresSku']!r} is not a SKU this program knows the connection limit of; "
                      f"use one of {', '.join(POSTGRES_SKUS)}.")
    if s["postgresHighAvailability"] not in HA_MODES:
        errors.append(f"postgresHighAvailability: {s['postgresHighAvailability']!r} must be one of {', '.join(HA_MODES)}.")
    elif sku and sku.tier == "Burstable" and s["postgresHighAvailability"] != "Disabled":
        errors.append(f"postgresHighAvailability: Azure offers no high availability on the Burstable tier "
                      f"({sku.name}); choose a GeneralPurpose postgresSku or set it to Disabled.")
    if not 7 <= n["postgresBackupRetentionDays"] <= 35:
        errors.append(f"postgresBackupRetentionDays: {n['postgresBackupRetentionDays']} is outside Azure's 7..35 days.")
    if not 32 <= n["postgresStorageGb"] <= 32768:
        errors.append(f"postgresStorageGb: {n['postgresStorageGb']} is outside Azure's 32..32768 GiB.")
    if not re.match(r"^[a-z_][a-z0-9_]{0,62}$", s["postgresDatabase"]):
        errors.append(f"postgresDatabase: {s['postgresDatabase']!r} must be a lower-case identifier such as 'openwebui'.")
    if not re.match(r"^[a-z][a-z0-9_]{0,62}$", s["postgresAdminLogin"]) or s["postgresAdminLogin"] in (
            "admin", "administrator", "root", "postgres", "azure_superuser", "azure_pg_admin", "guest", "public"):
        errors.append(f"postgresAdminLogin: {s['postgresAdminLogin']!r} is not allowed by Azure; use a lower-case "
                      "name that is not reserved (admin, root, postgres, ...), e.g. 'openwebuiadmin'.")
    if not re.match(PgRoleProvider.ROLE_PATTERN, s["postgresAppRole"]) or s["postgresAppRole"] in (
            s["postgresAdminLogin"], "postgres", "public") or s["postgresAppRole"].startswith(("pg_", "azure")):
        errors.append(f"postgresAppRole: {s['postgresAppRole']!r} must be a lower-case identifier of its own, neither "
                      "the admin login nor a reserved name (pg_*, azure*, postgres, public), e.g. 'openwebui_app'; "
                      "the replicas would otherwise connect with the admin's rights.")
    for ext in lists["postgresExtensions"]:
        if not re.match(PgExtensionProvider.NAME_PATTERN, ext):
            errors.append(f"postgresExtensions: {ext!r} is not an extension name (lower case, e.g. 'vector').")
    errors += _check_preload(lists["postgresExtensions"], lists["postgresPreloadedLibraries"])
    if s["vectorDb"] == "pgvector" and "vector" not in lists["postgresExtensions"]:
        errors.append("postgresExtensions: must include 'vector' while vectorDb is pgvector, or Open WebUI "
                      "cannot create its document_chunk table.")
    for rule in lists["postgresFirewallRules"]:
        try:
            r = _firewall_range(rule)
            start, end = ipaddress.IPv4Address(r.start), ipaddress.IPv4Address(r.end)
        except ValueError:
            errors.append(f"postgresFirewallRules: {rule!r} is not an IPv4 range 'start-end' (or one address).")
            continue
        if start > end:
            errors.append(f"postgresFirewallRules: {rule!r} starts after it ends.")
        elif int(end) - int(start) >= 2 ** 24:
            errors.append(f"postgresFirewallRules: {rule!r} opens the server to a large part of the internet "
                          "(0.0.0.0-255.255.255.255 is the whole of it); allow only the addresses that need it "
                          "(the cluster's egress address is admitted already).")
    return errors


def _check_restore(s: dict[str, Any], stack: str, now: datetime) -> list[str]:
    """postgresRestoreFrom/postgresRestorePointInTime: another stack of this project, a time within its backups.
    The restored server holds the source's data directory, roles included: its admin login is the source's."""
    source, when = s["postgresRestoreFrom"], s["postgresRestorePointInTime"]
    if not source and not when:
        return []
    if not source or not when:
        return ["postgresRestoreFrom/postgresRestorePointInTime: set both (the stack to restore from and the UTC "
                "time to restore to), or neither."]
    if source == stack:
        return [f"postgresRestoreFrom: {source!r} is this stack: a restore makes a new server, so restoring a stack "
                "into itself would replace the very server it restores from. Restore into a new stack "
                f"(`pulumi stack init {stack}-restore`), check it with `make verify`, then move users to it "
                "(README, Backups and restores)."]
    try:
        source_config = stack_settings(source)
    except FileNotFoundError:
        return [f"postgresRestoreFrom: no stack {source!r} in this project (no Pulumi.{source}.yaml); name the stack "
                "whose server to restore, such as prod."]
    errors: list[str] = []
    try:
        point = datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return errors + [f"postgresRestorePointInTime: {when!r} is not a UTC time as RFC 3339, such as "
                         f"{(now - timedelta(hours=1)):%Y-%m-%dT%H:%M:00Z}."]
    retention = int(source_config["postgresBackupRetentionDays"])
    earliest = now - timedelta(days=retention)
    if point > now:
        errors.append(f"postgresRestorePointInTime: {when} is in the future; the latest is now ({now:%Y-%m-%dT%H:%M:%SZ}).")
    elif point < earliest:
        errors.append(f"postgresRestorePointInTime: {when} is older than {source}'s {retention} days of backups "
                      f"(postgresBackupRetentionDays): the earliest is {earliest:%Y-%m-%dT%H:%M:00Z}.")
    if source_config["postgresAdminLogin"] != s["postgresAdminLogin"]:
        errors.append(f"postgresAdminLogin: the restored server keeps {source}'s roles, so its admin login is "
                      f"{source_config['postgresAdminLogin']!r}; set postgresAdminLogin to it.")
    if source_config["location"] != s["location"]:
        errors.append(f"location: a point-in-time restore stays in the source's region; {source} is in "
                      f"{source_config['location']}, set location to it.")
    return errors


def stack_settings(stack: str) -> dict[str, Any]:
    """Another stack's config by bare key, its Pulumi.<stack>.yaml over Pulumi.yaml's defaults (FileNotFoundError
    when it has no file)."""
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    own = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text()).get("config") or {}
    prefix = f"{project['name']}:"
    return {**{k: v["default"] for k, v in project["config"].items()},
            **{k[len(prefix):]: v for k, v in own.items() if k.startswith(prefix)}}


def _check_preload(extensions: list[str], preloaded: list[str]) -> list[str]:
    errors = []
    for ext in extensions:
        if ext in LIBRARY_ONLY:
            instead = LIBRARY_ONLY[ext]
            errors.append(f"postgresExtensions: {ext!r} is a library loaded at server start, not an extension; "
                          + (f"list {instead!r} here and {ext!r} in postgresPreloadedLibraries." if instead else
                             "it needs no CREATE EXTENSION: remove it, and load it through shared_preload_libraries."))
        elif ext in PRELOAD_LIBRARIES and PRELOAD_LIBRARIES[ext] not in preloaded:
            library = PRELOAD_LIBRARIES[ext]
            errors.append(f"postgresExtensions: {ext!r} needs its library {library!r} loaded at server start, or "
                          f"CREATE EXTENSION fails after the server exists. Add {library!r} to the server's "
                          f"shared_preload_libraries (a static parameter: `az postgres flexible-server parameter set "
                          f"--name shared_preload_libraries --value <current>,{library}`, then `az postgres "
                          f"flexible-server restart`), then list it in postgresPreloadedLibraries.")
    return errors


def _check_cluster(s: dict[str, Any], n: dict[str, Any], b: dict[str, Any]) -> list[str]:
    errors = []
    if n["aksSystemNodeCount"] < 1:
        errors.append("aksSystemNodeCount: needs at least 1 node (2 or more to spread replicas).")
    if b["gpuAutoscaling"]:
        if n["gpuMinCount"] < 0 or n["gpuMinCount"] > n["gpuMaxCount"]:
            errors.append(f"gpuMinCount/gpuMaxCount: {n['gpuMinCount']}..{n['gpuMaxCount']} is not a range; "
                          "gpuMinCount must be 0 or more and at most gpuMaxCount.")
        if n["gpuMaxCount"] < 1:
            errors.append("gpuMaxCount: must be at least 1 or the GPU pool can never run a node.")
    elif n["gpuNodeCount"] < 0:
        errors.append(f"gpuNodeCount: {n['gpuNodeCount']} is negative.")
    if s["aksSystemVmSize"] not in VM_SIZES or s["aksSystemVmSize"] in GPUS_PER_VM:
        errors.append(f"aksSystemVmSize: {s['aksSystemVmSize']!r} is not a size whose CPU and memory this program "
                      f"knows; use one of {', '.join(v for v in VM_SIZES if v not in GPUS_PER_VM)} (or add it to "
                      "components/node_capacity.py VM_SIZES).")
    if s["gpuVmSize"] not in GPUS_PER_VM:
        errors.append(f"gpuVmSize: {s['gpuVmSize']!r} is not a GPU size whose GPUs per VM this program knows; use one "
                      f"of {', '.join(GPUS_PER_VM)} (or add it to components/gpu_capacity.py).")
    if not 1 <= n["filesBackupRetentionDays"] <= FILES_MAX_DAILY_RETENTION:
        errors.append(f"filesBackupRetentionDays: {n['filesBackupRetentionDays']} is outside Azure Backup's "
                      f"1..{FILES_MAX_DAILY_RETENTION} daily snapshots of a share.")
    if s["filesSku"] not in FILES_SKUS:
        errors.append(f"filesSku: {s['filesSku']!r} must be one of {', '.join(FILES_SKUS)} "
                      "(Standard shares are too slow for the shared model cache).")
    elif FilesSettings(s["filesSku"], n["filesSizeGi"]).premium_v1 and n["filesSizeGi"] < PREMIUM_MINIMUM_GI:
        errors.append(f"filesSizeGi: {n['filesSizeGi']} GiB on {s['filesSku']} is billed as {PREMIUM_MINIMUM_GI} GiB "
                      f"(the provisioned minimum); request at least {PREMIUM_MINIMUM_GI}.")
    return errors


def _check_quantities(s: dict[str, Any], prefix: str) -> list[str]:
    errors = []
    # the grammar node_capacity.py reads the requests with
    for key, pattern, example in (("cpuRequest", CPU, "100m"), ("cpuLimit", CPU, "2"),
                                  ("memoryRequest", MEMORY, "256Mi"), ("memoryLimit", MEMORY, "2Gi")):
        key = f"{prefix}{key[0].upper()}{key[1:]}" if prefix else key
        if not pattern.fullmatch(s[key]):
            errors.append(f"{key}: {s[key]!r} is not a Kubernetes quantity such as {example!r}.")
    return errors


DNS_LABEL = re.compile(r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$")
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def default_dns_label(stack: str) -> str:
    return f"openwebui-{re.sub(r'[^a-z0-9-]', '-', stack.lower())}"


def _check_edge(s: dict[str, Any]) -> list[str]:
    errors = []
    label = s["dnsLabel"] or default_dns_label(pulumi.get_stack())
    if not DNS_LABEL.match(label):
        errors.append(f"dnsLabel: {label!r} is not an Azure DNS label (3-63 lowercase letters, digits and hyphens, "
                      "starting with a letter); the site's default hostname is built from it.")
    if s["hostname"] and not HOSTNAME.match(s["hostname"]):
        errors.append(f"hostname: {s['hostname']!r} is not a fully qualified lowercase DNS name such as "
                      "'chat.example.com' (no scheme, port or path); the certificate is issued for exactly this name.")
    if s["acmeIssuer"] not in ISSUERS:
        errors.append(f"acmeIssuer: {s['acmeIssuer']!r} must be one of {', '.join(ISSUERS)} (staging certificates "
                      "are untrusted by browsers; production's rate limits are strict).")
    for key in ("acmeEmail", "alertEmail"):
        if s[key] and not EMAIL.match(s[key]):
            errors.append(f"{key}: {s[key]!r} is not an email address; leave it empty for none.")
    return errors


GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ROTATION_DAYS = (30, 365)
"""At most a year, so a secret (valid two periods) lives within the two years Entra advises."""


def _check_sign_in(s: dict[str, Any], n: dict[str, Any], lists: dict[str, Any], has_client_secret: bool) -> list[str]:
    if s["auth"] not in AUTH_MODES:
        return [f"auth: {s['auth']!r} must be one of {', '.join(AUTH_MODES)}."]
    if s["auth"] == "password":
        if not EMAIL.match(s["adminEmail"]):
            return [f"adminEmail: {s['adminEmail'] or '(empty)'} is not an e-mail address. With auth password the "
                    "stack makes this admin at deploy; without one, the first visitor to the public address would "
                    "become admin. `pulumi config set adminEmail you@example.com` (or auth entra)."]
        return []
    errors = []
    if not GUID.match(s["entraTenantId"]):
        errors.append(f"entraTenantId: {s['entraTenantId'] or '(empty)'} is not a directory (tenant) ID; Entra "
                      "sign-in needs it (Entra admin center, Overview, Tenant ID): `pulumi config set entraTenantId "
                      "<guid>`.")
    groups = [(key, g) for key in ("entraAdminGroups", "entraUserGroups") for g in lists[key]]
    errors += [f"{key}: {g!r} is not a group's object ID (a GUID)." for key, g in groups if not GUID.match(g)]
    if s["entraClientId"]:
        if not GUID.match(s["entraClientId"]):
            errors.append(f"entraClientId: {s['entraClientId']!r} is not an application (client) ID (a GUID).")
        if not has_client_secret:
            errors.append("entraClientSecret: missing. With your own registration (entraClientId) the replicas need "
                          "its client secret: `pulumi config set --secret entraClientSecret <value>`.")
        if groups:
            errors.append("entraAdminGroups/entraUserGroups: the program assigns roles only in a registration it "
                          "makes; with entraClientId, assign the admin and user app roles in your registration "
                          "(Enterprise applications, Users and groups) and remove these keys.")
    else:
        if not lists["entraAdminGroups"]:
            errors.append("entraAdminGroups: empty, so nobody would administer Open WebUI (no sign-in is admin by "
                          "arriving first). `pulumi config set --path 'entraAdminGroups[0]' <group object id>`.")
        low, high = ROTATION_DAYS
        if not low <= n["entraSecretRotationDays"] <= high:
            errors.append(f"entraSecretRotationDays: {n['entraSecretRotationDays']} is outside {low}..{high}; the "
                          "secret lives two periods, and Entra advises under two years.")
    return errors


def _check_app(s: dict[str, Any], n: dict[str, Any], b: dict[str, Any], lists: dict[str, Any]) -> list[str]:
    errors = []
    if unpinned(s["image"]):
        errors.append(f"image: {s['image']!r} has no pinned tag; a moving tag lets replicas run different versions "
                      "and skips the per-tag migration Job. Use a release tag such as ghcr.io/open-webui/open-webui:v0.12.4.")
    errors += _check_quantities(s, "")
    if n["minReplicas"] < 1:
        errors.append(f"minReplicas: {n['minReplicas']} must be at least 1.")
    if n["minReplicas"] > n["maxReplicas"]:
        errors.append(f"minReplicas/maxReplicas: min {n['minReplicas']} is above max {n['maxReplicas']}; "
                      "the HPA would refuse it.")
    if not 1 <= n["cpuTargetPercent"] <= 100:
        errors.append(f"cpuTargetPercent: {n['cpuTargetPercent']} must be a percentage from 1 to 100.")
    if n["uvicornWorkers"] < 1:
        errors.append(f"uvicornWorkers: {n['uvicornWorkers']} must be at least 1.")
    for key in ("databasePoolSize", "pgvectorPoolSize"):
        if n[key] == 0:
            errors.append(f"{key}: 0 makes SQLAlchemy use a NullPool, one connection per concurrent use with no "
                          "upper bound, so no connection budget can hold; set a size of 1 or more.")
    for key in ("databasePoolSize", "databasePoolMaxOverflow", "pgvectorPoolSize", "pgvectorPoolMaxOverflow",
                "databasePoolTimeout", "databasePoolRecycle"):
        if n[key] < 0:
            errors.append(f"{key}: {n[key]} is negative.")
    if s["vectorDb"] not in VECTOR_DBS:
        errors.append(f"vectorDb: {s['vectorDb']!r} must be one of {', '.join(VECTOR_DBS)}.")
    elif s["vectorDb"] == "chroma" and n["maxReplicas"] > 1:
        errors.append(f"vectorDb: chroma keeps its vectors in SQLite on the shared volume, whose locking breaks on "
                      f"SMB with {n['maxReplicas']} replicas writing; use pgvector, or set maxReplicas to 1.")
    if s["pgvectorIndexMethod"] not in INDEX_METHODS:
        errors.append(f"pgvectorIndexMethod: {s['pgvectorIndexMethod']!r} must be one of {', '.join(INDEX_METHODS)}.")
    length = n["pgvectorMaxVectorLength"]
    if length < 1:
        errors.append(f"pgvectorMaxVectorLength: {length} must be the embedding model's dimension (384 for all-MiniLM-L6-v2).")
    elif length > PGVECTOR_MAX_DIMENSIONS and not b["pgvectorUseHalfvec"]:
        errors.append(f"pgvectorMaxVectorLength: {length} dimensions cannot be indexed as pgvector's vector type "
                      f"(at most {PGVECTOR_MAX_DIMENSIONS}); set pgvectorUseHalfvec to true (up to {HALFVEC_MAX_DIMENSIONS}).")
    elif length > HALFVEC_MAX_DIMENSIONS:
        errors.append(f"pgvectorMaxVectorLength: {length} dimensions exceed halfvec's index limit of {HALFVEC_MAX_DIMENSIONS}.")
    if not s["embeddingModel"].strip():
        errors.append("embeddingModel: empty; Open WebUI would start with no model to embed documents or queries, and "
                      "every upload and retrieval would fail. Set a sentence-transformers model, e.g. "
                      "sentence-transformers/all-MiniLM-L6-v2 (384 dimensions: pgvectorMaxVectorLength).")
    if s["ollamaBaseUrl"] and not re.match(r"^https?://[^;\s]+$", s["ollamaBaseUrl"]):
        errors.append(f"ollamaBaseUrl: {s['ollamaBaseUrl']!r} must be one http(s) URL, e.g. http://ollama.example:11434.")
    return errors


def _check_ollama(s: dict[str, Any], n: dict[str, Any], lists: dict[str, Any]) -> list[str]:
    errors = []
    for key in ("ollamaImage", "ollamaModelPullerImage"):
        if unpinned(s[key]):
            errors.append(f"{key}: {s[key]!r} has no pinned tag; a moving tag changes what runs on the next node "
                          "without a deploy. Use a release tag such as ollama/ollama:0.17.7.")
    errors += _check_quantities(s, "ollama")
    if n["ollamaReplicas"] < 1:
        errors.append(f"ollamaReplicas: {n['ollamaReplicas']} must be at least 1 while ollamaEnabled is true "
                      "(set ollamaEnabled to false to run no Ollama and no GPU pool).")
    if not lists["ollamaModels"]:
        errors.append("ollamaModels: is empty, so Open WebUI would have no model to chat with; name at least one, "
                      "e.g. `pulumi config set --path 'ollamaModels[0]' llama3.2:3b`.")
    for model in lists["ollamaModels"]:
        if not re.fullmatch(OLLAMA_MODEL, model):
            errors.append(f"ollamaModels: {model!r} is not an Ollama model name such as 'llama3.2:3b'.")
    if n["ollamaDiskGi"] < 4:
        errors.append(f"ollamaDiskGi: {n['ollamaDiskGi']} GiB cannot hold even a small model; give at least 4.")
    if not re.fullmatch(GO_DURATION, s["ollamaKeepAlive"]):
        errors.append(f"ollamaKeepAlive: {s['ollamaKeepAlive']!r} is not a duration Ollama reads, such as '5m', '1h' "
                      "or '-1' (forever).")
    for key in ("ollamaNumParallel", "ollamaMaxLoadedModels"):
        if n[key] < 1:
            errors.append(f"{key}: {n[key]} must be at least 1.")
    return errors


def _check_migration(s: dict[str, Any]) -> list[str]:
    namespace, _, claim = s["migrateFrom"].partition("/")
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", namespace) or not re.fullmatch(
            r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", claim):
        return [f"migrateFrom: {s['migrateFrom']!r} is not '<namespace>/<claim>', e.g. 'open-webui/open-webui-old'."]
    errors = []
    if namespace != s["namespace"]:
        errors.append(f"migrateFrom: the claim is in namespace {namespace!r} but the migration Job runs in "
                      f"{s['namespace']!r}, and a pod can mount only claims of its own namespace. Bind the old disk "
                      f"to a claim in {s['namespace']!r} (README, 'Migrating an existing Open WebUI') and name that.")
    if claim == DATA_CLAIM_NAME:
        errors.append(f"migrateFrom: {claim!r} is this stack's own data claim; name the old deployment's claim.")
    if s["vectorDb"] != "pgvector":
        errors.append("migrateFrom: moves Chroma vectors into pgvector, so vectorDb must be pgvector.")
    return errors


def _check_api_ranges(ranges: list[str]) -> list[str]:
    errors = []
    for entry in ranges:
        try:
            network = ipaddress.IPv4Network(entry)
        except ValueError:
            errors.append(f"aksAuthorizedIpRanges: {entry!r} is not an IPv4 range in CIDR form such as "
                          "'203.0.113.0/24' (AKS takes CIDRs only).")
            continue
        if network.prefixlen < 8:
            errors.append(f"aksAuthorizedIpRanges: {entry} admits a large part of the internet to the Kubernetes "
                          "API; list the deployers' and CI's ranges instead.")
    return errors


def _check_network(s: dict[str, Any], lists: dict[str, Any]) -> list[str]:
    if s["postgresNetwork"] not in NETWORK_MODES:
        return [f"postgresNetwork: {s['postgresNetwork']!r} must be one of {', '.join(NETWORK_MODES)}."]
    if s["postgresNetwork"] != "private":
        return _check_api_ranges(lists["aksAuthorizedIpRanges"])
    errors, nets = [], {}
    for key in ("vnetCidr", "aksSubnetCidr", "postgresSubnetCidr"):
        try:
            nets[key] = ipaddress.IPv4Network(s[key])
        except ValueError:
            errors.append(f"{key}: {s[key]!r} is not an IPv4 network such as '10.42.0.0/16'.")
    if errors:
        return errors
    for key in ("aksSubnetCidr", "postgresSubnetCidr"):
        if not nets[key].subnet_of(nets["vnetCidr"]):
            errors.append(f"{key}: {s[key]} is not inside vnetCidr {s['vnetCidr']}.")
    if nets["aksSubnetCidr"].overlaps(nets["postgresSubnetCidr"]):
        errors.append(f"aksSubnetCidr/postgresSubnetCidr: {s['aksSubnetCidr']} and {s['postgresSubnetCidr']} overlap; "
                      "the PostgreSQL subnet is delegated and must hold nothing else.")
    if nets["vnetCidr"].overlaps(ipaddress.IPv4Network(POD_CIDR)):
        errors.append(f"vnetCidr: {s['vnetCidr']} overlaps the cluster's pod range {POD_CIDR} (Azure CNI overlay); "
                      "pods could not reach the addresses they share. Pick a VNet range outside it.")
    if nets["postgresSubnetCidr"].prefixlen > 28:
        errors.append(f"postgresSubnetCidr: {s['postgresSubnetCidr']} is smaller than the /28 Azure requires for a "
                      "delegated PostgreSQL subnet.")
    if lists["postgresFirewallRules"]:
        errors.append("postgresFirewallRules: a private server has no public endpoint to put rules on; remove them.")
    if lists["aksAuthorizedIpRanges"]:
        errors.append("aksAuthorizedIpRanges: the private cluster's API server has no public endpoint to limit; "
                      "remove them (deploy from inside the VNet).")
    return errors
