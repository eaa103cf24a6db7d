"""The stack's configuration as Pulumi hands it over, read once and typed: one field per key of Pulumi.yaml's config
schema (where every default lives, once), named as the key in snake case (postgresSku: postgres_sku).

One reader for every caller, by one conversion from the engine's strings:
- `pulumi up` and `make plan`'s mocks: StackConfig.read(pulumi.Config());
- what reads a stack's files instead (the plan's mock engine, `make e2e`, the restore drill, a restore's source
  stack): StackConfig.of_stack(stack), Pulumi.<stack>.yaml over Pulumi.yaml's defaults, as the engine would pass them.

It only reads and types: what Azure or Kubernetes would refuse is components/config_checks.py, and the settings the
components take are assembled in components/settings.py.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, get_type_hints

import pulumi
import yaml

ROOT = Path(__file__).resolve().parent.parent
"""The project: Pulumi.yaml and every stack's Pulumi.<stack>.yaml."""

RETIRED = {
    "migrateAllowSqlite": "With migrateFrom, a SQLite webui.db in the old data directory is now carried into "
                          "PostgreSQL (users, chats, settings) and verified before anything else, so there is nothing "
                          "left to allow (docs/upgrades-and-migrations.md, 'Migrating an existing Open WebUI').",
}
"""Keys a stack may still set from an earlier release of this program, and why they went."""


class ConfigError(pulumi.RunError):
    """Bad configuration. A RunError: Pulumi prints the message without a stack trace."""


def report(errors: list[str]) -> str:
    return "invalid stack configuration:\n" + "\n".join(f"- {e}" for e in errors)


