"""Ollama: the model server on the GPU pool, one GPU and one model disk per replica, wired into Open WebUI."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.aks import GPU_NODE_LABEL, GPU_RESOURCE, gpu_tolerations
from components.pod_security import NOBODY, hardened
from in_cluster import PROGRAMS

OLLAMA_PORT = 11434
SERVICE_NAME = "ollama"
GPUS_PER_POD = 1
MODELS_DIR = "/root/.ollama"
PULL_SCRIPT = PROGRAMS / "ollama_pull.py"
READY_FILE = "/tmp/models-ready"
PULLER_RESOURCES = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}
"""The model gate is one small Python script (ollama_pull.py, standard library only) polling Ollama's API."""


def service_url(namespace: str, service: str = SERVICE_NAME) -> str:
    """The Service's stable in-cluster URL, the one Open WebUI is given."""
    return f"http://{service}.{namespace}.svc.cluster.local:{OLLAMA_PORT}"


@dataclass(frozen=True)
class OllamaSettings:
    image: str
    replicas: int
    models: tuple[str, ...]
    disk_gi: int
    keep_alive: str
    num_parallel: int
    max_loaded_models: int
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str
    puller_image: str

    def environment(self) -> dict[str, str]:
        return {
            "OLLAMA_HOST": f"0.0.0.0:{OLLAMA_PORT}",
            "OLLAMA_KEEP_ALIVE": self.keep_alive,
            "OLLAMA_NUM_PARALLEL": str(self.num_parallel),
            "OLLAMA_MAX_LOADED_MODELS": str(self.max_loaded_models),
        }


@dataclass
class OllamaArgs:
    settings: OllamaSettings
    namespace: pulumi.Input[str]
    node_pool: Optional[pulumi.Resource]
    """The GPU pool the pods run on: the StatefulSet is created once it exists."""


