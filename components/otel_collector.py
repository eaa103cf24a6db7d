"""The OpenTelemetry Collector: where Open WebUI's replicas push their metrics (OTLP over gRPC), turned into the
Prometheus series (components/app_metrics.py names them) that Azure's managed Prometheus scrapes from it; and, as
its own metrics role (CONNECT only, one connection in the budget), the server's connections by application and role
from pg_stat_activity: the database dashboard's line per workload of the connection budget.

Open WebUI serves no /metrics of its own, so something in the cluster must receive OTLP. One pod is enough: it
keeps no state but the last value of each series, each replica's series carry its pod's name (`instance`), and a
restart costs one scrape's values (counters start again; rate() takes that). The add-on finds it through a
PodMonitor (components/managed_prometheus.py); the NetworkPolicies (__main__.py) let only Open WebUI reach the OTLP port and only that scraper the metrics port.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.app_metrics import API_ROUTES, OTHER_ROUTE, Instrument, Kind
from components.connection_budget import (POSTGRES_CONNECTIONS_ANNOTATION, POSTGRES_SERVER_ANNOTATION, PlainClient,
                                          with_application_name)
from components.managed_prometheus import pod_monitor
from components.pod_security import hardened

COLLECTOR_NAME = "otel-collector"
OTLP_GRPC_PORT = 4317
PROMETHEUS_PORT = 8889
HEALTH_PORT = 13133
COLLECTOR_USER = 10001
"""The contrib image's own non-root user."""
CONFIG_DIR = "/etc/otelcol"
RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
"""The collector holds one value per series (a few hundred series for Open WebUI's routes); memory_limiter refuses
data before the limit is reached rather than letting the pod be killed."""
PROMETHEUS_TRANSLATION = "UnderscoreEscapingWithSuffixes"
"""The exporter's naming rule (its default, said explicitly): what components/app_metrics.py implements."""
SERIES_EXPIRY = "5m"
"""A replica gone (scaled in, replaced) stops being exported after this."""
COLLECTOR_CONNECTIONS = 1
COLLECTOR_WORKLOAD = PlainClient(COLLECTOR_NAME, peak_replicas=1, per_pod=COLLECTOR_CONNECTIONS)
"""What the connection budget counts for it: one pod, one connection (the query's, max_open_conn)."""
DATABASE_URL_ENV = "DATABASE_URL"
"""The name the policy pack recognises a connecting container by."""
CONNECTIONS_QUERY = ("SELECT usename AS role, coalesce(nullif(application_name, ''), '(unnamed)') AS application, "
                     "count(*) AS connections FROM pg_stat_activity WHERE usename IS NOT NULL GROUP BY 1, 2")
"""Every session of a role (background workers have none), itself included, by the application it names: each
workload of the stack connects under its own name (components/connection_budget.py with_application_name)."""
DATABASE_CONNECTIONS = Instrument("postgresql.connections", "{connections}", Kind.GAUGE, ("application", "role"))
DATABASE_INTERVAL = "30s"


def otlp_endpoint(namespace: str) -> str:
    """Where the replicas send OTLP: OTEL_EXPORTER_OTLP_ENDPOINT."""
    return f"http://{COLLECTOR_NAME}.{namespace}.svc.cluster.local:{OTLP_GRPC_PORT}"


def literal(text: str) -> str:
    """A value the collector reads as written: it expands ${...} in its configuration, and $$ is a literal $."""
    return text.replace("$", "$$")


def collector_config(database: bool) -> dict[str, Any]:
    """The collector's configuration: OTLP in (and, with the database, its connections), Prometheus out, its health
    for the probes, and nothing else."""
    receivers: dict[str, Any] = {"otlp": {"protocols": {"grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}"}}}}
    if database:
        receivers["sqlquery"] = {
            "driver": "postgres", "datasource": f"${{env:{DATABASE_URL_ENV}}}", "max_open_conn": COLLECTOR_CONNECTIONS,
            "collection_interval": DATABASE_INTERVAL,
            "queries": [{"sql": CONNECTIONS_QUERY, "metrics": [{
                "metric_name": DATABASE_CONNECTIONS.name, "value_column": "connections",
                "unit": DATABASE_CONNECTIONS.unit, "attribute_columns": list(DATABASE_CONNECTIONS.attributes),
                "data_type": "gauge", "value_type": "int"}]}]}
    return {
        "receivers": receivers,
        "processors": {
            "memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 20},
            # a route outside the API's becomes one series, not one per file or made-up path (app_metrics.py)
            "transform/routes": {"error_mode": "ignore", "metric_statements": [{"context": "datapoint", "statements": [
                literal(f'set(attributes["http.route"], "{OTHER_ROUTE}") where attributes["http.route"] != nil and '
                        f'not IsMatch(attributes["http.route"], "{API_ROUTES}")')]}]},
            "batch": {},
        },
        "exporters": {"prometheus": {
            "endpoint": f"0.0.0.0:{PROMETHEUS_PORT}", "translation_strategy": PROMETHEUS_TRANSLATION,
            "metric_expiration": SERIES_EXPIRY, "resource_to_telemetry_conversion": {"enabled": False}}},
        "extensions": {"health_check": {"endpoint": f"0.0.0.0:{HEALTH_PORT}"}},
        "service": {
            "extensions": ["health_check"],
            "pipelines": {"metrics": {"receivers": list(receivers),
                                      "processors": ["memory_limiter", "transform/routes", "batch"],
                                      "exporters": ["prometheus"]}},
            # its own telemetry would be another set of series nobody reads
            "telemetry": {"metrics": {"level": "none"}},
        },
    }


