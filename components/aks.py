"""AksCluster: the AKS cluster, its GPU user pool, the NVIDIA device plugin and the Kubernetes provider for it."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pulumi_azure_native import authorization, containerservice

from components.alerts import AlertTarget, MetricRule, metric_alerts
from components.audit import AuditTarget, audit_logs
from components.deployer import principal_type
from components.pod_security import hardened

POD_CIDR = "10.244.0.0/16"
AKS_VERSIONS = {"1.34": date(2026, 11, 30), "1.35": date(2027, 3, 31), "1.36": date(2027, 7, 31),
                "1.37": date(2027, 10, 31)}
"""The Kubernetes minors AKS offers, each with the end of its standard support, from AKS's release calendar as read
in 2026-12 (the months are the calendar's; the day is the month's last). AKS creates clusters only on a supported
minor, so any other aksKubernetesVersion is refused at deploy. `az aks get-versions --location <region>` is the
authority: refresh this table from it when AKS releases a minor."""
"""The overlay's pod range (AKS's default, named here because Open WebUI trusts forwarded headers from it: the
edge's pods live there)."""

GPU_TAINT = "sku=gpu:NoSchedule"
"""The taint AKS docs put on GPU pools: only pods that tolerate it (and ask for a GPU) land there."""
GPU_NODE_LABEL = ("accelerator", "nvidia")
GPU_RESOURCE = "nvidia.com/gpu"
RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
"""Azure Kubernetes Service RBAC Cluster Admin: what the deploying principal needs to manage every object."""
AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630"
"""The Entra application every AKS-managed Entra cluster's API server is (kubelogin's --server-id)."""


def kubelogin_azurecli(kubeconfig: str) -> str:
    """The cluster's exec kubeconfig (kubelogin, device code) made to take the Azure CLI's token, as `kubelogin
    convert-kubeconfig -l azurecli` does: `az login` locally, azure/login (OIDC) in CI. It holds no credential."""
    config: dict[str, Any] = yaml.safe_load(kubeconfig)
    for user in config.get("users") or []:
        execution = (user.get("user") or {}).get("exec")
        if not execution:
            raise ValueError(f"kubeconfig user {user.get('name')!r} is not an exec (kubelogin) user: ask AKS for "
                             "format=exec")
        args = list(execution.get("args") or [])
        server = args[args.index("--server-id") + 1] if "--server-id" in args else AKS_SERVER_APP
        execution["args"] = ["get-token", "--login", "azurecli", "--server-id", server]
    return yaml.safe_dump(config, sort_keys=False)


DEVICE_PLUGIN_RESOURCES = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}}
"""NVIDIA's own deployment manifest for the plugin sets no requests; a Go daemon that only lists devices."""


def gpu_tolerations() -> list[k8s.core.v1.TolerationArgs]:
    """What a pod on the GPU pool tolerates: the pool's own taint, and the one some GPU images and AKS
    GPU node images add for the NVIDIA resource."""
    key, rest = GPU_TAINT.split("=")
    value, effect = rest.split(":")
    return [k8s.core.v1.TolerationArgs(key=key, operator="Equal", value=value, effect=effect),
            k8s.core.v1.TolerationArgs(key=GPU_RESOURCE, operator="Exists", effect="NoSchedule")]


@dataclass(frozen=True)
class AksSettings:
    kubernetes_version: str
    system_vm_size: str
    system_node_count: int
    gpu_pool: bool
    """False: no GPU pool and no device plugin (nothing in the stack would use them)."""
    gpu_vm_size: str
    gpu_autoscaling: bool
    gpu_node_count: int
    gpu_min_count: int
    gpu_max_count: int
    nvidia_device_plugin_image: str
    local_accounts: bool
    managed_prometheus: bool
    """The metrics add-on scrapes nodes and pods into the stack's Azure Monitor workspace (components/observability.py)."""
    """Keep the static admin certificate (aksLocalAccounts; the policy pack refuses it in prod)."""
    authorized_ip_ranges: tuple[str, ...]
    """Public API server: who may reach it, besides the cluster's own egress address."""
    private_cluster: bool
    """The API server has only a private address in the VNet (postgresNetwork private)."""

    @property
    def gpu_max_nodes(self) -> int:
        """The most GPU nodes the pool can ever run."""
        return self.gpu_max_count if self.gpu_autoscaling else self.gpu_node_count


