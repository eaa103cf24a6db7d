"""Redis: the websocket manager that lets Open WebUI replicas share sessions and events, behind a password."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.pod_security import hardened

REDIS_PORT = 6379
REDIS_USER = 999
RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
"""Measured by `make e2e` (redis-server 7, the rendered args): 12 MiB resident at its peak while three replicas'
websockets and 200 users go through it (docs/capacity-and-cost.md, 'Sizing and node capacity'); the limit leaves room for a burst of events."""
"""The redis user of the official image: the container runs as it from the start (no su-exec, no capabilities)."""


def redis_url(host: str, password: str, port: int = REDIS_PORT) -> str:
    """What Open WebUI gets as REDIS_URL and WEBSOCKET_REDIS_URL; `make e2e` builds its local one here too."""
    return f"redis://:{password}@{host}:{port}/0"


@dataclass
class RedisArgs:
    image: str
    namespace: pulumi.Input[str]


class Redis(pulumi.ComponentResource):
    """A single in-cluster Redis. It holds only transient websocket state, so it needs no volume."""

    pod_labels: dict[str, str]
    url: pulumi.Output[str]
    """redis://:<password>@<service>:6379/0 (secret): for REDIS_URL and WEBSOCKET_REDIS_URL, through a Secret only."""

    def __init__(self, name: str, args: RedisArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:redis:Redis", name, None, opts)
        labels = self.pod_labels = {"app.kubernetes.io/name": name}
        child = pulumi.ResourceOptions(parent=self)
        # Letters and digits only: the password goes into a URL as it is.
        password = random.RandomPassword(f"{name}-password", random.RandomPasswordArgs(length=40, special=False),
                                         opts=child)
        secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
            string_data={"REDIS_PASSWORD": password.result},  # secret: RandomPassword marks its result so
            opts=child)
        probe = k8s.core.v1.ProbeArgs(
            exec_=k8s.core.v1.ExecActionArgs(
                command=["sh", "-c", 'redis-cli --no-auth-warning -a "$REDIS_PASSWORD" ping | grep -q PONG']),
            period_seconds=10)
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1,
                # One Redis holds the websocket state: two side by side during a roll would split it. Clients
                # reconnect to the new one (and no second pod counts against the node capacity).
                strategy=k8s.apps.v1.DeploymentStrategyArgs(type="Recreate"),
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        automount_service_account_token=False,  # it never calls the Kubernetes API
                        containers=[k8s.core.v1.ContainerArgs(
                            name="redis",
                            image=args.image,
                            # Transient state only: no snapshots to write, no disk needed. Kubernetes expands
                            # $(REDIS_PASSWORD) from the env, so the password never appears in the manifest.
                            args=["--save", "", "--appendonly", "no", "--requirepass", "$(REDIS_PASSWORD)"],
                            env=[k8s.core.v1.EnvVarArgs(
                                name="REDIS_PASSWORD", value_from=k8s.core.v1.EnvVarSourceArgs(
                                    secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret.metadata.name,
                                                                                     key="REDIS_PASSWORD")))],
                            ports=[k8s.core.v1.ContainerPortArgs(container_port=REDIS_PORT, name="redis")],
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests=RESOURCES["requests"], limits=RESOURCES["limits"]),
                            liveness_probe=probe,
                            readiness_probe=probe,
                            security_context=hardened(run_as_user=REDIS_USER),
                        )]),
                ),
            ),
            opts=child)
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                selector=labels,
                ports=[k8s.core.v1.ServicePortArgs(port=REDIS_PORT, target_port=REDIS_PORT, name="redis")]),
            opts=child)
        self.url = pulumi.Output.secret(pulumi.Output.all(service.metadata.name, password.result).apply(
            lambda parts: redis_url(parts[0], parts[1])))
        self.register_outputs({"url": self.url})
