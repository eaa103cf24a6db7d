"""AksCluster on its own, under the SDK's mock runtime."""

import base64
from typing import Any

import pytest
import yaml

from components.aks import (AKS_SERVER_APP, RBAC_CLUSTER_ADMIN, AksCluster, AksClusterArgs, AksSettings,
                            kubelogin_azurecli)
from offline_plan.mock_engine import MOCK_KUBECONFIG, is_secret, reveal, run_components


def settings(**changes: Any) -> AksSettings:
    base = dict(kubernetes_version="1.33", system_vm_size="Standard_D4ds_v5", system_node_count=2, gpu_pool=True,
                gpu_vm_size="Standard_NC8as_T4_v3", gpu_autoscaling=False, gpu_node_count=2, gpu_min_count=0,
                gpu_max_count=2, nvidia_device_plugin_image="nvcr.io/nvidia/k8s-device-plugin:v0.17.4",
                local_accounts=False, authorized_ip_ranges=(), private_cluster=False, managed_prometheus=True)
    return AksSettings(**{**base, **changes})


def build(s: AksSettings, subnet_id: str | None = None):
    return run_components(lambda: AksCluster("aks", AksClusterArgs(
        settings=s, resource_group_name="rg", location="westeurope", tags={}, identity_id="identity-id",
        egress_ip_id="egress-id", subnet_id=subnet_id, permissions=[], egress_ip_address="198.51.100.7")))


def test_system_pool_and_files_csi_driver():
    cluster = reveal(build(settings()).named("aks-cluster").inputs)
    [pool] = cluster["agentPoolProfiles"]
    assert (pool["mode"], pool["count"], pool["vmSize"]) == ("System", 2, "Standard_D4ds_v5")
    assert cluster["storageProfile"]["fileCSIDriver"]["enabled"] is True
    assert cluster["identity"]["type"] == "UserAssigned"
    assert cluster["identity"]["userAssignedIdentities"] == ["identity-id"]


def test_network_profile_enforces_network_policy_and_egresses_from_the_static_ip():
    profile = reveal(build(settings()).named("aks-cluster").inputs)["networkProfile"]
    assert (profile["networkPlugin"], profile["networkPluginMode"]) == ("azure", "overlay")
    assert (profile["networkPolicy"], profile["networkDataplane"]) == ("cilium", "cilium")
    assert profile["outboundType"] == "loadBalancer"
    assert profile["loadBalancerProfile"]["outboundIPs"]["publicIPs"] == [{"id": "egress-id"}]


def test_nodes_join_the_given_subnet():
    run = build(settings(), subnet_id="subnet-id")
    assert reveal(run.named("aks-cluster").inputs)["agentPoolProfiles"][0]["vnetSubnetID"] == "subnet-id"
    assert reveal(run.named("aks-gpu-pool").inputs)["vnetSubnetID"] == "subnet-id"
    assert "vnetSubnetID" not in reveal(build(settings()).named("aks-cluster").inputs)["agentPoolProfiles"][0]


def test_gpu_pool_fixed_count():
    pool = reveal(build(settings()).named("aks-gpu-pool").inputs)
    assert (pool["enableAutoScaling"], pool["count"]) == (False, 2)
    assert pool["nodeTaints"] == ["sku=gpu:NoSchedule"] and pool["nodeLabels"] == {"accelerator": "nvidia"}


def test_no_gpu_pool_means_no_device_plugin_either():
    run = build(settings(gpu_pool=False))
    assert not run.of_type("azure-native:containerservice:AgentPool")
    assert not run.of_type("kubernetes:apps/v1:DaemonSet")


def test_max_nodes_follows_autoscaling():
    assert settings(gpu_autoscaling=True, gpu_max_count=3, gpu_node_count=1).gpu_max_nodes == 3
    assert settings(gpu_autoscaling=False, gpu_max_count=3, gpu_node_count=1).gpu_max_nodes == 1


def test_gpu_pool_autoscales_to_zero():
    pool = reveal(build(settings(gpu_autoscaling=True, gpu_min_count=0, gpu_max_count=3)).named("aks-gpu-pool").inputs)
    assert (pool["enableAutoScaling"], pool["count"], pool["minCount"], pool["maxCount"]) == (True, 0, 0, 3)


def test_device_plugin_tolerates_the_gpu_taint_and_runs_only_there():
    run = build(settings())
    plugin = run.named("aks-nvidia-device-plugin")
    spec = plugin.inputs["spec"]["template"]["spec"]
    assert {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"} in spec["tolerations"]
    assert spec["nodeSelector"] == {"accelerator": "nvidia"}
    assert plugin.provider.rsplit("::", 1)[0] == run.named("aks-kubernetes").urn


def test_the_kubeconfig_asks_kubelogin_for_the_azure_clis_entra_token_and_holds_no_credential():
    run = build(settings())
    kubeconfig = run.named("aks-kubernetes").inputs["kubeconfig"]
    assert not is_secret(kubeconfig)
    [user] = yaml.safe_load(kubeconfig)["users"]
    assert set(user["user"]) == {"exec"}  # no token, no client certificate
    assert user["user"]["exec"]["command"] == "kubelogin"
    assert user["user"]["exec"]["args"] == ["get-token", "--login", "azurecli", "--server-id", AKS_SERVER_APP]
    assert base64.b64encode(MOCK_KUBECONFIG.encode()).decode() not in kubeconfig
    # the provider waits for the deployer's role on the cluster: Azure RBAC decides what the token may do
    grant = reveal(run.named("aks-deployer-cluster-admin").inputs)
    assert grant["scope"] == "aks-cluster-id" and grant["roleDefinitionId"].endswith(RBAC_CLUSTER_ADMIN)
    # the mocks' deployer is CI's service principal: the SDK's default 'User' would be refused as unmatched
    assert grant["principalType"] == "ServicePrincipal"
    assert run.named("aks-deployer-cluster-admin").urn in run.named("aks-kubernetes").dependencies


def test_entra_only_and_the_api_server_limited_or_private():
    cluster = reveal(build(settings()).named("aks-cluster").inputs)
    assert cluster["aadProfile"] == {"managed": True, "enableAzureRBAC": True}
    assert cluster["disableLocalAccounts"] is True and "apiServerAccessProfile" not in cluster
    limited = reveal(build(settings(authorized_ip_ranges=("203.0.113.0/24",), local_accounts=True)).named(
        "aks-cluster").inputs)
    assert limited["disableLocalAccounts"] is False
    # the nodes' own egress address stays admitted, or the kubelets could not reach their API server
    assert limited["apiServerAccessProfile"] == {"authorizedIPRanges": ["198.51.100.7/32", "203.0.113.0/24"]}
    private = reveal(build(settings(private_cluster=True)).named("aks-cluster").inputs)
    assert private["apiServerAccessProfile"] == {"enablePrivateCluster": True}


def test_an_old_style_kubeconfig_is_refused():
    with pytest.raises(ValueError, match="ask AKS for format=exec"):
        kubelogin_azurecli("users: [{name: clusterAdmin, user: {token: abc}}]")