@dataclass
class AksClusterArgs:
    settings: AksSettings
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    tags: Mapping[str, str]
    identity_id: pulumi.Input[str]
    """The user-assigned identity of the control plane (components/network.py)."""
    egress_ip_id: pulumi.Input[str]
    """The static public IP every node's outbound traffic leaves from."""
    subnet_id: Optional[pulumi.Input[str]]
    """The VNet subnet the nodes join (private network mode); None lets AKS make its own VNet."""
    permissions: Sequence[pulumi.Resource]
    """Role assignments the identity needs before the cluster is created."""
    egress_ip_address: pulumi.Input[str] = ""
    """The nodes' outbound address: a public API server admits it, or the kubelets could not reach it."""
    audit: Optional[AuditTarget] = None
    """Where the Kubernetes API's audit log goes (who did what with the cluster)."""
    alerts: Optional[AlertTarget] = None
    app_namespace: str = ""
    """The namespace whose pods not being ready alerts."""


class AksCluster(pulumi.ComponentResource):
    cluster_id: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    """A kubeconfig that asks kubelogin for an Entra token (the Azure CLI's): no credential in it."""
    provider: k8s.Provider
    """Every Kubernetes resource of the stack is created through this provider."""
    gpu_pool: Optional[containerservice.AgentPool]
    """The GPU user pool (None when the stack has no GPU workload): GPU pods wait for it."""

    def __init__(self, name: str, args: AksClusterArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:aks:AksCluster", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)

        cluster = containerservice.ManagedCluster(
            f"{name}-cluster",
            resource_group_name=args.resource_group_name,
            location=args.location,
            dns_prefix=name,
            kubernetes_version=s.kubernetes_version,
            identity=containerservice.ManagedClusterIdentityArgs(
                type=containerservice.ResourceIdentityType.USER_ASSIGNED, user_assigned_identities=[args.identity_id]),
            agent_pool_profiles=[containerservice.ManagedClusterAgentPoolProfileArgs(
                name="system", mode=containerservice.AgentPoolMode.SYSTEM, vm_size=s.system_vm_size,
                count=s.system_node_count, os_type=containerservice.OSType.LINUX, vnet_subnet_id=args.subnet_id)],
            # Azure CNI overlay (pods take no VNet addresses) with Cilium, which enforces NetworkPolicy: with
            # network_policy unset nothing would. Outbound leaves from the stack's own static IP. All of this is
            # fixed when the cluster is created.
            network_profile=containerservice.ContainerServiceNetworkProfileArgs(
                network_plugin="azure", network_plugin_mode="overlay", pod_cidr=POD_CIDR, network_policy="cilium",
                network_dataplane="cilium", load_balancer_sku="standard", outbound_type="loadBalancer",
                load_balancer_profile=containerservice.ManagedClusterLoadBalancerProfileArgs(
                    outbound_ips=containerservice.ManagedClusterLoadBalancerProfileOutboundIPsArgs(
                        public_ips=[containerservice.ResourceReferenceArgs(id=args.egress_ip_id)]))),
            # The Azure Files CSI driver (file.csi.azure.com) serves the shared data volume.
            storage_profile=containerservice.ManagedClusterStorageProfileArgs(
                file_csi_driver=containerservice.ManagedClusterStorageProfileFileCSIDriverArgs(enabled=True)),
            # People and pipelines sign in with Entra ID and get Azure RBAC roles on the cluster; with local
            # accounts off there is no static admin certificate that only a rotation revokes.
            aad_profile=containerservice.ManagedClusterAADProfileArgs(managed=True, enable_azure_rbac=True),
            disable_local_accounts=not s.local_accounts,
            azure_monitor_profile=containerservice.ManagedClusterAzureMonitorProfileArgs(
                metrics=containerservice.ManagedClusterAzureMonitorProfileMetricsArgs(enabled=True))
            if s.managed_prometheus else None,
            api_server_access_profile=containerservice.ManagedClusterAPIServerAccessProfileArgs(
                enable_private_cluster=True) if s.private_cluster else
            containerservice.ManagedClusterAPIServerAccessProfileArgs(authorized_ip_ranges=pulumi.Output.all(
                args.egress_ip_address, *s.authorized_ip_ranges).apply(
                lambda ranges: [f"{ranges[0]}/32", *ranges[1:]])) if s.authorized_ip_ranges else None,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.permissions)))

        # kube-audit-admin: every change made through the API server (not the reads, which are most of the volume);
        # guard: every Entra ID and Azure RBAC decision
        audit_logs(f"{name}-cluster", cluster.id, ["kube-audit-admin", "guard"], args.audit, self)
        self.gpu_pool = self._gpu_pool(name, args, cluster.name) if s.gpu_pool else None

        # The deployer (a person, or CI's deploy identity) administers the cluster through Azure RBAC.
        deployer = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))
        admin = authorization.RoleAssignment(
            f"{name}-deployer-cluster-admin", scope=cluster.id, principal_id=deployer.object_id,
            principal_type=principal_type(deployer.client_id), role_definition_id=pulumi.Output.concat("/subscriptions/", deployer.subscription_id,
                                                    "/providers/Microsoft.Authorization/roleDefinitions/",
                                                    RBAC_CLUSTER_ADMIN), opts=child)
        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=args.resource_group_name, resource_name=cluster.name, format="exec",
            opts=pulumi.InvokeOutputOptions(parent=self))
        self.kubeconfig = credentials.kubeconfigs[0].value.apply(
            lambda encoded: kubelogin_azurecli(base64.b64decode(encoded).decode()))
        self.provider = k8s.Provider(f"{name}-kubernetes", kubeconfig=self.kubeconfig,
                                     opts=pulumi.ResourceOptions(parent=self, depends_on=[admin]))
        self.cluster_id = cluster.id
        self.cluster_name = cluster.name

        if s.gpu_pool:
            self._nvidia_device_plugin(name, s.nvidia_device_plugin_image)
        if args.alerts:
            metric_alerts(name, cluster.id, "Microsoft.ContainerService/managedClusters", [
                MetricRule("pods-not-ready", "kube_pod_status_ready", "GreaterThan", 0, "Average",
                           f"Pods in {args.app_namespace} not ready for 15 minutes.",
                           dimensions={"namespace": [args.app_namespace], "condition": ["false"]}),
                MetricRule("node-cpu", "node_cpu_usage_percentage", "GreaterThan", 80, "Average",
                           "Node CPU over 80% for 15 minutes: pods are throttled; the HPA may be at its maximum."),
                MetricRule("node-memory", "node_memory_working_set_percentage", "GreaterThan", 80, "Average",
                           "Node memory over 80% for 15 minutes: pods will be evicted or OOM-killed."),
            ], args.alerts, parent=self)
        self.register_outputs({"cluster_id": self.cluster_id, "cluster_name": self.cluster_name,
                               "kubeconfig": self.kubeconfig})

    def _gpu_pool(self, name: str, args: AksClusterArgs,
                  cluster_name: pulumi.Input[str]) -> containerservice.AgentPool:
        s = args.settings
        return containerservice.AgentPool(
            f"{name}-gpu-pool",
            agent_pool_name="gpu",
            resource_group_name=args.resource_group_name,
            resource_name_=cluster_name,
            mode=containerservice.AgentPoolMode.USER,
            vm_size=s.gpu_vm_size,
            os_type=containerservice.OSType.LINUX,
            node_taints=[GPU_TAINT],
            node_labels=dict([GPU_NODE_LABEL]),
            gpu_profile=containerservice.GPUProfileArgs(driver=containerservice.GPUDriver.INSTALL),
            vnet_subnet_id=args.subnet_id,
            enable_auto_scaling=s.gpu_autoscaling,
            count=s.gpu_min_count if s.gpu_autoscaling else s.gpu_node_count,
            min_count=s.gpu_min_count if s.gpu_autoscaling else None,
            max_count=s.gpu_max_count if s.gpu_autoscaling else None,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self))

    def _nvidia_device_plugin(self, name: str, image: str) -> k8s.apps.v1.DaemonSet:
        """AKS installs the driver; this advertises nvidia.com/gpu so that pods can request GPUs."""
        labels = {"app.kubernetes.io/name": "nvidia-device-plugin"}
        return k8s.apps.v1.DaemonSet(
            f"{name}-nvidia-device-plugin",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="nvidia-device-plugin", namespace="kube-system",
                                                labels=labels),
            spec=k8s.apps.v1.DaemonSetSpecArgs(
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                update_strategy=k8s.apps.v1.DaemonSetUpdateStrategyArgs(type="RollingUpdate"),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        # the plugin talks to the kubelet's socket, never to the API server
                        automount_service_account_token=False,
                        priority_class_name="system-node-critical",
                        node_selector=dict([GPU_NODE_LABEL]),
                        tolerations=gpu_tolerations(),
                        containers=[k8s.core.v1.ContainerArgs(
                            name="nvidia-device-plugin",
                            image=image,
                            env=[k8s.core.v1.EnvVarArgs(name="FAIL_ON_INIT_ERROR", value="false")],
                            security_context=hardened(),
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests=DEVICE_PLUGIN_RESOURCES["requests"],
                                limits=DEVICE_PLUGIN_RESOURCES["limits"]),
                            volume_mounts=[k8s.core.v1.VolumeMountArgs(
                                name="device-plugin", mount_path="/var/lib/kubelet/device-plugins")],
                        )],
                        volumes=[k8s.core.v1.VolumeArgs(
                            name="device-plugin",
                            host_path=k8s.core.v1.HostPathVolumeSourceArgs(path="/var/lib/kubelet/device-plugins"))],
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider))
