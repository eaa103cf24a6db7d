"""The pack run as the engine runs it: `python -m pulumi.policy`, over its own gRPC analyzer server."""

import pytest

from policy_fixtures import replace, seed_stack
from offline_plan.mock_engine import run_program
from offline_plan.policy_client import PolicyPackServer, policy_config_for


@pytest.fixture(scope="module")
def pack():
    with PolicyPackServer() as server:
        yield server


def test_analyzer_info_lists_every_policy_with_its_config_schema(pack):
    info = pack.info()
    assert info.name == "openwebui-aks"
    policies = {p.name: p for p in info.policies}
    assert set(policies) == {"connection-budget", "multi-replica-shared-state", "extensions-allow-listed",
                             "no-plaintext-secrets", "gpu-pools-tainted", "postgres-hardening",
                             "premium-files-size", "workload-hygiene", "gpu-capacity", "gpu-pods-tolerate-taint",
                             "gpu-pool-in-use", "postgres-not-open-to-azure", "redis-password",
                             "namespace-default-deny", "no-privilege-escalation", "open-webui-tls-only",
                             "connection-alert", "monthly-budget", "node-capacity", "data-backed-up", "images-pinned",
                             "sign-in-closed", "app-not-postgres-admin", "storage-not-public", "backup-immutable",
                             "no-instance-metadata", "cluster-local-accounts-off", "cluster-api-limited",
                             "cluster-audit-logs"}
    assert policies["gpu-capacity"].configSchema.properties["gpusPerVm"]["default"]["Standard_NC64as_T4_v3"] == 4
    budget_schema = policies["connection-budget"].configSchema.properties
    assert budget_schema["reservedConnections"]["default"] == 15
    assert budget_schema["skuMaxConnections"]["default"]["Standard_B1ms"] == 50


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_this_repos_stacks_pass(pack, stack, request):
    pack.configure(policy_config_for(stack))
    assert pack.analyze(request.getfixturevalue(f"{stack}_run").registrations) == []


def test_seed_stack_fails_the_budget_and_its_plain_http_login_and_is_warned_about_its_claim(pack):
    pack.configure(policy_config_for("dev"))
    violations = pack.analyze(seed_stack())
    by_policy = {v.policy: v for v in violations}
    assert set(by_policy) == {"connection-budget", "premium-files-size", "gpu-pool-in-use", "postgres-not-open-to-azure",
                              "redis-password", "namespace-default-deny", "no-privilege-escalation",
                              "open-webui-tls-only", "connection-alert", "data-backed-up", "images-pinned",
                              "sign-in-closed", "app-not-postgres-admin", "no-instance-metadata"}
    assert by_policy["gpu-pool-in-use"].enforcement == "advisory"
    assert by_policy["data-backed-up"].enforcement == "advisory"  # mandatory with prod's config, below
    assert not any(v.mandatory for v in violations
                   if v.policy not in ("connection-budget", "open-webui-tls-only", "images-pinned", "sign-in-closed"))
    # the hand-run system's login page, first come first admin
    assert by_policy["sign-in-closed"].mandatory and by_policy["sign-in-closed"].urn.endswith("::open-webui")
    # the hand-run system's ghcr.io/open-webui/open-webui:main
    assert by_policy["images-pinned"].mandatory and "open-webui:main, a tag that moves" in by_policy[
        "images-pinned"].message
    # the hand-run system's http://<public ip>
    assert by_policy["open-webui-tls-only"].mandatory
    assert "Service 'open-webui-service' (LoadBalancer)" in by_policy["open-webui-tls-only"].message
    assert by_policy["open-webui-tls-only"].urn.endswith("::open-webui-service")
    assert by_policy["connection-budget"].mandatory
    assert "demand 1150 vs capacity 35" in by_policy["connection-budget"].message
    assert by_policy["connection-budget"].urn.endswith("::shsorot-pg")
    assert by_policy["premium-files-size"].enforcement == "advisory"


def test_dev_stack_pushed_over_budget_fails(pack, dev_run):
    pack.configure(policy_config_for("dev"))
    run = dev_run
    stack = replace(run.registrations, "open-webui-hpa", ["spec", "maxReplicas"], 10)
    [violation] = pack.analyze(stack)
    assert violation.policy == "connection-budget" and violation.mandatory
    assert "open-webui-deployment: 10 replicas x 1 workers x [2 x (2+1) main + (2+0) pgvector] = 80" in violation.message
    assert "open-webui-migrate: 1 replicas" in violation.message


def test_prod_config_makes_hardening_mandatory_for_a_dev_server(pack, dev_run):
    pack.configure(policy_config_for("prod"))
    violations = [v for v in pack.analyze(dev_run.registrations) if v.policy == "postgres-hardening"]
    assert len(violations) == 2 and all(v.mandatory for v in violations)
    pack.configure(policy_config_for("dev"))
    assert [v for v in pack.analyze(dev_run.registrations) if v.policy == "postgres-hardening"] == []


def test_mandatory_resource_policies_over_grpc(pack):
    pack.configure({})
    stack = replace(seed_stack(), "gpu", ["nodeTaints"], None)
    stack = replace(stack, "open-webui", ["spec", "template", "spec", "containers", 0, "env", 3],
                    {"name": "WEBUI_SECRET_KEY", "value": "not-from-a-secret"})
    stack = replace(stack, "allow-list", ["value"], "UUID-OSSP")
    policies = {(v.policy, v.enforcement) for v in pack.analyze(stack)}
    assert {("gpu-pools-tainted", "mandatory"), ("no-plaintext-secrets", "mandatory"),
            ("multi-replica-shared-state", "mandatory"), ("extensions-allow-listed", "mandatory")} <= policies


