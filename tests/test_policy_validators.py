"""Each policy's validator called directly with hand-built resources: passing and failing cases."""

import sys
from typing import Any, Callable

import pytest
from pulumi_policy import PolicyResource, ResourceValidationArgs, StackValidationArgs
from pulumi_policy.proxy import unknown_checking_proxy
from pulumi.runtime.rpc import UNKNOWN

from components.node_capacity import Resources
from policy_fixtures import container, registration, replace, seed_stack
from offline_plan.mock_engine import Registration, reveal

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent / "policy"))
from cost import premium_files_size  # noqa: E402
from nodes import node_capacity, pod_requests  # noqa: E402
from gpu import gpu_capacity, gpu_pods_tolerate_taint, gpu_pool_in_use, gpu_pools_tainted  # noqa: E402
from postgres import connection_budget, extensions_allow_listed, postgres_hardening  # noqa: E402
from sign_in import sign_in_closed  # noqa: E402
from workloads import images_pinned, multi_replica_shared_state, no_plaintext_secrets, workload_hygiene  # noqa: E402


def as_policy_resources(registrations: list[Registration]) -> list[PolicyResource]:
    by_urn: dict[str, PolicyResource] = {}
    for r in registrations:
        by_urn[r.urn] = PolicyResource(r.type, unknown_checking_proxy(reveal(r.inputs)), r.urn, r.name, None, None,
                                       None, [], {})
    for r in registrations:
        resource = by_urn[r.urn]
        resource.dependencies = [by_urn[u] for u in r.dependencies if u in by_urn]
        resource.property_dependencies = {k: [by_urn[u] for u in v if u in by_urn]
                                          for k, v in r.property_dependencies.items()}
    return list(by_urn.values())


def stack_violations(validate: Callable[..., Any], registrations: list[Registration],
                     config: dict[str, Any] | None = None) -> list[str]:
    found: list[str] = []
    validate(StackValidationArgs(as_policy_resources(registrations), config), lambda m, urn=None: found.append(m))
    return found


def resource_violations(validate: Callable[..., Any], r: Registration, config: dict[str, Any] | None = None) -> list[str]:
    found: list[str] = []
    validate(ResourceValidationArgs(r.type, unknown_checking_proxy(reveal(r.inputs)), r.urn, r.name, None, None, config),
             lambda m, urn=None: found.append(m))
    return found


# connection-budget

def test_seed_stack_is_over_budget():
    [message] = stack_violations(connection_budget, seed_stack())
    assert "open-webui: 20 replicas x 1 workers x [2 x (5+10 (unset: SQLAlchemy default)) main + (10+5) pgvector + 1 alembic] = 920" in message
    # its Deployment has no strategy: Kubernetes' rolling update adds 25% (5 pods) above the 20 while it rolls
    assert "open-webui-surge: 5 replicas x 1 workers x" in message
    assert "demand 1150 vs capacity 35 (50 max_connections - 15 reserved)" in message
    assert "the server's sku.name to Standard_D4ds_v5" in message