@dataclass
class OtelCollectorArgs:
    image: str
    namespace: pulumi.Input[str]
    database_url: Optional[pulumi.Input[str]] = None
    """The metrics role's URL (secret); None: no database metrics."""
    postgres_server: str = ""
    """The server's resource name, for the policy pack's connection budget."""


class OtelCollector(pulumi.ComponentResource):
    pod_labels: dict[str, str]

    def __init__(self, name: str, args: OtelCollectorArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:monitoring:OtelCollector", name, None, opts)
        labels = self.pod_labels = {"app.kubernetes.io/name": COLLECTOR_NAME}
        child = pulumi.ResourceOptions(parent=self)
        metadata = k8s.meta.v1.ObjectMetaArgs(name=COLLECTOR_NAME, namespace=args.namespace, labels=labels)
        database = args.database_url is not None
        text = yaml.safe_dump(collector_config(database), sort_keys=False)
        config = k8s.core.v1.ConfigMap(f"{name}-config", metadata=metadata, data={"config.yaml": text}, opts=child)
        env = []
        if args.database_url is not None:
            secret = k8s.core.v1.Secret(f"{name}-secret", metadata=metadata, opts=child, string_data={
                DATABASE_URL_ENV: pulumi.Output.from_input(args.database_url).apply(
                    lambda url: with_application_name(url, COLLECTOR_NAME))})
            env = [k8s.core.v1.EnvVarArgs(name=DATABASE_URL_ENV, value_from=k8s.core.v1.EnvVarSourceArgs(
                secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret.metadata.name, key=DATABASE_URL_ENV)))]
        probe = k8s.core.v1.ProbeArgs(http_get=k8s.core.v1.HTTPGetActionArgs(path="/", port=HEALTH_PORT),
                                      period_seconds=10)
        budgeted = {POSTGRES_SERVER_ANNOTATION: args.postgres_server,
                     POSTGRES_CONNECTIONS_ANNOTATION: str(COLLECTOR_CONNECTIONS)} if database else {}
        k8s.apps.v1.Deployment(
            f"{name}-deployment", metadata=k8s.meta.v1.ObjectMetaArgs(
                name=COLLECTOR_NAME, namespace=args.namespace, labels=labels, annotations=budgeted or None),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1,
                # one at a time: a second pod beside it during a roll would want a second connection, past its
                # role's CONNECTION LIMIT and its budget; the gap is a scrape or two
                strategy=k8s.apps.v1.DeploymentStrategyArgs(type="Recreate"),
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    # a changed configuration rolls the pod: the collector reads it only at start
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels, annotations={
                        "openwebui/config-sha256": hashlib.sha256(text.encode()).hexdigest()}),
                    spec=k8s.core.v1.PodSpecArgs(
                        automount_service_account_token=False,  # it never calls the Kubernetes API
                        containers=[k8s.core.v1.ContainerArgs(
                            name="otel-collector", image=args.image,
                            args=[f"--config={CONFIG_DIR}/config.yaml"], env=env or None,
                            ports=[k8s.core.v1.ContainerPortArgs(container_port=OTLP_GRPC_PORT, name="otlp-grpc"),
                                   k8s.core.v1.ContainerPortArgs(container_port=PROMETHEUS_PORT, name="prometheus")],
                            resources=k8s.core.v1.ResourceRequirementsArgs(requests=RESOURCES["requests"],
                                                                           limits=RESOURCES["limits"]),
                            liveness_probe=probe, readiness_probe=probe,
                            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="config", mount_path=CONFIG_DIR,
                                                                       read_only=True)],
                            security_context=hardened(run_as_user=COLLECTOR_USER),
                        )],
                        volumes=[k8s.core.v1.VolumeArgs(name="config", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                            name=config.metadata.name))]))),
            opts=child)
        k8s.core.v1.Service(
            f"{name}-service", metadata=metadata,
            spec=k8s.core.v1.ServiceSpecArgs(selector=labels, ports=[k8s.core.v1.ServicePortArgs(
                name="otlp-grpc", port=OTLP_GRPC_PORT, target_port=OTLP_GRPC_PORT)]),
            opts=child)
        # a series keeps the job and instance its replica exported, not the collector's pod
        pod_monitor(f"{name}-pod-monitor", metadata, labels, "prometheus", self, honor_labels=True)
        self.register_outputs({})
