"""What Azure or Kubernetes would refuse at deploy, refused before anything is declared: each problem names the
config key, what would go wrong, and the fix. Checks read the typed config (components/stack_config.py) and return
their problems; components/settings.py reports them all at once."""

from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime, timedelta, timezone

from components.aks import AKS_VERSIONS, POD_CIDR
from components.audit import RETENTION_DAYS as AUDIT_RETENTION_DAYS
from components.backup import FILES_MAX_DAILY_RETENTION
from components.connection_budget import POSTGRES_SKUS
from components.edge import ISSUERS
from components.files_storage import FILES_SKUS, PREMIUM_MINIMUM_GI, FilesSettings
from components.gpu_capacity import GPUS_PER_VM
from components.names import DATA_CLAIM_NAME
from components.network import NETWORK_MODES
from components.node_capacity import CPU, MEMORY, VM_SIZES, cpu_millicores, memory_bytes
from components.pg_extension import PgExtensionProvider
from components.pg_role import PgRoleProvider
from components.open_webui import MEASURED_PEAK_RESIDENT
from components.postgres import LIBRARY_ONLY, PRELOAD_LIBRARIES, PRELOADABLE, STORAGE_SIZES_GB, FirewallRange
from components.regions import region_error
from components.sign_in import AUTH_MODES
from components.stack_config import StackConfig
from components.upgrade import unpinned


def problems(c: StackConfig, stack: str, now: datetime, has_client_secret: bool) -> list[str]:
    """Every problem of the stack's config, in the order `make plan` lists them."""
    errors = [problem] if (problem := region_error(c.location)) else []
    errors += _check_postgres(c)
    errors += _check_restore(c, stack, now)
    errors += _check_network(c)
    errors += _check_edge(c, stack)
    errors += _check_sign_in(c, has_client_secret)
    low, high = AUDIT_RETENTION_DAYS
    if not low <= c.audit_retention_days <= high:
        errors.append(f"auditRetentionDays: {c.audit_retention_days} is outside Log Analytics' {low}..{high} days.")
    if c.monthly_budget_usd < 0:
        errors.append(f"monthlyBudgetUsd: {c.monthly_budget_usd} is negative; 0 means no budget.")
    errors += _check_cluster(c, now.date())
    errors += _check_app(c)
    if not KUBERNETES_NAME.match(c.namespace):
        errors.append(f"namespace: {c.namespace!r} is not a Kubernetes namespace name (a DNS label: at most 63 lowercase "
                      "letters, digits and hyphens, starting and ending with a letter or digit); Kubernetes refuses "
                      "it. For example 'open-webui'.")
    if c.ollama_enabled:
        errors += _check_ollama(c)
    if c.migrate_from:
        errors += _check_migration(c)
    return errors


HA_MODES = ("Disabled", "SameZone", "ZoneRedundant")
VECTOR_DBS = ("pgvector", "chroma")
INDEX_METHODS = ("hnsw", "ivfflat")
OLLAMA_MODEL = r"[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?"
GO_DURATION = r"-?\d+|(\d+(\.\d+)?(ns|us|ms|s|m|h))+"
PGVECTOR_MAX_DIMENSIONS = 2000
HALFVEC_MAX_DIMENSIONS = 4000

def firewall_range(rule: str) -> FirewallRange:
    start, _, end = rule.partition("-")
    return FirewallRange(start.strip(), (end or start).strip())