class Ollama(pulumi.ComponentResource):
    """A StatefulSet of `ollama serve`, each pod with one GPU, its own Premium SSD for /root/.ollama, and a
    `model-puller` container that keeps the pod unready until every configured model is on that disk."""

    pod_labels: dict[str, str]
    url: pulumi.Output[str]
    """The in-cluster URL of the Service (see service_url)."""

    def __init__(self, name: str, args: OllamaArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:ollama:Ollama", name, None, opts)
        s = args.settings
        labels = self.pod_labels = {"app.kubernetes.io/name": name}
        child = pulumi.ResourceOptions(parent=self)
        script = PULL_SCRIPT.read_text()

        # Premium SSD, bound where the first pod lands (Azure Disks are zonal), resizable in place. Delete on
        # release: models are downloads, not data; the StatefulSet keeps each claim across restarts and scaling.
        disk_class = k8s.storage.v1.StorageClass(
            f"{name}-models-class",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{name}-models-premium-ssd"),
            provisioner="disk.csi.azure.com",
            parameters={"skuName": "Premium_LRS"},
            reclaim_policy="Delete",
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            opts=child)
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-pull-script",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{name}-pull-script", namespace=args.namespace, labels=labels),
            data={PULL_SCRIPT.name: script},
            opts=child)
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=SERVICE_NAME, namespace=args.namespace, labels=labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP", selector=labels,
                ports=[k8s.core.v1.ServicePortArgs(name="http", port=OLLAMA_PORT, target_port=OLLAMA_PORT)]),
            opts=child)

        k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
            spec=k8s.apps.v1.StatefulSetSpecArgs(
                replicas=s.replicas,
                service_name=service.metadata.name,
                # Replicas pull their models side by side instead of one after another.
                pod_management_policy="Parallel",
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels, annotations={
                        # A new pull script rolls the pods, as a new model list does through the args.
                        "openwebui.io/pull-script-sha256": hashlib.sha256(script.encode()).hexdigest()}),
                    spec=k8s.core.v1.PodSpecArgs(
                        # it never calls the Kubernetes API: no token to steal from it
                        automount_service_account_token=False,
                        node_selector=dict([GPU_NODE_LABEL]),
                        tolerations=gpu_tolerations(),
                        containers=[self._server(s), self._model_puller(s)],
                        volumes=[k8s.core.v1.VolumeArgs(
                            name="pull-script",
                            config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=config_map.metadata.name))],
                    ),
                ),
                volume_claim_templates=[k8s.core.v1.PersistentVolumeClaimArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(name="models"),
                    spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                        access_modes=["ReadWriteOnce"], storage_class_name=disk_class.metadata.name,
                        resources=k8s.core.v1.VolumeResourceRequirementsArgs(
                            requests={"storage": f"{s.disk_gi}Gi"})))],
                # Scaling down or deleting keeps the disks: scaling back up finds its models there.
                persistent_volume_claim_retention_policy=(
                    k8s.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs(
                        when_deleted="Retain", when_scaled="Retain")),
            ),
            # `pulumi up` waits for every replica to be Ready, i.e. for its models: a first pull of a large model,
            # after a GPU node scaled up from zero, takes far longer than the provider's 10-minute default.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[args.node_pool] if args.node_pool else None,
                custom_timeouts=pulumi.CustomTimeouts(create="60m", update="60m")))

        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=1, selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels)),
            opts=child)

        self.url = pulumi.Output.all(service.metadata.namespace, service.metadata.name).apply(
            lambda parts: service_url(str(parts[0]), str(parts[1])))
        self.register_outputs({"url": self.url})

    @staticmethod
    def _server(s: OllamaSettings) -> k8s.core.v1.ContainerArgs:
        def probe(period: int, failures: int) -> k8s.core.v1.ProbeArgs:
            return k8s.core.v1.ProbeArgs(
                http_get=k8s.core.v1.HTTPGetActionArgs(path="/api/version", port=OLLAMA_PORT),
                period_seconds=period, failure_threshold=failures, timeout_seconds=5)

        return k8s.core.v1.ContainerArgs(
            name="ollama",
            image=s.image,
            ports=[k8s.core.v1.ContainerPortArgs(container_port=OLLAMA_PORT, name="http")],
            env=[k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in s.environment().items()],
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests={"cpu": s.cpu_request, "memory": s.memory_request},
                limits={"cpu": s.cpu_limit, "memory": s.memory_limit, GPU_RESOURCE: str(GPUS_PER_POD)}),
            # Up to 10 minutes to come up: CUDA initialisation on a node that has just joined can be slow.
            startup_probe=probe(period=10, failures=60),
            liveness_probe=probe(period=20, failures=3),
            readiness_probe=probe(period=10, failures=3),
            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="models", mount_path=MODELS_DIR)],
            security_context=hardened(),
        )

    @staticmethod
    def _model_puller(s: OllamaSettings) -> k8s.core.v1.ContainerArgs:
        """The pod's gate: Ready only once its script has every model on the disk (see ollama_pull.py)."""
        return k8s.core.v1.ContainerArgs(
            name="model-puller",
            image=s.puller_image,
            command=["python", f"/scripts/{PULL_SCRIPT.name}", "--url", f"http://127.0.0.1:{OLLAMA_PORT}",
                     "--models", ",".join(s.models), "--ready-file", READY_FILE, "--hold"],
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests=PULLER_RESOURCES["requests"], limits=PULLER_RESOURCES["limits"]),
            readiness_probe=k8s.core.v1.ProbeArgs(
                exec_=k8s.core.v1.ExecActionArgs(command=["test", "-f", READY_FILE]), period_seconds=5),
            # The gate lives as long as the server it gates: if Ollama dies, the puller restarts with it and
            # checks the models again.
            liveness_probe=k8s.core.v1.ProbeArgs(
                http_get=k8s.core.v1.HTTPGetActionArgs(path="/api/version", port=OLLAMA_PORT),
                initial_delay_seconds=600, period_seconds=20, failure_threshold=6, timeout_seconds=5),
            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="pull-script", mount_path="/scripts", read_only=True)],
            security_context=hardened(run_as_user=NOBODY),
        )
