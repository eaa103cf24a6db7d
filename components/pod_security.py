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


API_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
"""Where a client library (and in_cluster/schema_gate.py) finds the service account's token, CA and namespace."""
API_TOKEN_VOLUME_NAME = "kube-api-access"
API_TOKEN_VOLUME = k8s.core.v1.VolumeArgs(
    name=API_TOKEN_VOLUME_NAME, projected=k8s.core.v1.ProjectedVolumeSourceArgs(sources=[
        k8s.core.v1.VolumeProjectionArgs(service_account_token=k8s.core.v1.ServiceAccountTokenProjectionArgs(
            path="token", expiration_seconds=3607)),
        k8s.core.v1.VolumeProjectionArgs(config_map=k8s.core.v1.ConfigMapProjectionArgs(
            name="kube-root-ca.crt", items=[k8s.core.v1.KeyToPathArgs(key="ca.crt", path="ca.crt")])),
        k8s.core.v1.VolumeProjectionArgs(downward_api=k8s.core.v1.DownwardAPIProjectionArgs(items=[
            k8s.core.v1.DownwardAPIVolumeFileArgs(path="namespace", field_ref=k8s.core.v1.ObjectFieldSelectorArgs(
                field_path="metadata.namespace"))]))]))
"""What Kubernetes mounts into every container when automountServiceAccountToken is on, as a volume a pod mounts
into the one container that calls the API (the pod itself sets automountServiceAccountToken: false)."""
API_TOKEN_MOUNT = k8s.core.v1.VolumeMountArgs(name=API_TOKEN_VOLUME_NAME, mount_path=API_TOKEN_PATH, read_only=True)