def _check_postgres(c: StackConfig) -> list[str]:
    errors = []
    sku = POSTGRES_SKUS.get(c.postgres_sku)
    if sku is None:
        errors.append(f"postgresSku: {c.postgres_sku!r} is not a SKU this program knows the connection limit of; "
                      f"use one of {', '.join(POSTGRES_SKUS)}.")
    if c.postgres_high_availability not in HA_MODES:
        errors.append(f"postgresHighAvailability: {c.postgres_high_availability!r} must be one of {', '.join(HA_MODES)}.")
    elif sku and sku.tier == "Burstable" and c.postgres_high_availability != "Disabled":
        errors.append(f"postgresHighAvailability: Azure offers no high availability on the Burstable tier "
                      f"({sku.name}); choose a GeneralPurpose postgresSku or set it to Disabled.")
    if not 7 <= c.postgres_backup_retention_days <= 35:
        errors.append(f"postgresBackupRetentionDays: {c.postgres_backup_retention_days} is outside Azure's 7..35 days.")
    if c.postgres_storage_gb not in STORAGE_SIZES_GB:
        larger = [size for size in STORAGE_SIZES_GB if size > c.postgres_storage_gb]
        errors.append(f"postgresStorageGb: {c.postgres_storage_gb} GiB is not a size Azure offers a Flexible Server "
                      f"({', '.join(map(str, STORAGE_SIZES_GB))} GiB) and would be refused at deploy"
                      + (f"; the next size up is {larger[0]}." if larger else "."))
    if not re.match(r"^[a-z_][a-z0-9_]{0,62}$", c.postgres_database):
        errors.append(f"postgresDatabase: {c.postgres_database!r} must be a lower-case identifier such as 'openwebui'.")
    if not re.match(r"^[a-z][a-z0-9_]{0,62}$", c.postgres_admin_login) or c.postgres_admin_login in (
            "admin", "administrator", "root", "postgres", "azure_superuser", "azure_pg_admin", "guest", "public"):
        errors.append(f"postgresAdminLogin: {c.postgres_admin_login!r} is not allowed by Azure; use a lower-case "
                      "name that is not reserved (admin, root, postgres, ...), e.g. 'openwebuiadmin'.")
    if not re.match(PgRoleProvider.ROLE_PATTERN, c.postgres_app_role) or c.postgres_app_role in (
            c.postgres_admin_login, "postgres", "public") or c.postgres_app_role.startswith(("pg_", "azure")):
        errors.append(f"postgresAppRole: {c.postgres_app_role!r} must be a lower-case identifier of its own, neither "
                      "the admin login nor a reserved name (pg_*, azure*, postgres, public), e.g. 'openwebui_app'; "
                      "the replicas would otherwise connect with the admin's rights.")
    for ext in c.postgres_extensions:
        if not re.match(PgExtensionProvider.NAME_PATTERN, ext):
            errors.append(f"postgresExtensions: {ext!r} is not an extension name (lower case, e.g. 'vector').")
    errors += _check_preload(c.postgres_extensions, c.postgres_preloaded_libraries)
    errors += [f"postgresPreloadedLibraries: {library!r} is not a library Azure can preload (its "
               f"shared_preload_libraries takes {', '.join(PRELOADABLE)}); a server cannot have loaded it."
               for library in c.postgres_preloaded_libraries if library not in PRELOADABLE]
    if c.vector_db == "pgvector" and "vector" not in c.postgres_extensions:
        errors.append("postgresExtensions: must include 'vector' while vectorDb is pgvector, or Open WebUI "
                      "cannot create its document_chunk table.")
    for rule in c.postgres_firewall_rules:
        try:
            r = firewall_range(rule)
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


