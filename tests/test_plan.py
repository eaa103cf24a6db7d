"""The offline plan as a newcomer runs it (`make plan`: a subprocess, judged by its exit status, output and files), and
the same plan in the test's process on the session's pack for the variations."""

import contextlib
import functools
import json
import subprocess
import sys
from typing import Callable, Iterator

import pytest
import yaml

from stack_files import run_plan, temporary_stack
from components.stack_config import ROOT
from offline_plan.mock_engine import SECURE_PLACEHOLDER


def plan(stack: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "offline_plan.plan", stack], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def temp_stack() -> Iterator[Callable[..., str]]:
    """Makes stacks for one test (tests/stack_files.py), removed afterwards."""
    with contextlib.ExitStack() as made:
        yield lambda config, policy_config=None: made.enter_context(temporary_stack(config, policy_config))


@functools.cache
def planned(stack: str) -> subprocess.CompletedProcess[str]:
    """The plan of a repository stack, run once for the tests that read it (it writes build/<stack>)."""
    return plan(stack)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_plan_renders_and_checks_the_stack(stack):
    result = planned(stack)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for section in ("-- resources", "-- capacity at the peak", "-- policy pack", "Kubernetes manifests"):
        assert section in out
    assert "open-webui-deployment  (kubernetes:apps/v1:Deployment)" in out
    assert "0 violation(s)" in out and "all valid" in out
    summary = json.loads((ROOT / "build" / stack / "plan.json").read_text())
    assert summary["violations"] == [] and summary["manifestErrors"] == []
    assert summary["budget"]["demand"] <= summary["budget"]["capacity"]
    manifests = list((ROOT / "build" / stack / "manifests").glob("*.yaml"))
    assert len(manifests) == 48  # with the collector's six and the GPU exporter's four
    kinds = {yaml.safe_load(m.read_text())["kind"] for m in manifests}
    assert {"Deployment", "Job", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Secret", "Service",
            "PersistentVolume", "PersistentVolumeClaim", "Namespace", "DaemonSet", "StatefulSet", "ConfigMap", "NetworkPolicy", "Ingress", "ClusterIssuer",
            "Middleware"} <= kinds
    # how people sign in, and that nobody owns the site by arriving first
    assert "-- sign-in\n  password: admin platform-team@example.com, made by the schema Job" in out
    assert summary["signIn"].startswith("password: admin platform-team@example.com")
    # the URL users open, and the charts the edge installs (values checked against the charts' own schemas)
    assert f"users open https://openwebui-{stack}.westeurope.cloudapp.azure.com" in out
    assert summary["url"] == f"https://openwebui-{stack}.westeurope.cloudapp.azure.com"
    assert "helm traefik traefik 41.3.0 from https://traefik.github.io/charts" in out
    assert "helm cert-manager cert-manager v1.21.1 from https://charts.jetstack.io" in out
    # the backup lines: what, for how long, what it costs
    days = {"dev": 7, "prod": 35}[stack]
    assert f"backup-files-policy  (azure-native:recoveryservices:ProtectionPolicy)  daily at 02:00 UTC, kept {days} days" \
        in out
    assert f"PostgreSQL backups, {days} days" in out
    assert "Azure Backup of share open-webui-data             5.00      5.00  1 protected share (100 GiB) x $5" in out
    # the capacity family: what each pool is asked for at the peak, and whether it can give it
    for title in ("connection budget (PostgreSQL server 'postgres'): fits", "GPU capacity (Ollama on the GPU pool): fits",
                  "node capacity (system pool): fits", "node capacity (GPU pool): fits"):
        assert f"  {title}\n" in out
    assert {"dev": "wanted 2.38 CPU, 6.69 GiB vs room 6.72 CPU, 22.54 GiB (2 x Standard_D4ds_v5",
            "prod": "wanted 11.38 CPU, 33.69 GiB vs room 13.94 CPU, 45.56 GiB (4 x Standard_D4ds_v5"}[stack] in out
    assert {"dev": "wanted 1 (ollama: 1 replicas x 1 GPU) / available 2",
            "prod": "wanted 2 (ollama: 2 replicas x 1 GPU) / available 2"}[stack] in out
    assert "models llama3.2:3b, disk per replica: models 64Gi" in out
    # how the database is reached, and what the namespace lets in
    assert {"dev": "network=public (firewall)", "prod": "network=private (VNet)"}[stack] in out
    assert "network-policies-default-deny-ingress  (kubernetes:networking.k8s.io/v1:NetworkPolicy)  pods all, " \
           "deny all ingress" in out


def test_no_secret_or_placeholder_in_output_or_files():
    result = planned("prod")
    written = [p.read_text() for p in (ROOT / "build" / "prod").rglob("*") if p.is_file()]
    for text in [result.stdout, result.stderr, *written]:
        assert SECURE_PLACEHOLDER not in text
        assert "postgresql://" not in text
    secret = yaml.safe_load((ROOT / "build/prod/manifests/secret-open-webui-open-webui.yaml").read_text())
    assert set(secret["stringData"].values()) == {"[secret]"}


def test_an_entra_stack_says_who_signs_in_and_its_files_hold_no_secret(temp_stack, policy_pack):
    stack = temp_stack({"auth": "entra", "entraTenantId": "11111111-2222-3333-4444-555555555555",
                        "entraAdminGroups": ["aaaaaaaa-0000-0000-0000-000000000001"]})
    result = run_plan(stack, policy_pack)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "-- sign-in\n  Microsoft Entra ID, tenant 11111111-2222-3333-4444-555555555555, an app registration made " \
           "by the program, client secret rotated at the first `pulumi up` on or after" in result.stdout
    assert "sign-in-entra-secret  (azuread:index/applicationPassword:ApplicationPassword)" in result.stdout
    written = [p.read_text() for p in (ROOT / "build" / stack).rglob("*") if p.is_file()]
    for text in [result.stdout, result.stderr, *written]:
        assert SECURE_PLACEHOLDER not in text


def test_bad_configuration_exits_2_naming_the_key(temp_stack, policy_pack):
    result = run_plan(temp_stack({"maxReplicas": 12}), policy_pack)
    assert result.returncode == 2
    assert "maxReplicas" in result.stdout and "over its connection budget" in result.stdout


def test_mandatory_policy_violation_exits_1(temp_stack, policy_pack):
    stack = temp_stack({}, {"postgres-hardening": {"enforcementLevel": "mandatory", "requireHighAvailability": True}})
    result = run_plan(stack, policy_pack)
    assert result.returncode == 1
    assert "[mandatory] postgres-hardening:" in result.stdout
    assert "high availability is Disabled" in result.stdout
    assert "FAILED: 1 mandatory policy violation(s)" in result.stdout


def test_manifests_are_validated_against_the_openapi_schema(tmp_path):
    # The program's config validation leaves nothing invalid to render, so the check is fed directly.
    from offline_plan.plan import write_manifests

    good = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ok"}}
    bad = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
           "spec": {"replicas": "three", "selector": {}, "template": {}}}
    assert write_manifests([good], tmp_path / "m", "1.35.0") == []
    [error] = write_manifests([good, bad], tmp_path / "m", "1.35.0")
    assert error.startswith("Deployment/web:") and "spec.replicas" in error
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["deployment-web.yaml", "namespace-ok.yaml"]


def test_unknown_stack_is_a_clear_error():
    result = plan("staging")
    assert result.returncode == 2
    assert "no stack file Pulumi.staging.yaml" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
