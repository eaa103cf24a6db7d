"""The workload policies: Open WebUI's replicas share their state, no credentials in plain env, Redis behind a
password, no privilege escalation, requests, limits and probes set."""

from __future__ import annotations

import re
from typing import Any, Mapping

from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from components.upgrade import UNPINNED_TAGS, unpinned
from resources import (DAEMON_SET, DEPLOYMENT, HPA, PVC, STATEFUL_SET, WORKLOADS, containers, env_entries,
                       env_from_secret, is_open_webui, known, literal_env, metadata, peak_replicas, pod_spec)

DATA_DIR = "/app/backend/data"
CREDENTIAL_ENV = re.compile(r"(PASSWORD|SECRET|SECRET_KEY|TOKEN|API_KEY|PRIVATE_KEY|DATABASE_URL|DB_URL)$")
URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@:]+:[^/@]+@", re.IGNORECASE)


# multi-replica-shared-state ------------------------------------------------------------------------

def multi_replica_shared_state(args: StackValidationArgs, report: ReportViolation) -> None:
    hpas = [r for r in args.resources if r.resource_type == HPA]
    claims = {(metadata(r.props).get("namespace"), metadata(r.props).get("name")): r
              for r in args.resources if r.resource_type == PVC}
    for r in args.resources:
        if r.resource_type not in (DEPLOYMENT, STATEFUL_SET) or not known(lambda: is_open_webui(r.props), False):
            continue
        try:
            replicas = peak_replicas(r, hpas)
            if replicas <= 1:
                continue
            problems = []
            for c in pod_spec(r.props).get("containers") or []:
                env = literal_env(c)
                if not env_from_secret(c, "DATABASE_URL") and not env.get("DATABASE_URL", "").startswith("postgres"):
                    problems.append("DATABASE_URL must point at PostgreSQL (unset or sqlite keeps SQLite on one pod)")
                if env.get("VECTOR_DB", "chroma") == "chroma":
                    problems.append("VECTOR_DB must not be chroma (its SQLite breaks with several writers)")
                if not env_from_secret(c, "WEBUI_SECRET_KEY"):
                    problems.append("WEBUI_SECRET_KEY must come from a Secret, identical on every replica")
                if env.get("WEBSOCKET_MANAGER") != "redis":
                    problems.append("WEBSOCKET_MANAGER must be redis so websockets work across replicas")
                for mount in c.get("volumeMounts") or []:
                    if mount.get("mountPath") != DATA_DIR:
                        continue
                    volume: Mapping[str, Any] = next((v for v in pod_spec(r.props).get("volumes") or []
                                   if v.get("name") == mount.get("name")), {})
                    claim_name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
                    claim = claims.get((metadata(r.props).get("namespace"), claim_name))
                    modes = (claim.props.get("spec") or {}).get("accessModes") if claim else None
                    if claim and "ReadWriteMany" not in (modes or []):
                        problems.append(f"the data volume {claim_name} must be ReadWriteMany (a ReadWriteOnce "
                                        "volume stops a second pod)")
            if problems:
                report(f"{r.name} may run {replicas} replicas, which share state only if: " + "; ".join(problems)
                       + ".", r.urn)
        except UnknownValueError:
            continue

# no-plaintext-secrets -----------------------------------------------------------------------------

def no_plaintext_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in WORKLOADS:
        return
    for c in containers(args.props):
        for e in env_entries(c):
            value = known(lambda: e.get("value"))
            if not isinstance(value, str) or not value:
                continue
            if CREDENTIAL_ENV.search(e.get("name", "")) or URL_WITH_PASSWORD.match(value):
                report(f"container '{c.get('name')}' sets {e.get('name')} as a plain value; take it from a Secret "
                       "with valueFrom.secretKeyRef so it is not stored in the manifest.", None)

# redis-password -----------------------------------------------------------------------------------

REDIS_URL_ENV = ("REDIS_URL", "WEBSOCKET_REDIS_URL")


def redis_password(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in WORKLOADS:
        return
    for c in containers(args.props):
        words = [str(w) for w in list(c.get("command") or []) + list(c.get("args") or [])]
        if "redis" in str(c.get("image", "")).split("/")[-1] and "--requirepass" not in words:
            report(f"container '{c.get('name')}' runs Redis without --requirepass: any pod in the cluster can read "
                   "and write Open WebUI's websocket state. Require a password taken from a Secret.", None)
        for name, value in literal_env(c).items():
            if name in REDIS_URL_ENV and value and not URL_WITH_PASSWORD.match(value):
                report(f"container '{c.get('name')}' sets {name}={value} with no password; use a password-protected "
                       "Redis and take the URL from a Secret.", None)

# no-privilege-escalation --------------------------------------------------------------------------

def no_privilege_escalation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in WORKLOADS:
        return
    for c in containers(args.props):
        context = known(lambda: c.get("securityContext"), {}) or {}
        if context.get("allowPrivilegeEscalation") is not False or context.get("privileged"):
            report(f"container '{c.get('name')}' may escalate privileges; set securityContext.allowPrivilegeEscalation: "
                   "false (and drop all capabilities).", None)

# workload-hygiene ---------------------------------------------------------------------------------

def workload_hygiene(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (DEPLOYMENT, STATEFUL_SET, DAEMON_SET):
        return
    for c in pod_spec(args.props).get("containers") or []:
        resources = known(lambda: c.get("resources"), {}) or {}
        missing = [k for k in ("requests", "limits") if not resources.get(k)]
        if args.resource_type != DAEMON_SET:
            missing += [p for p in ("readinessProbe", "livenessProbe") if not c.get(p)]
        if missing:
            report(f"container '{c.get('name')}' has no {', '.join(missing)}.", None)


# images-pinned ------------------------------------------------------------------------------------------------

def images_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """What runs is the release the stack was checked against: no moving tag (for Open WebUI it also decides
    whether an upgrade can roll: components/upgrade.py)."""
    if args.resource_type not in WORKLOADS:
        return
    for c in containers(args.props):
        image = str(known(lambda: c.get("image"), "") or "")
        if image and unpinned(image):
            moving = ", ".join(t or "none" for t in UNPINNED_TAGS)
            report(f"container '{c.get('name')}' runs {image}, a tag that moves ({moving}): pin a release tag "
                   "(v0.12.4) or a digest (@sha256:...).", None)

