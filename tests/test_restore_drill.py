"""The restore drill's throwaway stack, made by ops/restore_drill.py and run under the mocks as `pulumi up` would;
its workflow's steps are the ones docs/operations.md gives."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import yaml

from ops import restore_drill
from components.stack_config import ROOT
from offline_plan.mock_engine import reveal, run_program

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)


def test_the_drill_stack_is_prod_restored_an_hour_ago_cheap_and_open_to_the_runner_only():
    config = restore_drill.drill_config("prod", "drill-7", "198.51.100.7", NOW, 1)["config"]
    assert config["openwebui-aks:postgresRestoreFrom"] == "prod"
    assert config["openwebui-aks:postgresRestorePointInTime"] == "2026-12-01T08:30:00Z"
    assert config["openwebui-aks:postgresFirewallRules"] == ["198.51.100.7"]
    assert config["openwebui-aks:postgresSku"] == "Standard_D2ds_v5"  # prod's, as the restore brings it
    assert config["openwebui-aks:protect"] is False and config["openwebui-aks:ollamaEnabled"] is False


def test_the_drill_stack_deploys_under_the_mocks(tmp_path, monkeypatch):
    stack = "drill-mock"
    path = ROOT / f"Pulumi.{stack}.yaml"
    try:
        assert restore_drill.main(["--source", "prod", "--stack", stack, "--firewall", "198.51.100.7"]) == 0
        assert yaml.safe_load(path.read_text())["config"]["openwebui-aks:postgresRestoreFrom"] == "prod"
        run = run_program(stack)
        server = reveal(run.named("postgres-server").inputs)
        assert server["createMode"] == "PointInTimeRestore"
        assert server["sourceServerResourceId"].endswith("/flexibleServers/prod-postgres-server")
        when = datetime.strptime(server["pointInTimeUTC"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        assert abs(datetime.now(timezone.utc) - timedelta(hours=1) - when) < timedelta(minutes=5)
        assert [r.name for r in run.registrations if r.protect] == []
        assert run.of_type("azure-native:containerservice:AgentPool") == []  # no GPU pool
    finally:
        path.unlink(missing_ok=True)


def test_the_workflows_steps_are_the_documented_ones():
    workflow = yaml.safe_load((ROOT / ".github/workflows/restore-drill.yml").read_text())
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    commands = [line.strip() for s in steps for line in str(s.get("run", "")).splitlines()
                if re.match(r"\s*((venv/bin/)?python -m ops.restore_drill|pulumi (stack|up|destroy)|make verify)", line)]
    page = (ROOT / "docs" / "operations.md").read_text()
    section = page[page.index("## Backups and restores"):]
    section = section[:section.index("\n## ", 3)]
    assert len(commands) >= 6
    for command in commands:
        assert command.replace('"$DRILL"', "drill-42").replace('"$SOURCE"', "prod").replace(
            '"$RUNNER_IP"', "203.0.113.5").replace('"$HOURS_AGO"', "1") in section, command


def test_the_drill_is_reachable_from_the_runner_alone_and_passes_prods_mandatory_policies(policy_pack):
    import json

    stack = "drill-private"
    path = ROOT / f"Pulumi.{stack}.yaml"
    try:
        assert restore_drill.main(["--source", "prod", "--stack", stack, "--firewall", "198.51.100.7"]) == 0
        run = run_program(stack)
    finally:
        path.unlink(missing_ok=True)
    # no edge: no Traefik, no Ingress, no public address for the app
    assert not run.of_type("kubernetes:networking.k8s.io/v1:Ingress") and run.outputs["url"] == ""
    assert not run.of_type("kubernetes:helm.sh/v3:Release")
    assert [r.name for r in run.of_type("azure-native:network:PublicIPAddress")] == ["network-aks-egress"]
    cluster = reveal(run.named("aks-cluster").inputs)
    assert cluster["apiServerAccessProfile"]["authorizedIPRanges"][1:] == ["198.51.100.7/32"]
    assert [reveal(r.inputs)["startIpAddress"] for r in run.of_type("azure-native:dbforpostgresql:FirewallRule")
            if "aks-egress" not in r.name] == ["198.51.100.7"]
    prod = json.loads((ROOT / "policy" / "prod.json").read_text())
    drill = json.loads((ROOT / "policy" / "drill.json").read_text())
    # every policy prod enforces, the drill enforces; only availability is relaxed, and the vault's lock
    assert {k for k, v in prod.items() if v["enforcementLevel"] == "mandatory"} == {
        k for k, v in drill.items() if v["enforcementLevel"] == "mandatory"}
    relaxed = {(policy, key) for policy in prod for key in prod[policy] if prod[policy][key] != drill[policy][key]}
    assert relaxed == {("postgres-hardening", "requireGeoRedundantBackup"),
                       ("postgres-hardening", "requireHighAvailability"),
                       ("backup-immutable", "requireLockedImmutability")}
    policy_pack.configure(drill)
    assert [v.message for v in policy_pack.analyze(run.registrations) if v.mandatory] == []
