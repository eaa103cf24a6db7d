"""Open WebUI on AKS with PostgreSQL + pgvector: one `pulumi up` per stack."""

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import resources

from components import settings as stack_settings, stack_capacity
from components.aks import AksCluster, AksClusterArgs
from components.alerts import AlertReceivers, AlertReceiversArgs, AlertTarget
from components.audit import AuditLog, AuditLogArgs
from components.backup import FilesBackup, FilesBackupArgs
from components.connection_budget import VERIFY_APPLICATION, with_application_name
from components.cost import BUDGET_TAG
from components.data_migration import DataMigration, DataMigrationArgs
from components.defender import Defender
from components.edge import NAMESPACE as EDGE_NAMESPACE, SOLVER_LABELS, SOLVER_PORT, Edge, EdgeArgs
from components.files_storage import PremiumFilesVolume, PremiumFilesVolumeArgs
from components.gpu_metrics import METRICS_PORT as GPU_METRICS_PORT, GpuMetrics, GpuMetricsArgs
from components.grafana_dashboards import GrafanaDashboards, GrafanaDashboardsArgs
from components.managed_prometheus import SCRAPER_LABELS, SCRAPER_NAMESPACE
from components.names import APP_NAME, DATA_CLAIM_NAME, DATA_MIGRATION_NAME, OLLAMA_NAME, POSTGRES_NAME
from components.network import Network, NetworkArgs, PrivateLink
from components.network_policies import Exposure, NetworkPolicies, NetworkPoliciesArgs, Peer
from components.observability import Observability, ObservabilityArgs
from components.ollama import OLLAMA_PORT, Ollama, OllamaArgs
from components.open_webui import HTTP_PORT, SERVICE_PORT, OpenWebUI, OpenWebUIArgs
from components.otel_collector import OTLP_GRPC_PORT, PROMETHEUS_PORT, OtelCollector, OtelCollectorArgs
from components.pod_security import NAMESPACE_LABELS
from components.postgres import PostgresFlexibleServer, PostgresFlexibleServerArgs
from components.prometheus_rules import PrometheusRules, PrometheusRulesArgs
from components.redis import REDIS_PORT, Redis, RedisArgs
from components.sign_in import SignIn, SignInArgs

# Validated, connection budget included, before anything is declared: a bad stack fails `pulumi preview`.
settings = stack_settings.load(pulumi.Config())
budget = stack_capacity.connection_budget(settings)
role_limits = stack_capacity.role_limits(settings)
tags = {"app": "open-webui", "stack": pulumi.get_stack(), "managed-by": "pulumi"}

# The budget rides on the resource group, where the policy pack's monthly-budget policy reads it.
group = resources.ResourceGroup("openwebui", location=settings.location, tags={
    **tags, **({BUDGET_TAG: str(settings.monthly_budget_usd)} if settings.monthly_budget_usd else {})})

net = Network("network", NetworkArgs(
    settings=settings.network, resource_group_name=group.name, location=group.location, tags=tags,
    dns_zone_label=f"openwebui-{pulumi.get_stack()}",
    edge_dns_label=settings.edge.dns_label if settings.edge.enabled else None,
    with_grafana=settings.observability is not None))

# Alerts go to one action group; each component declares its own (components/alerts.py).
receivers = AlertReceivers("alerts", AlertReceiversArgs(email=settings.alert_email, resource_group_name=group.name,
                                                        tags=tags))
alerts = AlertTarget(action_group_id=receivers.action_group_id, resource_group_name=group.name, tags=tags)
# Who did what: each component sends its own logs to the stack's workspace (components/audit.py).
audit = AuditLog("audit", AuditLogArgs(retention_days=settings.audit_retention_days, resource_group_name=group.name,
                                       location=group.location, tags=tags)).target
if settings.defender:
    Defender("defender")

postgres = PostgresFlexibleServer(POSTGRES_NAME, PostgresFlexibleServerArgs(
    settings=settings.postgres, resource_group_name=group.name, location=group.location, tags=tags,
    protect=settings.protect, egress_ip_address=net.egress_ip_address, delegated_subnet_id=net.postgres_subnet_id,
    private_dns_zone_id=net.private_dns_zone_id, dns_zone_link=net.dns_zone_link, alerts=alerts,
    app_connection_limit=role_limits[settings.postgres.app_role], audit=audit,
    connection_alert_threshold=budget.alert_threshold))

cluster = AksCluster("aks", AksClusterArgs(
    settings=settings.aks, resource_group_name=group.name, location=group.location, tags=tags,
    identity_id=net.cluster_identity_id, egress_ip_id=net.egress_ip_id, subnet_id=net.aks_subnet_id,
    permissions=net.cluster_permissions, egress_ip_address=net.egress_ip_address, alerts=alerts, audit=audit,
    app_namespace=settings.namespace))

