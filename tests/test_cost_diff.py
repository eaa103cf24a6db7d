"""The pull request's cost comment, from real plan.json files: the prod stack as it is and with a third GPU node."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from offline_plan.policy_client import PolicyPackServer
from stack_files import run_plan, stack_config, temporary_stack
from ops.cost_diff import diff, markdown
from components.stack_config import ROOT


def plan_json(stack: str, overrides: dict[str, Any], pack: PolicyPackServer) -> dict[str, Any]:
    """`make plan` of a repository stack with overrides (a stack made for the test), its plan.json read back."""
    policy = json.loads((ROOT / "policy" / f"{stack}.json").read_text())
    with temporary_stack({**stack_config(stack), **overrides}, policy) as name:
        result = run_plan(name, pack)
        assert result.returncode == 0, result.stdout + result.stderr
        plan: dict[str, Any] = json.loads((ROOT / "build" / name / "plan.json").read_text())
        return plan


@pytest.fixture(scope="module")
def plans(policy_pack: PolicyPackServer) -> tuple[dict[str, Any], dict[str, Any]]:
    return plan_json("prod", {}, policy_pack), plan_json("prod", {"gpuNodeCount": 3, "ollamaReplicas": 3}, policy_pack)


def test_a_third_gpu_node_is_549_a_month(plans):
    base, head = plans
    d = diff(base, head)
    [gpu] = [c for c in d.lines if "GPU" in c.item]
    assert gpu.base == (1098.0, 1098.0) and gpu.head == (1647.0, 1647.0) and gpu.delta == (549.0, 549.0)
    # the third Ollama replica brings its model disk too; nothing else moves
    assert {c.item for c in d.lines} == {gpu.item, "Premium SSD P6 per replica (ollama)"}
    assert d.delta == (round(549.0 + 9.86, 2),) * 2
    text = markdown([d])
    assert "+$558.86/month ($2,160.79 -> $2,719.65)" in text
    assert "| AKS pool Standard_NC8as_T4_v3 (GPU) | $1,098.00 | $1,647.00 | +$549.00 |" in text


def test_no_change_says_so(plans):
    base, _ = plans
    assert diff(base, base).lines == () and "No change to the estimate." in markdown([diff(base, base)])


def test_an_autoscaled_range_and_a_base_without_line_items(plans):
    base, head = plans
    scaled = {**head, "bill": [{**line, "min": 0.0} if "GPU" in line["item"] else line for line in head["bill"]],
              "monthlyCostUsd": {"min": head["monthlyCostUsd"]["min"] - 1647.0, "max": head["monthlyCostUsd"]["max"]}}
    [gpu] = [c for c in diff(base, scaled).lines if "GPU" in c.item]
    assert "| $1,098.00 | $0.00 - $1,647.00 | -$1,098.00 / +$549.00 |" in markdown([diff(base, scaled)])
    old = {k: v for k, v in base.items() if k != "bill"}
    totals_only = diff(old, head)
    assert totals_only.lines == () and "totals only" in markdown([totals_only])
    assert gpu.delta == (-1098.0, 549.0)


def test_the_command_prints_one_section_per_stack(plans, tmp_path):
    base, head = plans
    (tmp_path / "b.json").write_text(json.dumps(base))
    (tmp_path / "h.json").write_text(json.dumps(head))
    result = subprocess.run([sys.executable, "-m", "ops.cost_diff", str(tmp_path / "b.json"), str(tmp_path / "h.json")],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.count("### ") == 1
    assert subprocess.run([sys.executable, "-m", "ops.cost_diff", "one.json"], cwd=ROOT, capture_output=True,
                          timeout=60).returncode == 2
