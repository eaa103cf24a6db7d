"""Redis: the websocket manager that lets Open WebUI replicas share sessions and events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

REDIS_PORT = 6379


@dataclass
class RedisArgs:
    image: str
    namespace: pulumi.Input[str]


class Redis(pulumi.ComponentResource):
    """A single in-cluster Redis. It holds only transient websocket state, so it needs no volume."""

    url: pulumi.Output[str]

    def __init__(self, name: str, args: RedisArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:redis:Redis", name, None, opts)
        labels = {"app.kubernetes.io/name": name}
        probe = k8s.core.v1.ProbeArgs(
            exec_=k8s.core.v1.ExecActionArgs(command=["redis-cli", "ping"]), period_seconds=10)
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(containers=[k8s.core.v1.ContainerArgs(
                        name="redis",
                        image=args.image,
                        # Transient state only: no snapshots to write, no disk needed.
                        args=["--save", "", "--appendonly", "no"],
                        ports=[k8s.core.v1.ContainerPortArgs(container_port=REDIS_PORT, name="redis")],
                        resources=k8s.core.v1.ResourceRequirementsArgs(
                            requests={"cpu": "50m", "memory": "64Mi"}, limits={"cpu": "500m", "memory": "256Mi"}),
                        liveness_probe=probe,
                        readiness_probe=probe,
                    )]),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self))
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                selector=labels,
                ports=[k8s.core.v1.ServicePortArgs(port=REDIS_PORT, target_port=REDIS_PORT, name="redis")]),
            opts=pulumi.ResourceOptions(parent=self))
        self.url = service.metadata.name.apply(lambda host: f"redis://{host}:{REDIS_PORT}/0")
        self.register_outputs({"url": self.url})