# Azure's managed Prometheus and Grafana: the cluster's metrics, PostgreSQL's, one place to look; the dashboards in
# it, and the alerts only Prometheus data can raise.
observability = Observability("metrics", ObservabilityArgs(
    settings=settings.observability, cluster_id=cluster.cluster_id, resource_group_name=group.name,
    resource_group_id=group.id, location=group.location, tags=tags, audit=audit,
    private_link=PrivateLink(net.aks_subnet_id, net.grafana_dns_zone_id) if net.aks_subnet_id is not None
    and net.grafana_dns_zone_id is not None else None)) if settings.observability else None
boards = GrafanaDashboards("dashboards", GrafanaDashboardsArgs(
    grafana_url=observability.grafana_url, writer=observability.dashboard_writer, stack=pulumi.get_stack(),
    namespace=settings.namespace, app=APP_NAME, ollama=OLLAMA_NAME if settings.ollama else "",
    resource_group_name=group.name, postgres_server_name=postgres.server_name,
    budget=budget)) if observability else None
PrometheusRules("prometheus-rules", PrometheusRulesArgs(
    workspace_id=observability.workspace_id, cluster_name=cluster.cluster_name, namespace=settings.namespace,
    app=APP_NAME, action_group_id=receivers.action_group_id, resource_group_name=group.name,
    location=group.location, tags=tags)) if observability else None

# Kubernetes components inherit the cluster's provider through their parent.
on_cluster = pulumi.ResourceOptions(providers=[cluster.provider])
namespace = k8s.core.v1.Namespace(
    "namespace", metadata=k8s.meta.v1.ObjectMetaArgs(name=settings.namespace, labels=NAMESPACE_LABELS),
    opts=pulumi.ResourceOptions(provider=cluster.provider))

data = PremiumFilesVolume(DATA_CLAIM_NAME, PremiumFilesVolumeArgs(
    settings=settings.files, namespace=namespace.metadata.name, protect=settings.protect,
    resource_group_name=group.name, location=group.location, tags=tags, egress_ip_address=net.egress_ip_address,
    private_endpoint_subnet_id=net.aks_subnet_id, files_dns_zone_id=net.files_dns_zone_id, audit=audit),
    opts=on_cluster)

# Daily snapshots of the shared volume, kept by the stack's Recovery Services vault (PostgreSQL backs itself up).
FilesBackup("backup", FilesBackupArgs(
    settings=settings.files_backup, resource_group_name=group.name, location=group.location, tags=tags,
    account_id=data.account_id, account_name=data.account_name, share_name=data.share_name, protect=settings.protect,
    private=settings.network.private, audit=audit))

redis = Redis("open-webui-redis", RedisArgs(image=settings.redis_image, namespace=namespace.metadata.name),
              opts=on_cluster)

# Its Service URL reaches Open WebUI through settings.webui (components/settings.py derives both from the namespace).
ollama = Ollama(OLLAMA_NAME, OllamaArgs(settings=settings.ollama, namespace=namespace.metadata.name,
                                               node_pool=cluster.gpu_pool), opts=on_cluster) if settings.ollama else None

# An existing Open WebUI's files and vectors come across, verified, before the new one starts.
data_migration = DataMigration(DATA_MIGRATION_NAME, DataMigrationArgs(
    settings=settings.data_migration, webui=settings.webui, namespace=namespace.metadata.name,
    database_url=postgres.database_url, data_claim_name=data.claim_name,
    postgres_server=postgres.server_resource_name), opts=on_cluster) if settings.data_migration else None

# Open WebUI's own metrics (OTLP) become Prometheus series here, for the managed Prometheus to scrape.
collector = OtelCollector("otel-collector", OtelCollectorArgs(
    image=settings.observability.collector_image, namespace=namespace.metadata.name,
    database_url=postgres.metrics_database_url, postgres_server=postgres.server_resource_name),
    opts=on_cluster) if settings.observability else None

# The GPU nodes' utilisation and memory, for the GPU pool's dashboard.
gpu_metrics = GpuMetrics("gpu-metrics", GpuMetricsArgs(
    image=settings.observability.gpu_exporter_image, namespace=namespace.metadata.name),
    opts=on_cluster) if settings.observability and settings.aks.gpu_pool else None

# The admin made at deploy, or Entra ID: nobody owns the site by arriving first.
sign_in = SignIn("sign-in", SignInArgs(settings=settings.webui.sign_in,
                                       display_name=f"Open WebUI ({pulumi.get_stack()})"))

webui = OpenWebUI(APP_NAME, OpenWebUIArgs(
    settings=settings.webui, namespace=namespace.metadata.name, database_url=postgres.database_url,
    app_database_url=postgres.app_database_url, app_role=settings.postgres.app_role,
    redis_url=redis.url, sign_in_secrets=sign_in.secret_values,
    data_claim_name=data.claim_name, postgres_server=postgres.server_resource_name,
    wait_for=[data_migration.job] if data_migration else []), opts=on_cluster)

