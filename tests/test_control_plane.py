"""The control plane, under the SDK's mock runtime: Entra ID on the cluster, the API server limited or private, the
provider signed in with an Entra token, an audit trail; and the policies that refuse a cluster without them."""

import pytest

from components.aks import RBAC_CLUSTER_ADMIN
from policy_fixtures import replace
from test_policy_validators import resource_violations, seed_cluster, stack_violations
from offline_plan.mock_engine import reveal, run_program

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "policy"))
from control_plane import cluster_api_limited, cluster_audit_logs, cluster_local_accounts_off  # noqa: E402


def test_entra_id_on_the_cluster_and_the_api_server_private_in_prod(stack_run):
    cluster = stack_run.inputs_of("aks-cluster")
    assert cluster["aadProfile"] == {"managed": True, "enableAzureRBAC": True}
    assert cluster["disableLocalAccounts"] is True
    if stack_run.stack == "prod":
        assert cluster["apiServerAccessProfile"] == {"enablePrivateCluster": True}
    else:  # public, open until aksAuthorizedIpRanges names who may reach it (advisory in dev)
        assert "apiServerAccessProfile" not in cluster
    grant = stack_run.inputs_of("aks-deployer-cluster-admin")
    assert grant["roleDefinitionId"].endswith(RBAC_CLUSTER_ADMIN) and grant["scope"] == "aks-cluster-id"
    # the stack's kubeconfig output is the provider's: kubelogin with the Azure CLI's token, nothing to steal
    assert "kubeconfig" not in stack_run.secret_outputs
    assert "--login" in stack_run.outputs["kubeconfig"] and "azurecli" in stack_run.outputs["kubeconfig"]
    assert "token:" not in stack_run.outputs["kubeconfig"] and "client-key" not in stack_run.outputs["kubeconfig"]


def test_authorized_ranges_keep_the_clusters_own_egress_address():
    cluster = run_program("dev", {"aksAuthorizedIpRanges": ["203.0.113.0/24"]}).inputs_of("aks-cluster")
    assert cluster["apiServerAccessProfile"]["authorizedIPRanges"][1:] == ["203.0.113.0/24"]
    assert cluster["apiServerAccessProfile"]["authorizedIPRanges"][0].endswith("/32")


def test_an_audit_trail_for_the_cluster_the_server_the_share_and_the_vault(stack_run):
    workspace = stack_run.inputs_of("audit-workspace")
    assert workspace["retentionInDays"] == {"dev": 30, "prod": 365}[stack_run.stack]
    settings = {r.name: reveal(r.inputs) for r in stack_run.of_type("azure-native:monitor:DiagnosticSetting")}
    categories = {name: [log["category"] for log in s["logs"]] for name, s in settings.items()}
    assert categories["aks-cluster-audit"] == ["kube-audit-admin", "guard"]
    assert categories["postgres-server-audit"] == ["PostgreSQLLogs"]
    assert categories["open-webui-data-files-audit"] == ["StorageRead", "StorageWrite", "StorageDelete"]
    assert "AddonAzureBackupJobs" in categories["backup-vault-audit"]
    assert all(s["workspaceId"] == "audit-workspace-id" for s in settings.values())
    assert settings["open-webui-data-files-audit"]["resourceUri"] == "openwebuidata-id/fileServices/default"
    assert stack_violations(cluster_audit_logs, stack_run.registrations) == []


def test_the_seed_fails_every_control_plane_policy():
    """The hand-stack_run cluster as `az aks create` made it: local accounts, a public API server, no diagnostics."""
    seed = seed_cluster({"cpu": "100m", "memory": "256Mi"})
    [cluster] = [r for r in seed if r.name == "shsorot-aks"]
    assert "keeps its local accounts" in resource_violations(cluster_local_accounts_off, cluster)[0]
    assert "answers the whole internet" in resource_violations(cluster_api_limited, cluster)[0]
    assert "nothing records who used cluster shsorot-aks" in stack_violations(cluster_audit_logs, seed)[0]


def test_weakened_clusters_are_refused(dev_run):
    local = replace(dev_run.registrations, "aks-cluster", ["disableLocalAccounts"], False)
    [cluster] = [r for r in local if r.name == "aks-cluster"]
    assert resource_violations(cluster_local_accounts_off, cluster)
    assert resource_violations(cluster_local_accounts_off, dev_run.named("aks-cluster")) == []
    unaudited = [r for r in dev_run.registrations if r.name != "aks-cluster-audit"]
    assert "aks-cluster" in stack_violations(cluster_audit_logs, unaudited)[0]


def test_bad_ranges_are_refused_naming_the_key():
    from components.stack_config import ConfigError
    for ranges, says in ((["203.0.113.300/24"], "not an IPv4 range in CIDR form"), (["0.0.0.0/0"], "large part")):
        with pytest.raises(ConfigError, match=says):
            run_program("dev", {"aksAuthorizedIpRanges": ranges})
    with pytest.raises(ConfigError, match="aksAuthorizedIpRanges: the private cluster"):
        run_program("prod", {"aksAuthorizedIpRanges": ["203.0.113.0/24"]})


def test_defender_is_off_by_default_and_priced_when_on(stack_run):
    from components.cost import estimate
    assert not stack_run.of_type("azure-native:security:Pricing")
    bill = estimate((r.name, r.type, reveal(r.inputs)) for r in stack_run.registrations)
    assert any(item.startswith("Log Analytics audit logs: $2.3 per GB ingested") for item in bill.unpriced)
    on = run_program(stack_run.stack, {"defenderEnabled": True})
    plans = {reveal(r.inputs)["pricingName"]: reveal(r.inputs) for r in on.of_type("azure-native:security:Pricing")}
    assert set(plans) == {"Containers", "StorageAccounts", "OpenSourceRelationalDatabases"}
    assert all(p["pricingTier"] == "Standard" and p["scopeId"].startswith("/subscriptions/") for p in plans.values())
    lines = {line.item: line for line in estimate((r.name, r.type, reveal(r.inputs)) for r in on.registrations).lines}
    # every node's vCPUs, at the pools' fewest and most nodes: dev 2 x D4ds_v5 (8) + 0..2 x NC8as_T4_v3 (0..16)
    containers = lines["Defender for Containers"]
    assert (containers.low, containers.high) == {"dev": (round(8 * 6.87, 2), round(24 * 6.87, 2)),
                                                 "prod": (round(32 * 6.87, 2), round(32 * 6.87, 2))}[stack_run.stack]
    assert lines["Defender for Storage"].high == 10.0 and lines["Defender for open-source databases"].high == 15.0
