"""The stack's settings: its typed config (components/stack_config.py), checked (components/config_checks.py), then
assembled into the settings each component takes, and the capacity family checked on them
(components/stack_capacity.py). Every problem is reported at once; nothing is declared before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Optional

import pulumi

from components import stack_capacity
from components.aks import POD_CIDR, AksSettings
from components.backup import FilesBackupSettings
from components.config_checks import problems
from components.config_checks.edge import default_dns_label
from components.config_checks.postgres import firewall_range
from components.connection_budget import POSTGRES_SKUS
from components.data_migration import DataMigrationSettings
from components.edge import EdgeSettings
from components.entra_app import EntraSettings, SecretRotation
from components.files_storage import FilesSettings
from components.network import NetworkSettings
from components.observability import ObservabilitySettings
from components.ollama import OllamaSettings, service_url
from components.open_webui import OpenWebUISettings
from components.otel_collector import otlp_endpoint
from components.postgres import PostgresRestore, PostgresSettings
from components.sign_in import SignInSettings
from components.stack_config import ConfigError, StackConfig, report


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
    data_migration: Optional[DataMigrationSettings]
    """None unless migrateFrom names an old Open WebUI's claim."""
    observability: Optional[ObservabilitySettings]
    """None when observabilityEnabled is false."""


def load(config: pulumi.Config) -> StackSettings:
    """Reads, checks and assembles the stack's settings; raises ConfigError listing every problem."""
    typed = StackConfig.read(config)
    # a secret has no default in Pulumi.yaml's schema: absent unless a deployer brings their own registration
    client_secret = config.get_secret("entraClientSecret")
    stack, now = pulumi.get_stack(), datetime.now(timezone.utc)
    errors = problems(typed, stack, now, has_client_secret=client_secret is not None)
    if errors:
        raise ConfigError(report(errors))
    settings = assemble(typed, client_secret, stack, now.date())
    errors = [e for check in stack_capacity.checks(settings) if (e := check.error())]
    if errors:
        raise ConfigError(report(errors))
    return settings


def assemble(c: StackConfig, client_secret: Optional[pulumi.Output[str]], stack: str, today: date) -> StackSettings:
    """The components' settings from a config that passed its checks."""
    dns_label = c.dns_label or default_dns_label(stack)
    edge = EdgeSettings(hostname=c.hostname or f"{dns_label}.{c.location}.cloudapp.azure.com",
                        dns_label=dns_label, acme_issuer=c.acme_issuer, acme_email=c.acme_email,
                        enabled=c.edge_enabled)
    ollama_urls = ((service_url(c.namespace),) if c.ollama_enabled else ()) + (
        (c.ollama_base_url,) if c.ollama_base_url else ())

    return StackSettings(
        location=c.location, protect=c.protect, alert_email=c.alert_email,
        audit_retention_days=c.audit_retention_days, defender=c.defender_enabled,
        monthly_budget_usd=c.monthly_budget_usd, namespace=c.namespace, redis_image=c.redis_image,
        network=NetworkSettings(mode=c.postgres_network, vnet_cidr=c.vnet_cidr, aks_subnet_cidr=c.aks_subnet_cidr,
                                postgres_subnet_cidr=c.postgres_subnet_cidr),
        postgres=PostgresSettings(
            sku=POSTGRES_SKUS[c.postgres_sku], storage_gb=c.postgres_storage_gb,
            backup_retention_days=c.postgres_backup_retention_days, geo_redundant_backup=c.postgres_geo_redundant_backup,
            high_availability=c.postgres_high_availability, admin_login=c.postgres_admin_login,
            app_role=c.postgres_app_role, metrics_role=c.postgres_metrics_role if c.observability_enabled else None,
            database=c.postgres_database, extensions=c.postgres_extensions,
            firewall_rules=tuple(map(firewall_range, c.postgres_firewall_rules)),
            private=c.postgres_network == "private",
            restore=PostgresRestore(c.postgres_restore_from, c.postgres_restore_point_in_time)
            if c.postgres_restore_from else None),
        aks=AksSettings(
            kubernetes_version=c.aks_kubernetes_version, system_vm_size=c.aks_system_vm_size,
            system_node_count=c.aks_system_node_count, gpu_pool=c.ollama_enabled or c.gpu_pool_without_ollama,
            gpu_vm_size=c.gpu_vm_size, gpu_autoscaling=c.gpu_autoscaling,
            gpu_node_count=c.gpu_node_count, gpu_min_count=c.gpu_min_count, gpu_max_count=c.gpu_max_count,
            nvidia_device_plugin_image=c.nvidia_device_plugin_image, local_accounts=c.aks_local_accounts,
            managed_prometheus=c.observability_enabled,
            authorized_ip_ranges=c.aks_authorized_ip_ranges, private_cluster=c.postgres_network == "private"),
        files=FilesSettings(sku=c.files_sku, size_gi=c.files_size_gi),
        files_backup=FilesBackupSettings(retention_days=c.files_backup_retention_days),
        webui=OpenWebUISettings(
            image=c.image, min_replicas=c.min_replicas, max_replicas=c.max_replicas,
            cpu_target_percent=c.cpu_target_percent, cpu_request=c.cpu_request, memory_request=c.memory_request,
            cpu_limit=c.cpu_limit, memory_limit=c.memory_limit, uvicorn_workers=c.uvicorn_workers,
            database_pool_size=c.database_pool_size, database_pool_max_overflow=c.database_pool_max_overflow,
            database_pool_timeout=c.database_pool_timeout, database_pool_recycle=c.database_pool_recycle,
            vector_db=c.vector_db, pgvector_pool_size=c.pgvector_pool_size,
            pgvector_pool_max_overflow=c.pgvector_pool_max_overflow,
            pgvector_max_vector_length=c.pgvector_max_vector_length, pgvector_use_halfvec=c.pgvector_use_halfvec,
            pgvector_index_method=c.pgvector_index_method, embedding_model=c.embedding_model,
            ollama_base_urls=ollama_urls, public_url=edge.url, trusted_proxies=POD_CIDR,
            otlp_endpoint=otlp_endpoint(c.namespace) if c.observability_enabled else "",
            sign_in=SignInSettings(admin_email=c.admin_email, public_url=edge.url, entra=EntraSettings(
                tenant_id=c.entra_tenant_id, client_id=c.entra_client_id, client_secret=client_secret,
                admin_groups=c.entra_admin_groups, user_groups=c.entra_user_groups,
                rotation=SecretRotation.of(today, c.entra_secret_rotation_days)) if c.auth == "entra"
                else None)),
        edge=edge,
        ollama=OllamaSettings(
            image=c.ollama_image, replicas=c.ollama_replicas, models=c.ollama_models,
            disk_gi=c.ollama_disk_gi, keep_alive=c.ollama_keep_alive, num_parallel=c.ollama_num_parallel,
            max_loaded_models=c.ollama_max_loaded_models, cpu_request=c.ollama_cpu_request,
            memory_request=c.ollama_memory_request, cpu_limit=c.ollama_cpu_limit, memory_limit=c.ollama_memory_limit,
            puller_image=c.ollama_model_puller_image) if c.ollama_enabled else None,
        data_migration=DataMigrationSettings(source_claim=c.migrate_from.partition("/")[2]) if c.migrate_from else None,
        observability=ObservabilitySettings(admin_group=c.grafana_admin_group, collector_image=c.otel_collector_image,
                                            gpu_exporter_image=c.dcgm_exporter_image)
        if c.observability_enabled else None,
    )
