"""Pod security: the Pod Security Standard the namespace enforces, and the container hardening every pod gets.

Open WebUI and Ollama images run as root (their data and model paths belong to root), so the namespace enforces
`baseline` and warns and audits on `restricted`; every container still drops all capabilities, may not escalate
privileges and runs under the runtime's default seccomp profile, and the images that can run as a user do.
"""

from __future__ import annotations

from typing import Optional

import pulumi_kubernetes as k8s

NAMESPACE_LABELS = {
    "pod-security.kubernetes.io/enforce": "baseline",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
}
NOBODY = 65534


def hardened(run_as_user: Optional[int] = None) -> k8s.core.v1.SecurityContextArgs:
    """A container's security context; with run_as_user it also runs as that non-root user."""
    return k8s.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
        run_as_non_root=True if run_as_user is not None else None,
        run_as_user=run_as_user,
        run_as_group=run_as_user,
    )