def _check_restore(c: StackConfig, stack: str, now: datetime) -> list[str]:
    """postgresRestoreFrom/postgresRestorePointInTime: another stack of this project, a time within its backups.
    The restored server holds the source's data directory, roles included: its admin login is the source's."""
    source, when = c.postgres_restore_from, c.postgres_restore_point_in_time
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
        source_config = StackConfig.of_stack(source)
    except FileNotFoundError:
        return [f"postgresRestoreFrom: no stack {source!r} in this project (no Pulumi.{source}.yaml); name the stack "
                "whose server to restore, such as prod."]
    errors: list[str] = []
    try:
        point = datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return errors + [f"postgresRestorePointInTime: {when!r} is not a UTC time as RFC 3339, such as "
                         f"{(now - timedelta(hours=1)):%Y-%m-%dT%H:%M:00Z}."]
    retention = source_config.postgres_backup_retention_days
    earliest = now - timedelta(days=retention)
    if point > now:
        errors.append(f"postgresRestorePointInTime: {when} is in the future; the latest is now ({now:%Y-%m-%dT%H:%M:%SZ}).")
    elif point < earliest:
        errors.append(f"postgresRestorePointInTime: {when} is older than {source}'s {retention} days of backups "
                      f"(postgresBackupRetentionDays): the earliest is {earliest:%Y-%m-%dT%H:%M:00Z}.")
    if source_config.postgres_admin_login != c.postgres_admin_login:
        errors.append(f"postgresAdminLogin: the restored server keeps {source}'s roles, so its admin login is "
                      f"{source_config.postgres_admin_login!r}; set postgresAdminLogin to it.")
    if source_config.location != c.location:
        errors.append(f"location: a point-in-time restore stays in the source's region; {source} is in "
                      f"{source_config.location}, set location to it.")
    return errors


def _check_preload(extensions: tuple[str, ...], preloaded: tuple[str, ...]) -> list[str]:
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


def _check_cluster(c: StackConfig, today: date) -> list[str]:
    errors = []
    errors += _check_kubernetes_version(c.aks_kubernetes_version, today)
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


def _check_kubernetes_version(version: str, today: date) -> list[str]:
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


def _check_quantities(c: StackConfig, prefix: str) -> list[str]:
    errors = []
    # the grammar node_capacity.py reads the requests with
    for key, pattern, example in (("cpuRequest", CPU, "100m"), ("cpuLimit", CPU, "2"),
                                  ("memoryRequest", MEMORY, "256Mi"), ("memoryLimit", MEMORY, "2Gi")):
        key = f"{prefix}{key[0].upper()}{key[1:]}" if prefix else key
        if not pattern.fullmatch(c.value(key)):
            errors.append(f"{key}: {c.value(key)!r} is not a Kubernetes quantity such as {example!r}.")
    if errors:
        return errors
    for resource, amount in (("cpu", cpu_millicores), ("memory", memory_bytes)):
        request, limit = (f"{prefix}{resource.capitalize()}{kind}" if prefix else f"{resource}{kind}"
                          for kind in ("Request", "Limit"))
        if amount(c.value(request)) > amount(c.value(limit)):
            errors.append(f"{request}/{limit}: the request {c.value(request)} is above the limit {c.value(limit)}; "
                          "Kubernetes refuses such a pod. Raise the limit or lower the request.")
    return errors


