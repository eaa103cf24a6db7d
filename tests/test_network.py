"""Network isolation, per mode and per stack: who may reach PostgreSQL, Redis, Ollama and Open WebUI."""

from __future__ import annotations

import pytest

from offline_plan.mock_engine import MOCK_EGRESS_ADDRESS, MockRun, reveal, run_program

NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job",
             "kubernetes:apps/v1:DaemonSet")


@pytest.fixture(scope="module", params=[("dev", "public"), ("dev", "private"), ("prod", "public"), ("prod", "private")],
                ids=lambda p: f"{p[0]}-{p[1]}")
def run(request: pytest.FixtureRequest) -> MockRun:
    stack, mode = request.param
    return run_program(stack, {"postgresNetwork": mode})


def inputs(run: MockRun, name: str) -> dict:
    return reveal(run.named(name).inputs)


def test_the_cluster_egresses_from_its_own_static_ip(run):
    ip = inputs(run, "network-aks-egress")
    assert ip["sku"] == {"name": "Standard", "tier": "Regional"} and ip["publicIPAllocationMethod"] == "Static"
    profile = inputs(run, "aks-cluster")["networkProfile"]
    assert profile["loadBalancerProfile"]["outboundIPs"]["publicIPs"] == [{"id": "network-aks-egress-id"}]
    # the identity AKS runs as may manage that IP before the cluster exists
    grant = inputs(run, "network-aks-egress-network-contributor")
    assert grant["scope"] == "network-aks-egress-id" and grant["roleDefinitionId"].endswith(NETWORK_CONTRIBUTOR)
    assert run.named("network-aks-egress-network-contributor").urn in run.named("aks-cluster").dependencies
    assert inputs(run, "aks-cluster")["identity"] == {"type": "UserAssigned",
                                                      "userAssignedIdentities": ["network-aks-identity-id"]}


def test_public_mode_admits_the_egress_address_and_nothing_of_all_azure(run):
    rules = {r.name: reveal(r.inputs) for r in run.of_type("azure-native:dbforpostgresql:FirewallRule")}
    if run.outputs["postgresNetwork"] == "private":
        assert rules == {}
        return
    assert set(rules) == {"postgres-fw-aks-egress"}
    assert rules["postgres-fw-aks-egress"]["startIpAddress"] == rules["postgres-fw-aks-egress"]["endIpAddress"] \
        == MOCK_EGRESS_ADDRESS
    assert inputs(run, "postgres-server")["network"] == {"publicNetworkAccess": "Enabled"}
    assert not run.of_type("azure-native:network:VirtualNetwork")


def test_private_mode_puts_the_server_in_a_delegated_subnet_behind_private_dns(run):
    if run.outputs["postgresNetwork"] == "public":
        return
    assert inputs(run, "network-vnet")["addressSpace"] == {"addressPrefixes": ["10.42.0.0/16"]}
    subnet = inputs(run, "network-postgres-subnet")
    assert subnet["addressPrefix"] == "10.42.16.0/28"
    assert subnet["delegations"] == [{"name": "postgres", "serviceName": "Microsoft.DBforPostgreSQL/flexibleServers"}]
    zone = inputs(run, "network-postgres-dns")
    assert zone["privateZoneName"] == f"openwebui-{run.stack}.private.postgres.database.azure.com"
    assert zone["location"] == "Global"
    link = inputs(run, "network-postgres-dns-link")
    assert link["virtualNetwork"] == {"id": "network-vnet-id"} and link["registrationEnabled"] is False
    server = run.named("postgres-server")
    assert reveal(server.inputs)["network"] == {
        "delegatedSubnetResourceId": "network-postgres-subnet-id",
        "privateDnsZoneArmResourceId": "network-postgres-dns-id", "publicNetworkAccess": "Disabled"}
    assert run.named("network-postgres-dns-link").urn in server.dependencies
    # AKS joins the VNet (Azure CNI overlay) with Network Contributor on its subnet
    assert inputs(run, "aks-cluster")["agentPoolProfiles"][0]["vnetSubnetID"] == "network-aks-subnet-id"
    assert inputs(run, "network-aks-subnet-network-contributor")["scope"] == "network-aks-subnet-id"
    assert run.named("network-aks-subnet-network-contributor").urn in run.named("aks-cluster").dependencies