def test_small_pools_fit_the_same_server():
    stack = seed_stack()
    env = [{"name": k, "value": v} for k, v in {
        "VECTOR_DB": "pgvector", "DATABASE_POOL_SIZE": "1", "DATABASE_POOL_MAX_OVERFLOW": "0",
        "PGVECTOR_POOL_SIZE": "1", "PGVECTOR_POOL_MAX_OVERFLOW": "0", "ENABLE_DB_MIGRATIONS": "false"}.items()]
    env.append({"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "w", "key": "DATABASE_URL"}}})
    stack = replace(stack, "open-webui", ["spec", "template", "spec", "containers", 0, "env"], env)
    stack = replace(stack, "open-webui-hpa", ["spec", "maxReplicas"], 8)
    assert stack_violations(connection_budget, stack) == []   # (8 + 25% surge, 2) x 3 = 30 <= 35


def test_explicit_max_connections_configuration_raises_capacity():
    stack = seed_stack()
    server = stack[0]
    stack.append(registration("azure-native:dbforpostgresql:Configuration", "max-connections", {
        "configurationName": "max_connections", "value": "1200", "serverName": "shsorot-pg"},
        {"serverName": [server.urn]}))
    assert stack_violations(connection_budget, stack) == []   # 1150 <= 1185


def test_reserved_connections_and_sku_table_come_from_config():
    stack = replace(seed_stack(), "shsorot-pg", ["sku", "name"], "Standard_Custom")
    [message] = stack_violations(connection_budget, stack)
    assert "skuMaxConnections" in message
    assert stack_violations(connection_budget, stack,
                            {"skuMaxConnections": {"Standard_Custom": 1200}, "reservedConnections": 15}) == []
    assert stack_violations(connection_budget, stack,
                            {"skuMaxConnections": {"Standard_Custom": 1200}, "reservedConnections": 90}) != []


def test_nullpool_is_a_violation():
    stack = replace(seed_stack(), "open-webui", ["spec", "template", "spec", "containers", 0, "env", 5, "value"], "0")
    [message] = stack_violations(connection_budget, stack)
    assert "NullPool" in message


def test_pool_values_from_a_configmap_cannot_be_budgeted():
    stack = replace(seed_stack(), "open-webui", ["spec", "template", "spec", "containers", 0, "env", 5],
                    {"name": "PGVECTOR_POOL_SIZE", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}})
    [message] = stack_violations(connection_budget, stack)
    assert "PGVECTOR_POOL_SIZE must be literal" in message


def test_unknown_values_during_preview_do_not_crash():
    stack = replace(seed_stack(), "open-webui-hpa", ["spec", "maxReplicas"], UNKNOWN)
    assert stack_violations(connection_budget, stack) == []
    stack = replace(seed_stack(), "shsorot-pg", ["sku"], UNKNOWN)
    assert stack_violations(connection_budget, stack) == []


def test_workload_for_an_unnamed_server_among_several_is_reported():
    stack = seed_stack()
    stack.append(registration("azure-native:dbforpostgresql:Server", "other-pg", {"sku": {"name": "Standard_B1ms"}}))
    messages = stack_violations(connection_budget, stack)
    assert any("openwebui.io/postgres-server" in m for m in messages)


# multi-replica-shared-state

def test_seed_stack_shares_state_correctly():
    assert stack_violations(multi_replica_shared_state, seed_stack()) == []


@pytest.mark.parametrize("env_index,entry,says", [
    (0, {"name": "VECTOR_DB", "value": "chroma"}, "VECTOR_DB must not be chroma"),
    (1, {"name": "DATABASE_URL", "value": "sqlite:////app/backend/data/webui.db"}, "DATABASE_URL must point at PostgreSQL"),
    (3, {"name": "WEBUI_SECRET_KEY", "value": "same-everywhere"}, "WEBUI_SECRET_KEY must come from a Secret"),
    (4, {"name": "WEBSOCKET_MANAGER", "value": ""}, "WEBSOCKET_MANAGER must be redis"),
])
def test_multi_replica_requirements(env_index, entry, says):
    stack = replace(seed_stack(), "open-webui", ["spec", "template", "spec", "containers", 0, "env", env_index], entry)
    [message] = stack_violations(multi_replica_shared_state, stack)
    assert says in message and "20 replicas" in message


def test_read_write_once_data_volume_stops_replicas():
    stack = replace(seed_stack(), "open-webui-files-pvc", ["spec", "accessModes"], ["ReadWriteOnce"])
    [message] = stack_violations(multi_replica_shared_state, stack)
    assert "must be ReadWriteMany" in message


def test_single_replica_may_use_sqlite_and_chroma():
    stack = replace(seed_stack(), "open-webui", ["spec", "template", "spec", "containers", 0, "env"], [])
    stack = [r for r in stack if r.name != "open-webui-hpa"]
    stack = replace(stack, "open-webui", ["spec", "replicas"], 1)
    assert stack_violations(multi_replica_shared_state, stack) == []


# extensions-allow-listed

def test_allow_listed_extension_passes():
    assert stack_violations(extensions_allow_listed, seed_stack()) == []


def test_extension_missing_from_allow_list():
    stack = replace(seed_stack(), "allow-list", ["value"], "UUID-OSSP")
    [message] = stack_violations(extensions_allow_listed, stack)
    assert "'vector' is not in its server's azure.extensions allow list (uuid-ossp)" in message


# no-plaintext-secrets

def test_secret_refs_pass_and_plain_credentials_fail():
    deployment = seed_stack()[3]
    assert resource_violations(no_plaintext_secrets, deployment) == []
    bad = replace([deployment], "open-webui", ["spec", "template", "spec", "containers", 0, "env", 1],
                  {"name": "DATABASE_URL", "value": "postgresql://admin:hunter2@h:5432/db"})[0]
    [message] = resource_violations(no_plaintext_secrets, bad)
    assert "DATABASE_URL as a plain value" in message and "hunter2" not in message
    bad = replace([deployment], "open-webui", ["spec", "template", "spec", "containers", 0, "env", 1],
                  {"name": "OPENAI_API_KEY", "value": "sk-123"})[0]
    assert resource_violations(no_plaintext_secrets, bad) != []
    bad = replace([deployment], "open-webui", ["spec", "template", "spec", "containers", 0, "env", 3],
                  {"name": "WEBUI_SECRET_KEY", "value": "same-everywhere"})[0]
    assert resource_violations(no_plaintext_secrets, bad) != []


def test_redis_url_without_password_is_not_a_secret():
    job = registration("kubernetes:batch/v1:Job", "j", {"spec": {"template": {"spec": {"containers": [
        container({"REDIS_URL": "redis://redis:6379/0"})]}}}})
    assert resource_violations(no_plaintext_secrets, job) == []


# gpu-pools-tainted

def test_gpu_pool_taints():
    pool = seed_stack()[7]
    assert resource_violations(gpu_pools_tainted, pool) == []
    untainted = replace([pool], "gpu", ["nodeTaints"], None)[0]
    assert "no NoSchedule taint" in resource_violations(gpu_pools_tainted, untainted)[0]
    cpu = replace([untainted], "gpu", ["vmSize"], "Standard_D4ds_v5")[0]
    assert resource_violations(gpu_pools_tainted, cpu) == []


def test_gpu_profile_inside_the_cluster_is_checked_too():
    cluster = registration("azure-native:containerservice:ManagedCluster", "aks", {"agentPoolProfiles": [
        {"name": "system", "vmSize": "Standard_D4ds_v5"}, {"name": "gpu", "vmSize": "Standard_ND96asr_v4"}]})
    assert len(resource_violations(gpu_pools_tainted, cluster)) == 1


# gpu-capacity, gpu-pods-tolerate-taint, gpu-pool-in-use

def ollama(replicas: int, gpus: int = 1, tolerations: Any = None) -> Registration:
    return registration("kubernetes:apps/v1:StatefulSet", "ollama", {
        "metadata": {"name": "ollama", "namespace": "ai"},
        "spec": {"replicas": replicas, "template": {"spec": {
            "tolerations": [{"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]
            if tolerations is None else tolerations,
            "containers": [{"name": "ollama", "image": "ollama/ollama:0.17.7",
                            "resources": {"limits": {"nvidia.com/gpu": gpus}}}]}}}})


def test_gpu_workloads_within_the_pool_pass():
    # the seed's pool: 2 x NC8as_T4_v3, one T4 each
    assert stack_violations(gpu_capacity, seed_stack() + [ollama(2)]) == []


def test_too_many_gpu_replicas_for_the_pool():
    [message] = stack_violations(gpu_capacity, seed_stack() + [ollama(3)])
    assert "wanted 3 (ollama: 3 replicas x 1 GPU) / available 2 (Standard_NC8as_T4_v3: 2 nodes x 1 GPU)" in message
    assert "lower replicas of ollama to 2" in message


def test_autoscaling_pool_counts_its_maximum():
    stack = replace(seed_stack(), "gpu", ["enableAutoScaling"], True)
    stack = replace(stack, "gpu", ["minCount"], 0)
    stack = replace(stack, "gpu", ["maxCount"], 4)
    assert stack_violations(gpu_capacity, stack + [ollama(4)]) == []
    assert stack_violations(gpu_capacity, stack + [ollama(5)]) != []


def test_a_pod_wanting_more_gpus_than_a_node_has_never_schedules():
    [message] = stack_violations(gpu_capacity, seed_stack() + [ollama(1, gpus=2)])
    assert "asks for 2 GPUs per pod but no GPU node has that many" in message


def test_unknown_gpu_size_needs_the_pack_config():
    stack = replace(seed_stack(), "gpu", ["vmSize"], "Standard_NC6s_v9")
    [message] = stack_violations(gpu_capacity, stack + [ollama(1)])
    assert "gpusPerVm" in message
    assert stack_violations(gpu_capacity, stack + [ollama(1)], {"gpusPerVm": {"Standard_NC6s_v9": 1}}) == []


def test_gpu_pods_must_tolerate_the_taint():
    assert resource_violations(gpu_pods_tolerate_taint, ollama(1)) == []
    assert resource_violations(gpu_pods_tolerate_taint, ollama(1, tolerations=[
        {"key": "sku", "operator": "Exists"}])) == []
    [message] = resource_violations(gpu_pods_tolerate_taint, ollama(1, tolerations=[]))
    assert "do not tolerate the GPU pools' taint sku=gpu:NoSchedule" in message
    wrong = [{"key": "sku", "operator": "Equal", "value": "cpu", "effect": "NoSchedule"}]
    assert resource_violations(gpu_pods_tolerate_taint, ollama(1, tolerations=wrong)) != []


def test_gpu_pool_nothing_uses_is_flagged():
    # the seed stack as the fixture holds it: a GPU pool and no workload asking for a GPU
    [message] = stack_violations(gpu_pool_in_use, seed_stack())
    assert "serve nothing" in message
    assert stack_violations(gpu_pool_in_use, seed_stack() + [ollama(1)]) == []


# postgres-hardening

PROD = {"requireGeoRedundantBackup": True, "requireHighAvailability": True}


def test_dev_server_passes_dev_defaults_and_fails_prod_requirements():
    server = seed_stack()[0]
    assert resource_violations(postgres_hardening, server) == []
    messages = resource_violations(postgres_hardening, server, PROD)
    assert len(messages) == 2
    assert any("geo-redundant" in m for m in messages) and any("high availability" in m for m in messages)


def test_world_open_firewall_and_tls_off():
    rule = registration("azure-native:dbforpostgresql:FirewallRule", "all", {
        "startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"})
    assert "large part of the internet" in resource_violations(postgres_hardening, rule)[0]
    azure_services = registration("azure-native:dbforpostgresql:FirewallRule", "azure", {
        "startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"})
    assert resource_violations(postgres_hardening, azure_services) == []
    tls = registration("azure-native:dbforpostgresql:Configuration", "tls", {
        "configurationName": "require_secure_transport", "value": "OFF"})
    assert resource_violations(postgres_hardening, tls) == ["require_secure_transport is off: clients could connect without TLS."]


# premium-files-size and workload-hygiene (advisory)

def test_premium_claim_under_100gi():
    [message] = stack_violations(premium_files_size, seed_stack())
    assert "20Gi of Premium_LRS, which is billed as 100Gi" in message
    assert stack_violations(premium_files_size,
                            replace(seed_stack(), "open-webui-files-pvc",
                                    ["spec", "resources", "requests", "storage"], "100Gi")) == []


def test_workload_hygiene():
    deployment = seed_stack()[3]
    assert resource_violations(workload_hygiene, deployment) == []
    bare = replace([deployment], "open-webui", ["spec", "template", "spec", "containers", 0],
                   {"name": "x", "image": "nginx:1.27"})[0]
    assert resource_violations(workload_hygiene, bare) == [
        "container 'x' has no requests, limits, readinessProbe, livenessProbe."]



def test_premium_minimum_comes_from_the_pack_config():
    assert stack_violations(premium_files_size, seed_stack(), {"minimumGi": 20}) == []
    [message] = stack_violations(premium_files_size, seed_stack(), {"minimumGi": 50})
    assert "billed as 50Gi" in message


# node-capacity

def test_this_repos_stacks_fit_their_nodes(dev_run, prod_run):
    assert stack_violations(node_capacity, dev_run.registrations) == []
    assert stack_violations(node_capacity, prod_run.registrations) == []


def test_dev_at_40_replicas_overflows_its_system_pool_with_every_pod_counted(dev_run):
    stack = replace(dev_run.registrations, "open-webui-hpa", ["spec", "maxReplicas"], 40)
    [message] = stack_violations(node_capacity, stack)
    assert message.startswith("node pool of Standard_D4ds_v5 too small")
    # the HPA's maximum, the Job, Redis, and the Helm releases' pods from their values
    for line in ("open-webui-deployment: 40 x (500m, 1536Mi) = 20 CPU, 60.00 GiB",
                 "open-webui-deployment-surge: 1 x (500m, 1536Mi)", "open-webui-resume: 1 x (50m, 64Mi)",
                 "open-webui-migrate: 1 x (500m, 1536Mi)", "open-webui-redis-deployment: 1 x (50m, 64Mi)",
                 "edge-traefik: 2 x (100m, 128Mi)", "edge-cert-manager: 1 x (10m, 64Mi)",
                 "edge-cert-manager.webhook: 1 x (10m, 64Mi)", "edge-cert-manager.cainjector: 1 x (10m, 64Mi)"):
        assert line in message, line
    # the GPU pool's pods stay on the GPU pool: its taint keeps Open WebUI off it
    assert "ollama" not in message and "nvidia" not in message
    assert "lower the HPA's maxReplicas (or replicas) of open-webui-deployment from 40 to 10" in message


def seed_cluster(requests: dict[str, str]) -> list[Registration]:
    """The hand-run cluster as it ran: its one pool of 2 x Standard_NC8as_T4_v3 (no taint: Open WebUI and Redis ran
    on the GPU nodes), Open WebUI at the given requests."""
    stack = [r for r in seed_stack() if r.name != "gpu"]
    cluster = registration("azure-native:containerservice:ManagedCluster", "shsorot-aks", {"agentPoolProfiles": [
        {"name": "nodepool1", "mode": "System", "vmSize": "Standard_NC8as_T4_v3", "count": 2}]})
    return replace(stack + [cluster], "open-webui", ["spec", "template", "spec", "containers", 0, "resources",
                                                      "requests"], requests)


def test_the_seed_cluster_holds_its_planned_20_replicas_even_at_their_measured_requests():
    # at the report's 100m/256Mi the 20 replicas ask for 2 CPU; at what a replica really holds (500m/1536Mi), 10 CPU
    # and 30 GiB: the two GPU nodes (15.14 CPU, 101 GiB after AKS's reservations) hold them either way
    assert stack_violations(node_capacity, seed_cluster({"cpu": "100m", "memory": "256Mi"})) == []
    assert stack_violations(node_capacity, seed_cluster({"cpu": "500m", "memory": "1536Mi"})) == []
    # 40 measured replicas do not fit
    stack = replace(seed_cluster({"cpu": "500m", "memory": "1536Mi"}), "open-webui-hpa", ["spec", "maxReplicas"], 40)
    [message] = stack_violations(node_capacity, stack)
    # with Kubernetes' default rolling update: 25% more pods (10) while it rolls
    assert "open-webui-surge: 10 x (500m, 1536Mi)" in message
    assert "wanted 25.1 CPU" in message and "vs room 14.64 CPU" in message


def test_pods_no_pool_of_the_cluster_can_run_are_named(dev_run):
    stack = replace(dev_run.registrations, "open-webui-redis-deployment", ["spec", "template", "spec", "nodeSelector"],
                    {"agentpool": "nowhere"})
    [message] = stack_violations(node_capacity, stack)
    assert message.startswith("open-webui-redis-deployment: no node pool of the cluster can run its pods")


def test_pod_requests_count_sidecars_and_the_largest_one_off_init():
    spec = {"containers": [{"resources": {"requests": {"cpu": "100m", "memory": "100Mi"}}}],
            "initContainers": [{"resources": {"requests": {"cpu": "1", "memory": "10Mi"}}},
                               {"restartPolicy": "Always", "resources": {"requests": {"cpu": "50m", "memory": "50Mi"}}}]}
    assert pod_requests(spec) == Resources(1000, 150 * 1024 * 1024)


# images-pinned

@pytest.mark.parametrize("image,moves", [("ghcr.io/open-webui/open-webui:main", True), ("redis:latest", True),
                                         ("ghcr.io/open-webui/open-webui", True), ("localhost:5000/open-webui", True),
                                         ("ghcr.io/open-webui/open-webui:v0.12.4", False),
                                         ("ghcr.io/open-webui/open-webui@sha256:" + "0" * 64, False)])
def test_a_moving_tag_is_refused(image, moves):
    deployment = replace(seed_stack(), "open-webui", ["spec", "template", "spec", "containers", 0, "image"], image)
    found = resource_violations(images_pinned, next(r for r in deployment if r.name == "open-webui"))
    assert bool(found) == moves, found


# sign-in-closed

def env_index(run: Registration, name: str) -> int:
    env = reveal(run.inputs)["spec"]["template"]["spec"]["containers"][0]["env"]
    return next(i for i, e in enumerate(env) if e["name"] == name)


def without_env(registrations: list[Registration], resource: str, name: str) -> list[Registration]:
    [target] = [r for r in registrations if r.name == resource]
    return replace(registrations, resource, ["spec", "template", "spec", "containers", 0, "env",
                                             env_index(target, name)], None)


def test_the_seed_lets_its_first_visitor_become_admin():
    [message] = stack_violations(sign_in_closed, seed_stack())
    assert "open-webui is reachable from the internet (LoadBalancer 'open-webui-service')" in message
    assert "ENABLE_SIGNUP false does not stop the first sign-up" in message and "auth entra" in message


def test_the_stack_makes_its_admin_at_deploy_and_passes(dev_run):
    assert stack_violations(sign_in_closed, dev_run.registrations) == []


def test_without_the_jobs_admin_the_public_app_is_refused(dev_run):
    stack = without_env(dev_run.registrations, "open-webui-migrate", "WEBUI_ADMIN_EMAIL")
    [message] = stack_violations(sign_in_closed, stack)
    assert "open-webui-deployment is reachable from the internet (Ingress 'open-webui" in message


def test_an_identity_provider_alone_closes_it_and_so_does_no_way_in(dev_run):
    seed = seed_stack()
    deployment = next(r for r in seed if r.name == "open-webui")
    env = deployment.inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    sso = replace(seed, "open-webui", ["spec", "template", "spec", "containers", 0, "env"], env + [
        {"name": "OAUTH_CLIENT_ID", "valueFrom": {"secretKeyRef": {"name": "webui", "key": "OAUTH_CLIENT_ID"}}},
        {"name": "OPENID_PROVIDER_URL", "value": "https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration"},
        {"name": "ENABLE_LOGIN_FORM", "value": "false"}])
    assert stack_violations(sign_in_closed, sso) == []
    # an OAuth provider beside the password form still lets the first password sign-up through
    with_form = replace(sso, "open-webui", ["spec", "template", "spec", "containers", 0, "env", len(env) + 2, "value"],
                        "true")
    assert len(stack_violations(sign_in_closed, with_form)) == 1
    # the admin from the app's own env (WEBUI_ADMIN_EMAIL on the Deployment: upstream's way) closes it too
    made = replace(seed, "open-webui", ["spec", "template", "spec", "containers", 0, "env"], env + [
        {"name": "WEBUI_ADMIN_EMAIL", "value": "admin@example.com"}])
    assert stack_violations(sign_in_closed, made) == []
    # nothing from outside reaches it: no Ingress routes to it
    private = [r for r in without_env(dev_run.registrations, "open-webui-migrate", "WEBUI_ADMIN_EMAIL")
               if r.type != "kubernetes:networking.k8s.io/v1:Ingress"]
    assert stack_violations(sign_in_closed, private) == []