# HTTPS ends at the edge, on the network's static IP; Open WebUI's own Service is ClusterIP. A stack without an edge
# (edgeEnabled false: the restore drill) has no public address at all: kubectl port-forward reaches the app.
edge = Edge("edge", EdgeArgs(
    settings=settings.edge, public_ip_name=net.edge_ip_name, resource_group_name=group.name,
    app_namespace=namespace.metadata.name, app_service_name=webui.service_name, app_service_port=SERVICE_PORT),
    opts=on_cluster) if net.edge_ip_name is not None else None

# Open WebUI and the certificate solvers take the edge's pods only; Redis, Ollama and the collector's OTLP port take
# Open WebUI only; the collector's and the DCGM exporter's metrics ports take the managed Prometheus's scraper only.
from_edge = [Peer(edge.controller_pods, namespace=EDGE_NAMESPACE)] if edge else []
from_webui = [Peer(webui.pod_labels)]
from_scraper = [Peer(SCRAPER_LABELS, namespace=SCRAPER_NAMESPACE)]
NetworkPolicies("network-policies", NetworkPoliciesArgs(namespace=namespace.metadata.name, exposures=[
    *([Exposure("open-webui", webui.pod_labels, HTTP_PORT, sources=from_edge),
       Exposure("acme-http01-solver", SOLVER_LABELS, SOLVER_PORT, sources=from_edge)] if edge else []),
    Exposure("redis", redis.pod_labels, REDIS_PORT, sources=from_webui),
    *([Exposure("ollama", ollama.pod_labels, OLLAMA_PORT, sources=from_webui)] if ollama else []),
    *([Exposure("otel-collector-otlp", collector.pod_labels, OTLP_GRPC_PORT, sources=from_webui),
       Exposure("otel-collector-metrics", collector.pod_labels, PROMETHEUS_PORT, sources=from_scraper)]
      if collector else []),
    *([Exposure("dcgm-exporter", gpu_metrics.pod_labels, GPU_METRICS_PORT, sources=from_scraper)]
      if gpu_metrics else []),
]), opts=on_cluster)

pulumi.export("url", edge.url if edge else "")
pulumi.export("signIn", settings.webui.sign_in.describe())
if sign_in.admin_password:
    pulumi.export("adminPassword", sign_in.admin_password)  # secret: `pulumi stack output --show-secrets`
if sign_in.client_id:
    pulumi.export("entraClientId", sign_in.client_id)
pulumi.export("edgeAddress", net.edge_ip_address or "")
pulumi.export("acmeIssuer", settings.edge.acme_issuer)
pulumi.export("postgresNetwork", settings.network.mode)
pulumi.export("egressAddress", net.egress_ip_address)
pulumi.export("postgresFqdn", postgres.fqdn)
# What a restore stack (postgresRestoreFrom) reads from this one.
pulumi.export("postgresServerId", postgres.server_id)
# What `make verify` (ops/verify.py) checks the live system against; its own connections carry its name.
pulumi.export("databaseUrl", postgres.database_url.apply(lambda url: with_application_name(url, VERIFY_APPLICATION)))
pulumi.export("postgresExtensions", dict(zip(settings.postgres.extensions,
                                             (e.installed_version for e in postgres.extensions))))
pulumi.export("namespace", settings.namespace)
pulumi.export("openWebUI", {
    "imageTag": settings.webui.image_tag, "minReplicas": settings.webui.min_replicas,
    "maxReplicas": settings.webui.max_replicas, "vectorDb": settings.webui.vector_db,
    "vectorDimension": settings.webui.pgvector_max_vector_length, "vectorIndexMethod": settings.webui.pgvector_index_method,
    "halfvec": settings.webui.pgvector_use_halfvec})
pulumi.export("databaseName", postgres.database_name)
pulumi.export("grafanaUrl", observability.grafana_url if observability else "")
pulumi.export("dashboards", boards.urls if boards else {})  # name -> its address in Grafana
pulumi.export("kubeconfig", cluster.kubeconfig)  # no credential: kubelogin asks the Azure CLI for an Entra token
pulumi.export("connectionBudget", {
    "maxConnections": budget.max_connections, "reserved": budget.reserved, "capacity": budget.capacity,
    "demand": budget.demand, "headroom": budget.headroom, "roleLimits": role_limits,
    "workloads": {w.name: {"peakReplicas": w.peak_replicas, "perPod": w.per_pod, "demand": w.demand}
                  for w in budget.workloads},
})
pulumi.export("capacity", [{"title": c.title, "within": c.capacity.within, "arithmetic": c.capacity.arithmetic()}
                           for c in stack_capacity.checks(settings)])
gpus = stack_capacity.gpu_capacity(settings)
if gpus:
    pulumi.export("gpuCapacity", {"wanted": gpus.wanted, "available": gpus.available, "arithmetic": gpus.arithmetic()})
    pulumi.export("ollamaModels", list(settings.ollama.models) if settings.ollama else [])
