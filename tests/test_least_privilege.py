"""Least privilege for the data, under the SDK's mock runtime: the app's own PostgreSQL role, the uploads' account
closed, backups that outlive an intruder, Kubernetes tokens only where the API is called, no instance metadata;
and the policies that refuse each weakened variant."""

from typing import Any

from components.names import APP_NAME
from components.connection_budget import POSTGRES_ROLE_ANNOTATION
from components.open_webui import SECRETS_ANNOTATION
from components.pod_security import API_TOKEN_PATH
from policy_fixtures import replace, seed_stack
from test_policy_validators import resource_violations, stack_violations
from offline_plan.mock_engine import MockRun, reveal, run_program
from offline_plan.policy_client import policy_config_for

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "policy"))
from least_privilege import (app_not_postgres_admin, backup_immutable, no_instance_metadata,  # noqa: E402
                             storage_not_public)

WORKLOAD_TYPES = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet",
                  "kubernetes:batch/v1:Job")


def test_the_replicas_connect_as_their_own_role_and_the_job_as_the_admin(stack_run):
    role = stack_run.inputs_of("postgres-app-role")
    budget = stack_run.outputs["connectionBudget"]
    assert role["role"] == "openwebui_app" and role["user"] == "openwebuiadmin"
    # its share of the budget: the replicas at the peak and the surge pod
    per_pod = budget["workloads"]["open-webui"]["perPod"]
    assert role["connection_limit"] == budget["roleLimits"]["openwebui_app"] == per_pod * (
        budget["workloads"]["open-webui"]["peakReplicas"] + 1)
    data = reveal(stack_run.named("open-webui-secret").inputs["stringData"])
    assert data["DATABASE_URL"].startswith("postgresql://openwebui_app:")
    assert data["SCHEMA_JOB_DATABASE_URL"].startswith("postgresql://openwebuiadmin:")
    deployment = stack_run.inputs_of("open-webui-deployment")
    assert deployment["metadata"]["annotations"][POSTGRES_ROLE_ANNOTATION] == "openwebui_app"
    job_env = {e["name"]: e.get("value") for e in stack_run.inputs_of("open-webui-migrate")["spec"]["template"]["spec"][
        "containers"][0]["env"]}
    assert job_env["APP_DATABASE_ROLE"] == "openwebui_app"
    # made once the database and its extensions exist, before anything connects with its URL
    assert {stack_run.named("postgres-database").urn, stack_run.named("postgres-extension-vector").urn} <= set(
        stack_run.named("postgres-app-role").dependencies)
    assert stack_run.named("postgres-app-role").urn in stack_run.named("open-webui-secret").dependencies


def test_a_running_stack_moves_over_in_one_up(stack_run):
    """On an existing stack `pulumi up` makes the role, rewrites the Secret, replaces the schema Job (its env gained
    APP_DATABASE_ROLE: it hands document_chunk over), then rolls the replicas: their template's digest of the
    Secret changes, so each new pod starts with the role's URL after the Job."""
    deployment = stack_run.named("open-webui-deployment")
    assert stack_run.named("open-webui-migrate").urn in deployment.dependencies
    digest = reveal(deployment.inputs)["spec"]["template"]["metadata"]["annotations"][SECRETS_ANNOTATION]
    assert len(digest) == 16 and digest not in str(reveal(stack_run.named("open-webui-secret").inputs))
    other = run_program(stack_run.stack, {"postgresAppRole": "openwebui_replicas"})
    assert reveal(other.named("open-webui-deployment").inputs)["spec"]["template"]["metadata"]["annotations"][
        SECRETS_ANNOTATION] != digest


def test_the_uploads_account_is_closed_to_the_internet(stack_run):
    account = stack_run.inputs_of("openwebuidata")
    rules = account["networkRuleSet"]
    assert rules["defaultAction"] == "Deny" and rules["bypass"] == "AzureServices"
    if stack_run.stack == "dev":
        assert account["publicNetworkAccess"] == "Enabled"
        assert rules["ipRules"] == [{"iPAddressOrRange": stack_run.outputs["egressAddress"], "action": "Allow"}]
        assert not stack_run.of_type("azure-native:network:PrivateEndpoint")
    else:
        assert account["publicNetworkAccess"] == "Disabled" and rules["ipRules"] == []
        endpoint = stack_run.inputs_of("open-webui-data-endpoint")
        assert endpoint["subnet"]["id"] == "network-aks-subnet-id"
        assert endpoint["privateLinkServiceConnections"][0]["groupIds"] == ["file"]
        zone = stack_run.inputs_of("network-files-dns")
        assert zone["privateZoneName"] == "privatelink.file.core.windows.net"
        group = stack_run.inputs_of("open-webui-data-endpoint-dns")
        assert group["privateDnsZoneConfigs"][0]["privateDnsZoneId"] == "network-files-dns-id"
        assert stack_run.inputs_of("network-files-dns-link")["virtualNetwork"]["id"] == "network-vnet-id"
    # the mount is unchanged: the same account and share by name
    volume = stack_run.inputs_of("open-webui-data-volume")
    assert volume["spec"]["csi"]["volumeAttributes"]["storageAccount"] == stack_run.named("openwebuidata").outputs["name"]


