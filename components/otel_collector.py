"""The OpenTelemetry Collector: where Open WebUI's replicas push their metrics (OTLP over gRPC), turned into the
Prometheus series (components/app_metrics.py names them) that Azure's managed Prometheus scrapes from it.

Open WebUI serves no /metrics of its own, so something in the cluster must receive OTLP. One pod is enough: it
keeps no state but the last value of each series, each replica's series carry its pod's name (`instance`), and a
restart costs one scrape's values (counters start again; rate() takes that). The add-on's replica pod (in
kube-system) finds it through a PodMonitor, the one custom-scrape kind it reads (azmonitoring.coreos.com/v1); the
NetworkPolicies (__main__.py) let only Open WebUI reach the OTLP port and only that scraper the metrics port.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s
import yaml

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
SCRAPER_LABELS = {"rsName": "ama-metrics"}
"""The managed Prometheus add-on's replica pod in kube-system: the one that runs custom scrapes (PodMonitors)."""
SCRAPER_NAMESPACE = "kube-system"
PROMETHEUS_TRANSLATION = "UnderscoreEscapingWithSuffixes"
"""The exporter's naming rule (its default, said explicitly): what components/app_metrics.py implements."""
SERIES_EXPIRY = "5m"
"""A replica gone (scaled in, replaced) stops being exported after this."""


def otlp_endpoint(namespace: str) -> str:
    """Where the replicas send OTLP: OTEL_EXPORTER_OTLP_ENDPOINT."""
    return f"http://{COLLECTOR_NAME}.{namespace}.svc.cluster.local:{OTLP_GRPC_PORT}"


def collector_config() -> dict[str, Any]:
    """The collector's configuration: OTLP in, Prometheus out, its health for the probes, and nothing else."""
    return {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}"}}}},
        "processors": {
            "memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 20},
            "batch": {},
        },
        "exporters": {"prometheus": {
            "endpoint": f"0.0.0.0:{PROMETHEUS_PORT}", "translation_strategy": PROMETHEUS_TRANSLATION,
            "metric_expiration": SERIES_EXPIRY, "resource_to_telemetry_conversion": {"enabled": False}}},
        "extensions": {"health_check": {"endpoint": f"0.0.0.0:{HEALTH_PORT}"}},
        "service": {
            "extensions": ["health_check"],
            "pipelines": {"metrics": {"receivers": ["otlp"], "processors": ["memory_limiter", "batch"],
                                      "exporters": ["prometheus"]}},
            # its own telemetry would be another set of series nobody reads
            "telemetry": {"metrics": {"level": "none"}},
        },
    }


@dataclass
class OtelCollectorArgs:
    image: str
    namespace: pulumi.Input[str]


class OtelCollector(pulumi.ComponentResource):
    pod_labels: dict[str, str]

    def __init__(self, name: str, args: OtelCollectorArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:monitoring:OtelCollector", name, None, opts)
        labels = self.pod_labels = {"app.kubernetes.io/name": COLLECTOR_NAME}
        child = pulumi.ResourceOptions(parent=self)
        metadata = k8s.meta.v1.ObjectMetaArgs(name=COLLECTOR_NAME, namespace=args.namespace, labels=labels)
        text = yaml.safe_dump(collector_config(), sort_keys=False)
        config = k8s.core.v1.ConfigMap(f"{name}-config", metadata=metadata, data={"config.yaml": text}, opts=child)
        probe = k8s.core.v1.ProbeArgs(http_get=k8s.core.v1.HTTPGetActionArgs(path="/", port=HEALTH_PORT),
                                      period_seconds=10)
        k8s.apps.v1.Deployment(
            f"{name}-deployment", metadata=metadata,
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    # a changed configuration rolls the pod: the collector reads it only at start
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels, annotations={
                        "openwebui/config-sha256": hashlib.sha256(text.encode()).hexdigest()}),
                    spec=k8s.core.v1.PodSpecArgs(
                        automount_service_account_token=False,  # it never calls the Kubernetes API
                        containers=[k8s.core.v1.ContainerArgs(
                            name="otel-collector", image=args.image,
                            args=[f"--config={CONFIG_DIR}/config.yaml"],
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
        # honorLabels: a series keeps the job and instance its replica exported, not the collector's pod
        k8s.apiextensions.CustomResource(
            f"{name}-pod-monitor", api_version="azmonitoring.coreos.com/v1", kind="PodMonitor", metadata=metadata,
            spec={"selector": {"matchLabels": labels},
                  "podMetricsEndpoints": [{"port": "prometheus", "interval": "30s", "honorLabels": True}]},
            opts=child)
        self.register_outputs({})
