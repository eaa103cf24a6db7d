"""A local OpenID Connect provider standing in for Microsoft Entra ID: PyPI's oidc-provider-mock, which needs
Python 3.12 or newer (these machines have it beside the project's 3.11), in a venv cached beside the releases.

Chosen over pytest-iam: one command, users and their claims (the `roles` claim Entra sends) set by flags, the
standard discovery document, authorization code, userinfo, JWKS and end-session endpoints, and no fixture plumbing
for a program that is not a test.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Mapping, Optional, Sequence

from e2e import api
from e2e.release import E2E_HOME
from e2e.services import Process, Processes
from testing.postgres_server import free_port

PACKAGE = "oidc-provider-mock==0.4.8"


def python312() -> str:
    """A Python 3.12 or newer that runs: pyenv's versions first (its shims refuse a version that is not selected)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = sorted(glob.glob(str(pyenv / "versions" / "3.1[2-9]*" / "bin" / "python3"))) + [
        p for name in ("python3.12", "python3.13") if (p := shutil.which(name))]
    for candidate in candidates:
        if subprocess.run([candidate, "-c", "import sys; sys.exit(sys.version_info < (3, 12))"],
                          capture_output=True).returncode == 0:
            return candidate
    raise RuntimeError("the sign-in scenario's OpenID provider (oidc-provider-mock) needs Python 3.12 or newer: "
                       "install one (pyenv install 3.12, or Debian's python3.12)")


def ensure(log: Path) -> Path:
    """The provider's venv, made once; returns its command."""
    root = E2E_HOME / PACKAGE.replace("==", "-")
    command = root / "venv" / "bin" / "oidc-provider-mock"
    if not command.exists():
        with log.open("a") as out:
            subprocess.run([python312(), "-m", "venv", str(root / "venv")], check=True, stdout=out, stderr=out)
            subprocess.run([str(root / "venv" / "bin" / "pip"), "install", "--quiet", PACKAGE], check=True,
                           stdout=out, stderr=out)
    return command


def start(processes: Processes, work: Path, people: Mapping[str, Optional[Sequence[str]]]) -> tuple[Process, str]:
    """The provider on loopback with `people` (subject -> app roles, None for no roles claim at all); returns it
    and its issuer URL."""
    command, port = ensure(work / "setup.log"), free_port()
    claims = [json.dumps({"sub": sub, "email": f"{sub}@corp.example", "name": sub.title(),
                          **({"roles": list(roles)} if roles is not None else {})}) for sub, roles in people.items()]
    args = [str(command), "--port", str(port), "--host", "127.0.0.1",
            *[a for c in claims for a in ("--user-claims", c)]]
    process = processes.start("oidc-provider", args, {"PATH": os.environ.get("PATH", "")}, work)
    issuer = f"http://127.0.0.1:{port}"
    if not api.wait_for(issuer, "/.well-known/openid-configuration", time.monotonic() + 60,
                        process.alive):
        raise RuntimeError(f"the OpenID provider did not start:\n{process.tail()}")
    return process, issuer