def test_backups_outlive_an_intruder_and_prod_is_locked_against_deletion(stack_run):
    vault = stack_run.inputs_of("backup-vault")["properties"]
    security = vault["securitySettings"]
    assert security["softDeleteSettings"]["softDeleteState"] == "AlwaysON"
    locks = {reveal(r.inputs)["scope"]: reveal(r.inputs)["level"] for r in
             stack_run.of_type("azure-native:authorization:ManagementLockByScope")}
    if stack_run.stack == "dev":
        assert security["immutabilitySettings"]["state"] == "Unlocked" and vault["publicNetworkAccess"] == "Enabled"
        assert locks == {}
    else:
        assert security["immutabilitySettings"]["state"] == "Locked" and vault["publicNetworkAccess"] == "Disabled"
        assert locks == {f"{n}-id": "CanNotDelete" for n in ("postgres-server", "openwebuidata", "backup-vault")}


def pod_specs(run: MockRun) -> dict[str, dict[str, Any]]:
    return {r.name: reveal(r.inputs)["spec"]["template"]["spec"] for r in run.registrations if r.type in WORKLOAD_TYPES}


def test_a_kubernetes_token_only_in_the_containers_that_call_the_api(stack_run):
    specs = pod_specs(stack_run)
    assert specs and all(spec["automountServiceAccountToken"] is False for spec in specs.values())
    holders = {(name, c["name"]) for name, spec in specs.items()
               for c in spec["containers"] + spec.get("initContainers", [])
               if any(m["mountPath"] == API_TOKEN_PATH for m in c.get("volumeMounts", []))}
    assert holders == {("open-webui-migrate", "schema-gate"), ("open-webui-resume", "schema-resume")}
    rules = stack_run.inputs_of("open-webui-schema-gate-role")["rules"]
    assert rules == [
        {"apiGroups": ["apps"], "resources": ["deployments/scale"], "resourceNames": [APP_NAME],
         "verbs": ["get", "patch"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]


def test_no_pod_of_the_namespace_reaches_instance_metadata(stack_run):
    policy = stack_run.inputs_of("network-policies-no-instance-metadata")["spec"]
    assert policy["podSelector"] == {} and policy["policyTypes"] == ["Egress"]
    [rule] = policy["egress"]
    assert rule["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}},
                          {"namespaceSelector": {}}]
    assert stack_violations(no_instance_metadata, stack_run.registrations) == []


# the policies --------------------------------------------------------------------------------------

def test_the_seed_connects_as_an_unnamed_role_and_its_pods_reach_instance_metadata():
    [admin] = stack_violations(app_not_postgres_admin, seed_stack())
    assert "open-webui connects to PostgreSQL as a role it does not name" in admin
    [metadata] = stack_violations(no_instance_metadata, seed_stack())
    assert "namespace 'ollama' can reach the node's instance metadata endpoint (169.254.169.254)" in metadata


def test_each_weakened_variant_is_refused(dev_run):
    stack = dev_run.registrations
    assert stack_violations(app_not_postgres_admin, stack) == []
    as_admin = replace(stack, "open-webui-deployment", ["metadata", "annotations", POSTGRES_ROLE_ANNOTATION],
                       "openwebuiadmin")
    assert "as the server's admin 'openwebuiadmin'" in stack_violations(app_not_postgres_admin, as_admin)[0]
    account = dev_run.named("openwebuidata")
    assert resource_violations(storage_not_public, account) == []
    opened = replace(stack, "openwebuidata", ["networkRuleSet", "defaultAction"], "Allow")
    [open_account] = [r for r in opened if r.name == "openwebuidata"]
    assert "from anywhere on the internet" in resource_violations(storage_not_public, open_account)[0]
    vault = dev_run.named("backup-vault")
    assert resource_violations(backup_immutable, vault) == []
    locked_only = resource_violations(backup_immutable, vault, {"requireLockedImmutability": True})
    assert len(locked_only) == 1 and "immutability is Unlocked" in locked_only[0]
    weak = replace(stack, "backup-vault", ["properties", "securitySettings"], {
        "immutabilitySettings": {"state": "Disabled"}, "softDeleteSettings": {"softDeleteState": "Enabled"}})
    [weak_vault] = [r for r in weak if r.name == "backup-vault"]
    found = resource_violations(backup_immutable, weak_vault)
    assert len(found) == 2 and "soft delete is Enabled" in found[1]
    open_egress = [r for r in stack if r.name != "network-policies-no-instance-metadata"]
    assert "namespace 'open-webui'" in stack_violations(no_instance_metadata, open_egress)[0]


def test_prod_makes_them_mandatory_dev_advisory(dev_run, policy_pack):
    weakened = replace(replace(dev_run.registrations, "openwebuidata", ["networkRuleSet", "defaultAction"], "Allow"),
                       "open-webui-deployment", ["metadata", "annotations", POSTGRES_ROLE_ANNOTATION], "openwebuiadmin")
    for stack, mandatory in (("dev", False), ("prod", True)):
        policy_pack.configure(policy_config_for(stack))
        found = {v.policy: v.mandatory for v in policy_pack.analyze(weakened)
                 if v.policy in ("storage-not-public", "app-not-postgres-admin")}
        assert found == {"storage-not-public": mandatory, "app-not-postgres-admin": mandatory}, stack
