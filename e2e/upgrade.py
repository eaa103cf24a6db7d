"""`make e2e-upgrade FROM=0.12.3 TO=0.12.4`: an upgrade rehearsed on the real releases, as the rendered objects make
Kubernetes do it.

FROM runs as the dev stack renders it (its schema Job, three replicas behind a Service), with users, chats and a
file made through its API and signed-in users loading it steadily. Then TO is deployed in the order `pulumi up`
makes the cluster do it: TO's schema Job (its gate stops FROM first when the schema moves, through the Deployment's
scale), the Deployment's rolling update, the resume Job. Printed: the upgrade's kind, failed requests, the longest
time with no answer, requests FROM answered after Alembic started (none allowed), and whether every user, chat and
file came through. Exit 0 only when each holds (a rolling upgrade: no failed request at all).
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

from components.names import APP_NAME
from components.upgrade import RECREATE, ROLLING, release_heads, upgrade_kind
from e2e import api
from e2e.checklist import accounts
from e2e.cluster import LocalCluster, longest_gap, old_after
from e2e.judge import summarize
from e2e.local_stack import REPLICAS, LocalStack
from e2e.release import ensure
from e2e.rendered import COMPONENT_LABEL, NAME_LABEL, Container, workload
from e2e.services import Process
from e2e.traffic import Load
from testing.postgres_server import free_port
from ops.verify import Check

USERS = 5
CHATS_PER_USER = 2
LOAD_USERS = 40
LOAD_SECONDS = 240
STEADY_SECONDS = 15
"""Load runs this long on FROM alone before the upgrade starts."""


def fill(url: str, admin_token: str) -> dict[str, Any]:
    """Users with passwords, their chats, a file: what must come through the upgrade."""
    users = []
    for n in range(USERS):
        email, password = f"upgrade{n}@e2e.example", secrets.token_urlsafe(12)
        api.ok(api.request(url, "POST", "/api/v1/auths/add", {"name": f"Upgrade {n}", "email": email,
                                                             "password": password, "role": "user"},
                           token=admin_token), "add a user")
        token = api.ok(api.request(url, "POST", "/api/v1/auths/signin", {"email": email, "password": password}),
                       "sign in")["token"]
        chats = sorted(api.ok(api.request(url, "POST", "/api/v1/chats/new", {"chat": {
            "title": f"chat {c} of user {n}", "messages": [{"role": "user", "content": f"hello {c}"}]}},
            token=token), "a chat")["id"] for c in range(CHATS_PER_USER))
        users.append({"email": email, "password": password, "token": token, "chats": chats})
    content = f"kept across the upgrade {secrets.token_hex(8)}\n".encode()
    file_id = api.ok(api.upload(url, admin_token, "kept.txt", content), "upload")["id"]
    return {"users": users, "file": (file_id, content), "admin": admin_token}


def intact(url: str, data: dict[str, Any]) -> Check:
    wrong = []
    for user in data["users"]:
        signin = api.request(url, "POST", "/api/v1/auths/signin", {"email": user["email"], "password": user["password"]})
        if signin.status != 200:
            wrong.append(f"{user['email']} cannot sign in (HTTP {signin.status})")
            continue
        chats = api.request(url, "GET", "/api/v1/chats/list", token=signin.json()["token"])
        ids = sorted(c["id"] for c in chats.json() or []) if chats.status == 200 else []
        if ids != user["chats"]:
            wrong.append(f"{user['email']} sees chats {ids}, had {user['chats']}")
    file_id, content = data["file"]
    served = api.request(url, "GET", f"/api/v1/files/{file_id}/content", token=data["admin"])
    if served.status != 200 or served.body != content:
        wrong.append(f"file {file_id}: HTTP {served.status}, {len(served.body)} bytes")
    return Check("every user, chat and file intact", not wrong,
                 "; ".join(wrong) or f"{len(data['users'])} users sign in with their passwords and see their "
                 f"{CHATS_PER_USER} chats each; the file's content is served", "see what is missing above")


def with_env(container: Container, extra: dict[str, str]) -> Container:
    return replace(container, env={**container.env, **extra})


def rehearse(stack: LocalStack, source: str, target: str) -> list[Check]:
    kind = upgrade_kind(f"v{source}", f"v{target}", release_heads())
    print(f"   {kind.kind.upper()}: {kind.reason}")
    releases = {source: stack.release, target: ensure(target, stack.work / "setup.log")}

    def start_pod(version: str, index: int) -> tuple[Process, str]:
        stack.release = releases[version]
        port = free_port()
        command, env, cwd = stack.container_process(stack.deployment_container(), port)
        return stack.processes.start(f"pod-{version}-{index}", command, env, cwd), f"http://127.0.0.1:{port}"

    cluster = LocalCluster(stack.config.namespace, APP_NAME, start_pod, source)
    try:
        cluster.scale(REPLICAS)
        while sum(p.ready for p in cluster.pods) < REPLICAS:
            time.sleep(1)
        signup, admin = accounts([cluster.service_url] * 3, *stack.admin, stack.pg)
        found = [c for c in signup if not c.ok]  # the replicas' own checks are make e2e's: here only a failure
        data = fill(cluster.service_url, admin.token)
        tokens = [u["token"] for u in data["users"]] + [admin.token]
        load = Load.start(Path(sys.executable), stack.work, "upgrade", [cluster.service_url], tokens, LOAD_USERS,
                          LOAD_SECONDS)
        time.sleep(STEADY_SECONDS)

        began = time.monotonic()
        cluster.event(f"upgrade {source} -> {target} begins: {target}'s schema Job")
        stack.release, stack.version = releases[target], target
        gate_env = {"KUBERNETES_API_URL": cluster.api_url}
        job = workload(stack.objects, "Job", {NAME_LABEL: APP_NAME, COMPONENT_LABEL: "migration"}, stack.secrets)
        stack.mount_config_maps(job)
        *before, last_init = job.init_containers
        failed = stack.run_containers("schema Job", [*before, with_env(last_init, gate_env)])
        alembic = time.monotonic()
        cluster.event("the gate let Alembic run")
        failed = failed or stack.run_containers("schema Job", job.containers)
        if failed:
            return found + [failed]
        cluster.roll_out(target)
        resume = workload(stack.objects, "Job", {NAME_LABEL: APP_NAME, COMPONENT_LABEL: "resume"}, stack.secrets)
        failed = stack.run_containers("resume Job", [with_env(c, gate_env) for c in resume.containers])
        # a stopped Deployment comes back at minReplicas (the HPA, which this run has not, then scales it to the load)
        wanted = stack.config.min_replicas if kind.kind == RECREATE else REPLICAS
        while sum(p.ready for p in cluster.pods) < wanted:
            time.sleep(1)
        ended = time.monotonic()
        cluster.event(f"upgrade done: {wanted} pods of {target} Ready, {ended - began:.0f} s after it began")
        records = load.records()
        if ended > began + LOAD_SECONDS - STEADY_SECONDS:
            found.append(Check("the load covered the upgrade", False, "the upgrade outlasted the load",
                               "raise LOAD_SECONDS in e2e/upgrade.py"))
        summary = summarize(records)
        gap = longest_gap(cluster.served, began, ended)
        stale = old_after(cluster.served, source, alembic if kind.kind == RECREATE else None)
        checks = found + ([failed] if failed else [])
        checks.append(Check(f"{kind.kind} upgrade {source} -> {target} under load",
                            summary.errors == 0 if kind.kind == ROLLING else True,
                            f"{summary.requests} requests, {summary.errors} failed"
                            + (f" ({summary.error_kinds})" if summary.error_kinds else "")
                            + f"; longest time with no answer {gap:.1f} s; the upgrade took {ended - began:.0f} s",
                            "a rolling upgrade must fail no request: see the pod events above and the logs"))
        if kind.kind == RECREATE:
            checks.append(Check("no request answered by the old release after Alembic started", stale == 0,
                                f"{stale} answered by {source} after the gate let Alembic run",
                                "the gate must stop every old pod first (in_cluster/schema_gate.py)"))
        checks.append(intact(cluster.service_url, data))
        return checks
    finally:
        cluster.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--from", dest="source", required=True, help="the running release, such as 0.12.3")
    parser.add_argument("--to", dest="target", required=True, help="the release deployed over it, such as 0.12.4")
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="openwebui-e2e-upgrade-"))
    work.chmod(0o755)
    stack = LocalStack(args.stack, args.source, None, work)
    print(f"== make e2e-upgrade: {args.source} -> {args.target} (the real releases), run directory {work}")
    try:
        with ExitStack() as exit_stack:
            stack.start_services(exit_stack)
            print(f"   {args.source}'s schema Job ...", flush=True)
            checks = stack.run_job()[:1]
            if checks[0].ok:
                checks += rehearse(stack, args.source, args.target)
        print("\n-- upgrade rehearsal")
        print("\n".join(c.line() for c in checks))
        failed = [c for c in checks if not c.ok]
        print(f"\n{len(checks) - len(failed)} passed, {len(failed)} failed")
        return 1 if failed else 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
