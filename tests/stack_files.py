"""Stacks made for one test: Pulumi.<stack>.yaml (and policy/<stack>.json) written, then removed with its build/."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import uuid
from typing import Any, Iterator, Optional

import yaml

from components.stack_config import ROOT, stack_file
from offline_plan.plan import plan
from offline_plan.policy_client import PolicyPackServer


def run_plan(stack: str, pack: PolicyPackServer) -> subprocess.CompletedProcess[str]:
    """`make plan STACK=<stack>` in this process, on a running pack: its exit status, output and files, without a new
    interpreter and pack for each plan (test_plan.py runs the command itself too)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = plan(stack, pack)
    return subprocess.CompletedProcess(["make", "plan", f"STACK={stack}"], status, out.getvalue(), "")


def stack_config(stack: str) -> dict[str, Any]:
    """A repository stack's own settings (Pulumi.<stack>.yaml), by bare key."""
    return {k.split(":", 1)[1]: v for k, v in stack_file(stack).items()}


@contextlib.contextmanager
def temporary_stack(config: dict[str, Any], policy_config: Optional[dict[str, Any]] = None) -> Iterator[str]:
    stack = f"t{uuid.uuid4().hex[:8]}"
    stack_file, policy_file = ROOT / f"Pulumi.{stack}.yaml", ROOT / "policy" / f"{stack}.json"
    # a stack file needs its admin (or auth entra): the program refuses one whose first visitor would be admin
    config = {"adminEmail": "platform-team@example.com", **config}
    stack_file.write_text(yaml.safe_dump({"config": {f"openwebui-aks:{k}": v for k, v in config.items()}}))
    if policy_config is not None:
        policy_file.write_text(json.dumps(policy_config))
    try:
        yield stack
    finally:
        stack_file.unlink(missing_ok=True)
        policy_file.unlink(missing_ok=True)
        shutil.rmtree(ROOT / "build" / stack, ignore_errors=True)