@dataclass(frozen=True)
class StackConfig:
    """Every key of Pulumi.yaml's config schema, typed as the schema declares it (arrays are lists of strings)."""

    location: str
    protect: bool
    postgres_sku: str
    postgres_storage_gb: int
    postgres_backup_retention_days: int
    postgres_restore_from: str
    postgres_restore_point_in_time: str
    postgres_geo_redundant_backup: bool
    postgres_high_availability: str
    postgres_admin_login: str
    postgres_app_role: str
    postgres_metrics_role: str
    postgres_database: str
    postgres_extensions: tuple[str, ...]
    postgres_preloaded_libraries: tuple[str, ...]
    postgres_network: str
    postgres_firewall_rules: tuple[str, ...]
    vnet_cidr: str
    aks_subnet_cidr: str
    postgres_subnet_cidr: str
    aks_kubernetes_version: str
    aks_system_vm_size: str
    aks_system_node_count: int
    aks_local_accounts: bool
    aks_authorized_ip_ranges: tuple[str, ...]
    gpu_vm_size: str
    gpu_pool_without_ollama: bool
    gpu_autoscaling: bool
    gpu_node_count: int
    gpu_min_count: int
    gpu_max_count: int
    nvidia_device_plugin_image: str
    files_sku: str
    files_backup_retention_days: int
    files_size_gi: int
    image: str
    min_replicas: int
    max_replicas: int
    cpu_target_percent: int
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str
    uvicorn_workers: int
    database_pool_size: int
    database_pool_max_overflow: int
    database_pool_timeout: int
    database_pool_recycle: int
    vector_db: str
    pgvector_pool_size: int
    pgvector_pool_max_overflow: int
    pgvector_max_vector_length: int
    pgvector_use_halfvec: bool
    pgvector_index_method: str
    embedding_model: str
    redis_image: str
    ollama_enabled: bool
    ollama_image: str
    ollama_replicas: int
    ollama_models: tuple[str, ...]
    ollama_disk_gi: int
    ollama_keep_alive: str
    ollama_num_parallel: int
    ollama_max_loaded_models: int
    ollama_cpu_request: str
    ollama_memory_request: str
    ollama_cpu_limit: str
    ollama_memory_limit: str
    ollama_model_puller_image: str
    ollama_base_url: str
    auth: str
    admin_email: str
    entra_tenant_id: str
    entra_client_id: str
    entra_admin_groups: tuple[str, ...]
    entra_user_groups: tuple[str, ...]
    entra_secret_rotation_days: int
    migrate_from: str
    namespace: str
    edge_enabled: bool
    dns_label: str
    hostname: str
    acme_issuer: str
    monthly_budget_usd: int
    audit_retention_days: int
    defender_enabled: bool
    observability_enabled: bool
    grafana_admin_group: str
    otel_collector_image: str
    dcgm_exporter_image: str
    alert_email: str
    acme_email: str

    def value(self, key: str) -> Any:
        """A key's value by its config name, for checks that treat several keys alike."""
        return getattr(self, re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower())

    @classmethod
    def read(cls, config: pulumi.Config) -> StackConfig:
        """The running stack's config, as the engine hands it to the program."""
        return cls.parse(config.get, project_name())

    @classmethod
    def of_stack(cls, stack: str) -> StackConfig:
        """A stack of this project from its files (FileNotFoundError without Pulumi.<stack>.yaml)."""
        name = project_name()
        values = engine_config(stack)
        return cls.parse(lambda key: config_string(values[f"{name}:{key}"]) if f"{name}:{key}" in values else None,
                         name)

    @classmethod
    def parse(cls, raw: Callable[[str], Optional[str]], project: str) -> StackConfig:
        """Every field from the engine's string for its key; raises ConfigError listing every problem."""
        errors: list[str] = []
        values: dict[str, Any] = {}
        for field, kind in get_type_hints(cls).items():
            key = config_key(field)
            text = raw(key)
            if text is None:
                errors.append(f"{key}: missing. Declare it in Pulumi.yaml's config schema or "
                              f"`pulumi config set {key}`.")
            elif kind is bool and text in ("true", "True", "false", "False"):
                values[field] = text in ("true", "True")
            elif kind is int and re.fullmatch(r"[+-]?\d+", text.strip()):
                values[field] = int(text)
            elif kind is str:
                values[field] = text
            elif kind not in (bool, int, str):
                items = _json(text)
                if isinstance(items, list) and all(isinstance(x, str) for x in items):
                    values[field] = tuple(items)
                else:
                    errors.append(f"{key}: must be a list of strings, e.g. `pulumi config set --path '{key}[0]' "
                                  "value`.")
            else:  # the words of the SDK's own ConfigTypeError, which this reader replaced
                errors.append(f"{key}: Configuration '{project}:{key}' value '{text}' is not a valid "
                              f"'{kind.__name__}'")
        errors += [f"{key}: retired. {why} Remove it: `pulumi config rm {key}`." for key, why in RETIRED.items()
                   if raw(key) is not None]
        if errors:
            raise ConfigError(report(errors))
        return cls(**values)


def config_key(field: str) -> str:
    """postgres_sku -> postgresSku."""
    head, *rest = field.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


# The project's files -------------------------------------------------------------------------------------------

@functools.cache
def project() -> dict[str, Any]:
    """Pulumi.yaml, parsed once (with libyaml's loader where available: the config schema is long)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return dict(yaml.load((ROOT / "Pulumi.yaml").read_text(), Loader=loader))


def project_name() -> str:
    return str(project()["name"])


def stack_file(stack: str) -> dict[str, Any]:
    """The config a stack's own file sets, by full key (FileNotFoundError when it has no file)."""
    return dict((yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text()) or {}).get("config") or {})


def engine_config(stack: str) -> dict[str, Any]:
    """What the engine would pass for `stack`, by full key: Pulumi.yaml's defaults, then the stack's file (a secure
    value stays {'secure': ...})."""
    name = project_name()
    values = {f"{name}:{k}": v["default"] for k, v in project().get("config", {}).items() if "default" in v}
    values.update({key if ":" in key else f"{name}:{key}": value for key, value in stack_file(stack).items()})
    return values


def config_string(value: Any) -> str:
    """A value as the engine hands it to the program: booleans in lower case, arrays and objects as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)
