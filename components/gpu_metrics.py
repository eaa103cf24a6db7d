"""The GPU pool's own metrics: NVIDIA's DCGM exporter on every GPU node, scraped by the managed Prometheus add-on
through a PodMonitor, for the GPU dashboard's utilisation and memory panels.

It asks for no GPU (that would take Ollama's): NVIDIA_VISIBLE_DEVICES=all has the node's NVIDIA runtime show it every
GPU. It runs within the namespace's baseline Pod Security Standard, so without what NVIDIA's own manifest adds
(SYS_ADMIN for the profiling counters, the kubelet's pod-resources socket to name the pod using a GPU): it serves
only the device counters below, per GPU and node. The NetworkPolicies (__main__.py) let only the scraper reach it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.aks import GPU_NODE_LABEL, gpu_tolerations
from components.managed_prometheus import pod_monitor
from components.pod_security import hardened

EXPORTER_NAME = "dcgm-exporter"
METRICS_PORT = 9400
COUNTERS_DIR = "/etc/dcgm-exporter/stack"
COUNTERS = {
    "DCGM_FI_DEV_GPU_UTIL": "GPU utilization (in %).",
    "DCGM_FI_DEV_FB_USED": "Framebuffer memory used (in MiB).",
    "DCGM_FI_DEV_FB_FREE": "Framebuffer memory free (in MiB).",
}
"""The fields it exports (each a gauge, the metric named as the field), as its collectors file lists them."""
RESOURCES = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}
"""Not measured here (no GPU): NVIDIA's manifest sets none; room for the host engine it embeds."""


def counters_file() -> str:
    """The exporter's collectors file: `field, Prometheus type, help` per line."""
    return "".join(f"{field}, gauge, {help_text}\n" for field, help_text in COUNTERS.items())


@dataclass
class GpuMetricsArgs:
    image: str
    namespace: pulumi.Input[str]


class GpuMetrics(pulumi.ComponentResource):
    pod_labels: dict[str, str]

    def __init__(self, name: str, args: GpuMetricsArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:monitoring:GpuMetrics", name, None, opts)
        labels = self.pod_labels = {"app.kubernetes.io/name": EXPORTER_NAME}
        child = pulumi.ResourceOptions(parent=self)
        metadata = k8s.meta.v1.ObjectMetaArgs(name=EXPORTER_NAME, namespace=args.namespace, labels=labels)
        counters = k8s.core.v1.ConfigMap(f"{name}-counters", metadata=metadata,
                                         data={"counters.csv": counters_file()}, opts=child)
        k8s.apps.v1.DaemonSet(
            f"{name}-daemonset", metadata=metadata,
            spec=k8s.apps.v1.DaemonSetSpecArgs(
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        automount_service_account_token=False,  # it never calls the Kubernetes API
                        node_selector=dict([GPU_NODE_LABEL]), tolerations=gpu_tolerations(),
                        containers=[k8s.core.v1.ContainerArgs(
                            name=EXPORTER_NAME, image=args.image,
                            env=[k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in {
                                "NVIDIA_VISIBLE_DEVICES": "all", "DCGM_EXPORTER_KUBERNETES": "false",
                                "DCGM_EXPORTER_LISTEN": f":{METRICS_PORT}",
                                "DCGM_EXPORTER_COLLECTORS": f"{COUNTERS_DIR}/counters.csv"}.items()],
                            ports=[k8s.core.v1.ContainerPortArgs(container_port=METRICS_PORT, name="metrics")],
                            resources=k8s.core.v1.ResourceRequirementsArgs(requests=RESOURCES["requests"],
                                                                           limits=RESOURCES["limits"]),
                            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="counters", mount_path=COUNTERS_DIR,
                                                                       read_only=True)],
                            security_context=hardened(),
                        )],
                        volumes=[k8s.core.v1.VolumeArgs(
                            name="counters",
                            config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=counters.metadata.name))]))),
            opts=child)
        pod_monitor(f"{name}-pod-monitor", metadata, labels, "metrics", self)
        self.register_outputs({})