def test_the_cluster_enforces_network_policy(run):
    profile = inputs(run, "aks-cluster")["networkProfile"]
    assert (profile["networkPlugin"], profile["networkPluginMode"], profile["networkPolicy"]) == (
        "azure", "overlay", "cilium")


def test_ingress_is_denied_by_default_and_allowed_only_where_it_must(run):
    policies = {r.name: reveal(r.inputs)["spec"] for r in run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")}
    assert policies["network-policies-default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    webui = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "open-webui"}}}
    assert policies["network-policies-redis"]["ingress"] == [{"from": [webui], "ports": [{"port": 6379,
                                                                                            "protocol": "TCP"}]}]
    assert policies["network-policies-ollama"]["ingress"] == [{"from": [webui], "ports": [{"port": 11434,
                                                                                             "protocol": "TCP"}]}]
    # Open WebUI and cert-manager's HTTP-01 solvers: from the edge's Traefik pods only
    edge = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}},
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "edge"}}}
    assert policies["network-policies-open-webui"]["ingress"] == [{"from": [edge], "ports": [{"port": 8080,
                                                                                                "protocol": "TCP"}]}]
    assert policies["network-policies-acme-http01-solver"] == {
        "podSelector": {"matchLabels": {"acme.cert-manager.io/http01-solver": "true"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [edge], "ports": [{"port": 8089, "protocol": "TCP"}]}]}
    selected = {name: spec["podSelector"].get("matchLabels") for name, spec in policies.items()}
    assert selected["network-policies-ollama"] == {"app.kubernetes.io/name": "ollama"}
    assert selected["network-policies-redis"] == {"app.kubernetes.io/name": "open-webui-redis"}


def test_namespace_enforces_baseline_and_warns_on_restricted(run):
    labels = inputs(run, "namespace")["metadata"]["labels"]
    assert labels == {"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted",
                      "pod-security.kubernetes.io/audit": "restricted"}


def test_every_container_is_hardened(run):
    for r in run.registrations:
        if r.type not in WORKLOADS:
            continue
        spec = reveal(r.inputs)["spec"]["template"]["spec"]
        for c in spec["containers"] + spec.get("initContainers", []):
            context = c["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, (r.name, c["name"])
            assert context["capabilities"] == {"drop": ["ALL"]}, (r.name, c["name"])
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, (r.name, c["name"])
    non_root = {c["name"]: c["securityContext"] for r in run.registrations if r.type in WORKLOADS
                for c in reveal(r.inputs)["spec"]["template"]["spec"]["containers"]
                if c["securityContext"].get("runAsNonRoot")}
    assert set(non_root) == {"redis", "model-puller", "otel-collector"}  # the images that can run as a user do


def test_all_of_azure_only_when_listed_and_then_flagged(policy_pack):
    from offline_plan.policy_client import check_stack

    run = run_program("dev", {"postgresFirewallRules": ["0.0.0.0-0.0.0.0"]})
    assert run.named("postgres-fw-azure-services")
    [violation] = check_stack(policy_pack, "dev", run.registrations)
    assert (violation.policy, violation.enforcement) == ("postgres-not-open-to-azure", "advisory")
    prod = run_program("prod", {"postgresNetwork": "public", "postgresFirewallRules": ["0.0.0.0-0.0.0.0"]})
    levels = {v.policy: v.enforcement for v in check_stack(policy_pack, "prod", prod.registrations)}
    # a public prod also opens its cluster's API server, which prod's pack refuses too
    assert levels == {"postgres-not-open-to-azure": "mandatory", "cluster-api-limited": "mandatory"}
