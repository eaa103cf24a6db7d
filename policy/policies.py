"""The openwebui-aks pack: its policies and how strictly each is enforced. Each validator lives with its concern
(postgres, backups, gpu, nodes, workloads, network, cost) as a plain function of its args, testable directly; the capacity
policies use the program's own arithmetic (components/connection_budget.py, gpu_capacity.py, node_capacity.py)."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from backups import BACKUP_SCHEMA, data_backed_up
from cost import PREMIUM_FILES_SCHEMA, monthly_budget, premium_files_size
from gpu import GPU_SCHEMA, gpu_capacity, gpu_pool_in_use, gpu_pods_tolerate_taint, gpu_pools_tainted
from network import namespace_default_deny, open_webui_tls_only
from nodes import node_capacity
from control_plane import cluster_api_limited, cluster_audit_logs, cluster_local_accounts_off
from least_privilege import (VAULT_SCHEMA, app_not_postgres_admin, backup_immutable, no_instance_metadata,
                             storage_not_public)
from sign_in import sign_in_closed
from postgres import (BUDGET_SCHEMA, HARDENING_SCHEMA, connection_alert, connection_budget, extensions_allow_listed,
                      postgres_hardening, postgres_not_open_to_azure)
from workloads import (images_pinned, multi_replica_shared_state, no_plaintext_secrets, no_privilege_escalation,
                       redis_password, workload_hygiene)

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
        name="images-pinned", enforcement_level=EnforcementLevel.MANDATORY, validate=images_pinned,
        description="Every container image has a pinned tag or a digest, not a moving tag such as latest or main."),
    ResourceValidationPolicy(
        name="gpu-pools-tainted", enforcement_level=EnforcementLevel.MANDATORY, validate=gpu_pools_tainted,
        description="GPU (NC/ND/NV) node pools carry a NoSchedule taint."),
    StackValidationPolicy(
        name="node-capacity", enforcement_level=EnforcementLevel.MANDATORY, validate=node_capacity,
        description="Every pod's CPU and memory requests at the peak fit the node pools that can run them at their "
                    "largest (nodes x allocatable after AKS's reservations)."),
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
    StackValidationPolicy(
        name="data-backed-up", enforcement_level=EnforcementLevel.ADVISORY, validate=data_backed_up,
        description="Every data store (PostgreSQL servers, Azure Files shares) has a backup kept at least the stack's "
                    "retention.", config_schema=BACKUP_SCHEMA),
    ResourceValidationPolicy(
        name="postgres-hardening", enforcement_level=EnforcementLevel.ADVISORY, validate=postgres_hardening,
        description="Geo-redundant backups, HA and TLS of PostgreSQL as this stack requires; no world-open firewall.",
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
        name="sign-in-closed", enforcement_level=EnforcementLevel.MANDATORY, validate=sign_in_closed,
        description="An Open WebUI reachable from the internet has its admin made at deploy or signs people in "
                    "through an identity provider only: its first visitor never becomes admin."),
    StackValidationPolicy(
        name="app-not-postgres-admin", enforcement_level=EnforcementLevel.ADVISORY, validate=app_not_postgres_admin,
        description="Open WebUI connects to PostgreSQL as a role of its own the stack makes, never the server's admin."),
    ResourceValidationPolicy(
        name="storage-not-public", enforcement_level=EnforcementLevel.ADVISORY, validate=storage_not_public,
        description="Storage accounts deny traffic from the internet by default (or disable public access)."),
    ResourceValidationPolicy(
        name="backup-immutable", enforcement_level=EnforcementLevel.ADVISORY, validate=backup_immutable,
        description="Recovery Services vaults are immutable with soft delete always on.", config_schema=VAULT_SCHEMA),
    StackValidationPolicy(
        name="no-instance-metadata", enforcement_level=EnforcementLevel.ADVISORY, validate=no_instance_metadata,
        description="No pod reaches the node's instance metadata endpoint (an egress NetworkPolicy per namespace)."),
    ResourceValidationPolicy(
        name="cluster-local-accounts-off", enforcement_level=EnforcementLevel.ADVISORY,
        validate=cluster_local_accounts_off,
        description="AKS clusters sign people in with Entra ID only: no local accounts, no static admin certificate."),
    ResourceValidationPolicy(
        name="cluster-api-limited", enforcement_level=EnforcementLevel.ADVISORY, validate=cluster_api_limited,
        description="AKS API servers are private or limited to authorized address ranges."),
    StackValidationPolicy(
        name="cluster-audit-logs", enforcement_level=EnforcementLevel.ADVISORY, validate=cluster_audit_logs,
        description="Every AKS cluster sends its Kubernetes audit log (kube-audit-admin) to Log Analytics."),
    StackValidationPolicy(
        name="premium-files-size", enforcement_level=EnforcementLevel.ADVISORY, validate=premium_files_size,
        description="Premium (v1) Azure Files claims ask for at least the 100Gi they are billed for.",
        config_schema=PREMIUM_FILES_SCHEMA),
    ResourceValidationPolicy(
        name="workload-hygiene", enforcement_level=EnforcementLevel.ADVISORY, validate=workload_hygiene,
        description="Containers set requests, limits and probes."),
]

