"""Stacks made for one test: Pulumi.<stack>.yaml (and policy/<stack>.json) written, then removed with its build/."""

from __future__ import annotations

import contextlib
import json
import shutil
import uuid
from typing import Any, Iterator, Optional

import yaml

from components.stack_config import ROOT, stack_file


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