KUBERNETES_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
"""RFC 1123 label: what Kubernetes takes as a namespace's name."""
DNS_LABEL = re.compile(r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$")
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def default_dns_label(stack: str) -> str:
    return f"openwebui-{re.sub(r'[^a-z0-9-]', '-', stack.lower())}"


def _check_edge(c: StackConfig, stack: str) -> list[str]:
    errors = []
    label = c.dns_label or default_dns_label(stack)
    if not DNS_LABEL.match(label):
        errors.append(f"dnsLabel: {label!r} is not an Azure DNS label (3-63 lowercase letters, digits and hyphens, "
                      "starting with a letter); the site's default hostname is built from it.")
    if c.hostname and not HOSTNAME.match(c.hostname):
        errors.append(f"hostname: {c.hostname!r} is not a fully qualified lowercase DNS name such as "
                      "'chat.example.com' (no scheme, port or path); the certificate is issued for exactly this name.")
    if c.acme_issuer not in ISSUERS:
        errors.append(f"acmeIssuer: {c.acme_issuer!r} must be one of {', '.join(ISSUERS)} (staging certificates "
                      "are untrusted by browsers; production's rate limits are strict).")
    for key in ("acmeEmail", "alertEmail"):
        if c.value(key) and not EMAIL.match(c.value(key)):
            errors.append(f"{key}: {c.value(key)!r} is not an email address; leave it empty for none.")
    return errors


GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ROTATION_DAYS = (30, 365)
"""At most a year, so a secret (valid two periods) lives within the two years Entra advises."""


def _check_sign_in(c: StackConfig, has_client_secret: bool) -> list[str]:
    if c.auth not in AUTH_MODES:
        return [f"auth: {c.auth!r} must be one of {', '.join(AUTH_MODES)}."]
    if c.auth == "password":
        if not EMAIL.match(c.admin_email):
            return [f"adminEmail: {c.admin_email or '(empty)'} is not an e-mail address. With auth password the "
                    "stack makes this admin at deploy; without one, the first visitor to the public address would "
                    "become admin. `pulumi config set adminEmail you@example.com` (or auth entra)."]
        return []
    errors = []
    if not GUID.match(c.entra_tenant_id):
        errors.append(f"entraTenantId: {c.entra_tenant_id or '(empty)'} is not a directory (tenant) ID; Entra "
                      "sign-in needs it (Entra admin center, Overview, Tenant ID): `pulumi config set entraTenantId "
                      "<guid>`.")
    groups = [(key, g) for key in ("entraAdminGroups", "entraUserGroups") for g in c.value(key)]
    errors += [f"{key}: {g!r} is not a group's object ID (a GUID)." for key, g in groups if not GUID.match(g)]
    if c.entra_client_id:
        if not GUID.match(c.entra_client_id):
            errors.append(f"entraClientId: {c.entra_client_id!r} is not an application (client) ID (a GUID).")
        if not has_client_secret:
            errors.append("entraClientSecret: missing. With your own registration (entraClientId) the replicas need "
                          "its client secret: `pulumi config set --secret entraClientSecret <value>`.")
        if groups:
            errors.append("entraAdminGroups/entraUserGroups: the program assigns roles only in a registration it "
                          "makes; with entraClientId, assign the admin and user app roles in your registration "
                          "(Enterprise applications, Users and groups) and remove these keys.")
    else:
        if not c.entra_admin_groups:
            errors.append("entraAdminGroups: empty, so nobody would administer Open WebUI (no sign-in is admin by "
                          "arriving first). `pulumi config set --path 'entraAdminGroups[0]' <group object id>`.")
        low, high = ROTATION_DAYS
        if not low <= c.entra_secret_rotation_days <= high:
            errors.append(f"entraSecretRotationDays: {c.entra_secret_rotation_days} is outside {low}..{high}; the "
                          "secret lives two periods, and Entra advises under two years.")
    return errors


def _check_app(c: StackConfig) -> list[str]:
    errors = []
    if unpinned(c.image):
        errors.append(f"image: {c.image!r} has no pinned tag; a moving tag lets replicas run different versions "
                      "and skips the per-tag schema Job. Use a release tag such as ghcr.io/open-webui/open-webui:v0.12.4.")
    errors += _check_quantities(c, "")
    if MEMORY.fullmatch(c.memory_limit) and memory_bytes(c.memory_limit) < memory_bytes(MEASURED_PEAK_RESIDENT):
        errors.append(f"memoryLimit: {c.memory_limit} is under the {MEASURED_PEAK_RESIDENT} a replica holds at its "
                      "peak (measured by `make e2e` on Open WebUI 0.12.4): the kernel would kill it at the limit and "
                      f"the pod crash-loop. Give at least {MEASURED_PEAK_RESIDENT}; the default is 2Gi.")
    if c.min_replicas < 1:
        errors.append(f"minReplicas: {c.min_replicas} must be at least 1.")
    if c.min_replicas > c.max_replicas:
        errors.append(f"minReplicas/maxReplicas: min {c.min_replicas} is above max {c.max_replicas}; "
                      "the HPA would refuse it.")
    if not 1 <= c.cpu_target_percent <= 100:
        errors.append(f"cpuTargetPercent: {c.cpu_target_percent} must be a percentage from 1 to 100.")
    if c.uvicorn_workers < 1:
        errors.append(f"uvicornWorkers: {c.uvicorn_workers} must be at least 1.")
    for key in ("databasePoolSize", "pgvectorPoolSize"):
        if c.value(key) == 0:
            errors.append(f"{key}: 0 makes SQLAlchemy use a NullPool, one connection per concurrent use with no "
                          "upper bound, so no connection budget can hold; set a size of 1 or more.")
    for key in ("databasePoolSize", "databasePoolMaxOverflow", "pgvectorPoolSize", "pgvectorPoolMaxOverflow",
                "databasePoolTimeout", "databasePoolRecycle"):
        if c.value(key) < 0:
            errors.append(f"{key}: {c.value(key)} is negative.")
    if c.vector_db not in VECTOR_DBS:
        errors.append(f"vectorDb: {c.vector_db!r} must be one of {', '.join(VECTOR_DBS)}.")
    elif c.vector_db == "chroma" and c.max_replicas > 1:
        errors.append(f"vectorDb: chroma keeps its vectors in SQLite on the shared volume, whose locking breaks on "
                      f"SMB with {c.max_replicas} replicas writing; use pgvector, or set maxReplicas to 1.")
    if c.pgvector_index_method not in INDEX_METHODS:
        errors.append(f"pgvectorIndexMethod: {c.pgvector_index_method!r} must be one of {', '.join(INDEX_METHODS)}.")
    length = c.pgvector_max_vector_length
    if length < 1:
        errors.append(f"pgvectorMaxVectorLength: {length} must be the embedding model's dimension (384 for all-MiniLM-L6-v2).")
    elif length > PGVECTOR_MAX_DIMENSIONS and not c.pgvector_use_halfvec:
        errors.append(f"pgvectorMaxVectorLength: {length} dimensions cannot be indexed as pgvector's vector type "
                      f"(at most {PGVECTOR_MAX_DIMENSIONS}); set pgvectorUseHalfvec to true (up to {HALFVEC_MAX_DIMENSIONS}).")
    elif length > HALFVEC_MAX_DIMENSIONS:
        errors.append(f"pgvectorMaxVectorLength: {length} dimensions exceed halfvec's index limit of {HALFVEC_MAX_DIMENSIONS}.")
    if not c.embedding_model.strip():
        errors.append("embeddingModel: empty; Open WebUI would start with no model to embed documents or queries, and "
                      "every upload and retrieval would fail. Set a sentence-transformers model, e.g. "
                      "sentence-transformers/all-MiniLM-L6-v2 (384 dimensions: pgvectorMaxVectorLength).")
    if c.ollama_base_url and not re.match(r"^https?://[^;\s]+$", c.ollama_base_url):
        errors.append(f"ollamaBaseUrl: {c.ollama_base_url!r} must be one http(s) URL, e.g. http://ollama.example:11434.")
    return errors


def _check_ollama(c: StackConfig) -> list[str]:
    errors = []
    for key in ("ollamaImage", "ollamaModelPullerImage"):
        if unpinned(c.value(key)):
            errors.append(f"{key}: {c.value(key)!r} has no pinned tag; a moving tag changes what runs on the next node "
                          "without a deploy. Use a release tag such as ollama/ollama:0.17.7.")
    errors += _check_quantities(c, "ollama")
    if c.ollama_replicas < 1:
        errors.append(f"ollamaReplicas: {c.ollama_replicas} must be at least 1 while ollamaEnabled is true "
                      "(set ollamaEnabled to false to run no Ollama and no GPU pool).")
    if not c.ollama_models:
        errors.append("ollamaModels: is empty, so Open WebUI would have no model to chat with; name at least one, "
                      "e.g. `pulumi config set --path 'ollamaModels[0]' llama3.2:3b`.")
    for model in c.ollama_models:
        if not re.fullmatch(OLLAMA_MODEL, model):
            errors.append(f"ollamaModels: {model!r} is not an Ollama model name such as 'llama3.2:3b'.")
    if c.ollama_disk_gi < 4:
        errors.append(f"ollamaDiskGi: {c.ollama_disk_gi} GiB cannot hold even a small model; give at least 4.")
    if not re.fullmatch(GO_DURATION, c.ollama_keep_alive):
        errors.append(f"ollamaKeepAlive: {c.ollama_keep_alive!r} is not a duration Ollama reads, such as '5m', '1h' "
                      "or '-1' (forever).")
    for key in ("ollamaNumParallel", "ollamaMaxLoadedModels"):
        if c.value(key) < 1:
            errors.append(f"{key}: {c.value(key)} must be at least 1.")
    return errors


def _check_migration(c: StackConfig) -> list[str]:
    namespace, _, claim = c.migrate_from.partition("/")
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", namespace) or not re.fullmatch(
            r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", claim):
        return [f"migrateFrom: {c.migrate_from!r} is not '<namespace>/<claim>', e.g. 'open-webui/open-webui-old'."]
    errors = []
    if namespace != c.namespace:
        errors.append(f"migrateFrom: the claim is in namespace {namespace!r} but the data-migration Job runs in "
                      f"{c.namespace!r}, and a pod can mount only claims of its own namespace. Bind the old disk "
                      f"to a claim in {c.namespace!r} (README, 'Migrating an existing Open WebUI') and name that.")
    if claim == DATA_CLAIM_NAME:
        errors.append(f"migrateFrom: {claim!r} is this stack's own data claim; name the old deployment's claim.")
    if c.vector_db != "pgvector":
        errors.append("migrateFrom: moves Chroma vectors into pgvector, so vectorDb must be pgvector.")
    return errors


def _check_api_ranges(ranges: tuple[str, ...]) -> list[str]:
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


def _check_network(c: StackConfig) -> list[str]:
    if c.postgres_network not in NETWORK_MODES:
        return [f"postgresNetwork: {c.postgres_network!r} must be one of {', '.join(NETWORK_MODES)}."]
    if c.postgres_network != "private":
        return _check_api_ranges(c.aks_authorized_ip_ranges)
    errors, nets = [], {}
    for key in ("vnetCidr", "aksSubnetCidr", "postgresSubnetCidr"):
        try:
            nets[key] = ipaddress.IPv4Network(c.value(key))
        except ValueError:
            errors.append(f"{key}: {c.value(key)!r} is not an IPv4 network such as '10.42.0.0/16'.")
    if errors:
        return errors
    for key in ("aksSubnetCidr", "postgresSubnetCidr"):
        if not nets[key].subnet_of(nets["vnetCidr"]):
            errors.append(f"{key}: {c.value(key)} is not inside vnetCidr {c.vnet_cidr}.")
    if nets["aksSubnetCidr"].overlaps(nets["postgresSubnetCidr"]):
        errors.append(f"aksSubnetCidr/postgresSubnetCidr: {c.aks_subnet_cidr} and {c.postgres_subnet_cidr} overlap; "
                      "the PostgreSQL subnet is delegated and must hold nothing else.")
    if nets["vnetCidr"].overlaps(ipaddress.IPv4Network(POD_CIDR)):
        errors.append(f"vnetCidr: {c.vnet_cidr} overlaps the cluster's pod range {POD_CIDR} (Azure CNI overlay); "
                      "pods could not reach the addresses they share. Pick a VNet range outside it.")
    if nets["postgresSubnetCidr"].prefixlen > 28:
        errors.append(f"postgresSubnetCidr: {c.postgres_subnet_cidr} is smaller than the /28 Azure requires for a "
                      "delegated PostgreSQL subnet.")
    if c.postgres_firewall_rules:
        errors.append("postgresFirewallRules: a private server has no public endpoint to put rules on; remove them.")
    if c.aks_authorized_ip_ranges:
        errors.append("aksAuthorizedIpRanges: the private cluster's API server has no public endpoint to limit; "
                      "remove them (deploy from inside the VNet).")
    return errors