def test_prod_makes_the_isolation_rules_mandatory_on_the_seed(pack):
    pack.configure(policy_config_for("prod"))
    levels = {v.policy: v.enforcement for v in pack.analyze(seed_stack())}
    for policy in ("postgres-not-open-to-azure", "redis-password", "namespace-default-deny", "no-privilege-escalation"):
        assert levels[policy] == "mandatory", policy


def test_open_webui_behind_an_ingress_needs_tls_for_its_host(pack, prod_run):
    pack.configure(policy_config_for("prod"))
    run = prod_run
    host = run.outputs["url"].removeprefix("https://")
    # the stack's own edge passes; drop its certificate and the same Ingress serves the login in plain HTTP
    assert [v for v in pack.analyze(run.registrations) if v.policy == "open-webui-tls-only"] == []
    [violation] = [v for v in pack.analyze(replace(run.registrations, "edge-ingress", ["spec", "tls"], None))
                   if v.policy == "open-webui-tls-only"]
    assert violation.mandatory and f"routes {host} to Open WebUI without TLS" in violation.message
    # a NodePort for the app is plain HTTP too
    [violation] = [v for v in pack.analyze(replace(run.registrations, "open-webui-service", ["spec", "type"], "NodePort"))
                   if v.policy == "open-webui-tls-only"]
    assert "(NodePort)" in violation.message


def test_prod_requires_a_connection_alert_below_capacity(pack, prod_run, dev_run):
    pack.configure(policy_config_for("prod"))
    run = prod_run
    without = [r for r in run.registrations if r.name != "postgres-connections"]
    [violation] = [v for v in pack.analyze(without) if v.policy == "connection-alert"]
    assert violation.mandatory and "no active_connections alert" in violation.message
    assert "Alert above 675 (80% of its capacity 844)" in violation.message
    late = replace(run.registrations, "postgres-connections", ["criteria", "allOf", 0, "threshold"], 844)
    [violation] = [v for v in pack.analyze(late) if v.policy == "connection-alert"]
    assert "fires at 844" in violation.message
    pack.configure(policy_config_for("dev"))
    [violation] = [v for v in pack.analyze([r for r in dev_run.registrations
                                            if r.name != "postgres-connections"]) if v.policy == "connection-alert"]
    assert violation.enforcement == "advisory"


def test_a_bill_above_the_stacks_budget_is_flagged(pack, dev_run):
    pack.configure(policy_config_for("dev"))
    within = dev_run  # monthlyBudgetUsd 1600 >= $1,562.29 at the GPU pool's maximum
    assert [v for v in pack.analyze(within.registrations) if v.policy == "monthly-budget"] == []
    over = run_program("dev", {"monthlyBudgetUsd": 1000})
    [violation] = [v for v in pack.analyze(over.registrations) if v.policy == "monthly-budget"]
    assert violation.enforcement == "advisory" and violation.urn.endswith("::openwebui")
    assert "$464.29..$1,562.29" in violation.message and "above monthlyBudgetUsd $1,000" in violation.message
    # a stack that says so makes it mandatory
    pack.configure({**policy_config_for("dev"), "monthly-budget": {"enforcementLevel": "mandatory"}})
    [violation] = [v for v in pack.analyze(over.registrations) if v.policy == "monthly-budget"]
    assert violation.mandatory


def test_prod_requires_every_data_store_backed_up_for_35_days(pack, dev_run):
    pack.configure(policy_config_for("prod"))
    violations = [v for v in pack.analyze(seed_stack()) if v.policy == "data-backed-up"]
    assert all(v.mandatory for v in violations)
    [server, claim] = sorted(v.message for v in violations)
    assert "PostgreSQL server 'shsorot-pg' keeps 7 days of backups; this stack requires at least 35" in server
    assert "claim 'open-webui-files-pvc' gets its Azure Files share from the CSI driver" in claim
    # dev's 7 days of both, under prod's requirement
    messages = sorted(v.message for v in pack.analyze(dev_run.registrations) if v.policy == "data-backed-up")
    assert len(messages) == 2 and all(v.mandatory for v in pack.analyze(dev_run.registrations)
                                      if v.policy == "data-backed-up")
    assert "its backup policy keeps 7 days of snapshots; this stack requires at least 35" in messages[0]
    assert "keeps 7 days of backups; this stack requires at least 35" in messages[1]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_stack_in_entra_mode_deploys_and_passes(pack, stack):
    from test_sign_in import ENTRA
    run = run_program(stack, overrides=ENTRA)
    assert run.outputs["signIn"].startswith("Microsoft Entra ID") and "adminPassword" not in run.outputs
    pack.configure(policy_config_for(stack))
    assert pack.analyze(run.registrations) == []


def test_a_stack_whose_admin_is_no_longer_made_is_refused(pack, dev_run):
    from test_policy_validators import without_env
    pack.configure(policy_config_for("dev"))
    [violation] = pack.analyze(without_env(dev_run.registrations, "open-webui-migrate", "WEBUI_ADMIN_EMAIL"))
    assert violation.policy == "sign-in-closed" and violation.mandatory
