"""`make e2e`: the stack's Open WebUI, the real release, run as the cluster would run it, and checked.

    python -m e2e [--stack dev] [--version 0.12.4]
                  [--break redis-password|pool-budget|config-key|role-grant|telemetry-off]
                  [--users 200] [--seconds 60] [--keep] [--print-version]

Reads what `make plan` rendered (build/<stack>/manifests and plan.json), starts PostgreSQL (the SKU's limit, Azure's
reservations, TLS), Redis (the Redis Deployment's args), runs the schema Job's containers, then three replicas
of the Deployment's container sharing one data directory, and prints the hand-run report's checklist as code, the
load table and the fault line. --break sabotages one thing on purpose to show the check that must catch it.
Exit 0 only when every check passes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from components.app_metrics import POD_NAME_ENV
from components.names import APP_NAME
from components.stack_config import StackConfig
from components.open_webui import APP_ROLE_ENV
from e2e import checklist, load_chart
from e2e.judge import (connections_check, engines_check, fault_check, job_config_keys, release_checks,
                             memory_peak_check, report, sizing_check, summarize)
from e2e.local_stack import BREAKS, REPLICAS, START_SECONDS, LocalStack
from e2e.release import version_of_image
from e2e.rendered import COMPONENT_LABEL, NAME_LABEL, workload
from e2e.sampler import ConnectionSampler
from e2e.telemetry import telemetry_check
from e2e.usage import UsageSampler
from e2e.traffic import Load, print_load, sign_in_users
from ops.verify import ALEMBIC_HEADS, Check

HERE = Path(__file__).resolve().parent
KILL_AFTER_SECONDS = 15
FAULT_SECONDS = 75
"""The fault's load: the kill comes at 15 s, a replica starts in about 15-30 s here, and then must serve."""
KILLED = 2  # replica 3
REST_SECONDS = 30
"""Idle after the checklist (the embedding model loaded, documents embedded): what a replica holds and burns at rest."""


def exercise(stack: LocalStack, users: int, seconds: int) -> list[Check]:
    """The replicas: ready, the checklist, the load, a replica killed under load; then the release's contract."""
    per_pod = stack.budget["workloads"][APP_NAME]["perPod"]
    capacity = stack.budget["capacity"]
    stack.start_replicas()
    print(f"   {REPLICAS} replicas starting on {', '.join(stack.urls)} ...", flush=True)
    with ConnectionSampler(stack.pg.superuser, stack.pg.front.port, stack.replica_pids) as sampler:
        checks = stack.wait_ready(range(REPLICAS), time.monotonic() + START_SECONDS)
        if not all(p.alive() for p in stack.replicas):
            return checks  # a replica that is not even serving: its log is in the check
        found, admin = checklist.accounts(stack.urls, *stack.admin, stack.pg)
        found += checklist.edge_checks(stack.urls[0], admin.signin, stack.container.env)
        documents, query = checklist.document_checks(stack.urls, admin.token, stack.pg, stack.webui)
        found += documents
        found.append(checklist.realtime_check(stack.release.python, stack.urls, admin.token))
        found += checklist.role_checks(stack.pg, stack.budget["roleLimits"][stack.pg.app_role])
        checks += found

        print(f"   at rest for {REST_SECONDS} s (memory and CPU sampled) ...", flush=True)
        usage = UsageSampler(lambda: {**stack.replica_pids(), "redis": stack.redis.pid})
        with usage.phase("rest"):
            time.sleep(REST_SECONDS)

        print(f"   load: {users} users for {seconds} s ...", flush=True)
        tokens = sign_in_users(stack.urls, admin.token)
        load_began = time.monotonic()
        with usage.phase("load"):
            records = Load.start(stack.release.python, stack.work, "users", stack.urls, tokens, users, seconds, query,
                                 admin.token).records()
        load = summarize(records)
        checks.append(Check(f"{users} users for {seconds} s", load.errors == 0 and load.requests > 0,
                            f"{load.requests} requests, {load.errors} errors, p50 {load.p50:.3f}s p95 "
                            f"{load.p95:.3f}s max {load.max:.3f}s", "see the load table and the replica logs"))
        print_load(f"load: {users} users, {seconds} s, {REPLICAS} replicas", records, dict(sampler.by_process),
                   per_pod, capacity)
        if not stack.sabotage:  # the picture in the docs is of the stack as it is
            chart = load_chart.draw(f"make e2e: {users} users for {seconds} s on {REPLICAS} replicas of Open WebUI "
                                    f"{stack.version}", records, seconds,
                                    [(t - load_began, held) for t, held in sampler.timeline
                                     if 0 <= t - load_began <= seconds], per_pod)
            print(f"   the load drawn: {chart.relative_to(HERE.parent)}")
        redis = max(usage.phases[phase].pop("redis").peak_rss for phase in ("rest", "load"))
        checks.append(sizing_check(APP_NAME, usage.phases["rest"], usage.phases["load"], stack.container.resources,
                                   stack.config.cpu_target_percent))
        checks.append(memory_peak_check("redis", redis, stack.redis_container.resources))

        print(f"   fault: SIGKILL replica {KILLED + 1} under load, then restart it ...", flush=True)
        fault = Load.start(stack.release.python, stack.work, "fault", stack.urls, tokens, users // 2, FAULT_SECONDS)
        started = time.monotonic()
        time.sleep(KILL_AFTER_SECONDS)
        stack.replicas[KILLED].kill()
        killed_at = time.monotonic() - started
        stack.replicas[KILLED] = stack.start_replica(KILLED)  # as the kubelet restarts the container
        back = stack.wait_ready([KILLED], time.monotonic() + 120)
        ready_at = time.monotonic() - started if back[0].ok else None
        records = fault.records()
        checks.append(fault_check(records, KILLED, killed_at, ready_at))
        checks.append(connections_check(APP_NAME, sampler.by_process, per_pod))
        if "ENABLE_OTEL" in stack.rendered_env:  # observabilityEnabled: the replicas export, as in the cluster
            checks.append(telemetry_check(stack.telemetry.metrics, [stack.pod_name(i) for i in range(REPLICAS)]))
        print_load(f"fault: replica {KILLED + 1} SIGKILLed at {killed_at:.0f}s, restarted"
                   + (f", Ready at {ready_at:.0f}s" if ready_at else ", NOT Ready"), records,
                   dict(sampler.by_process), per_pod, capacity)
    return checks


def contract(stack: LocalStack) -> list[Check]:
    """What the program depends on in the release, read by release_facts.py in the release's venv: it imports the
    app as a worker does, with the env the replicas ran with, or the Job's when the Job failed (that one may bring
    the database to the release's head first). Reported in both cases: a failed Job is when it matters most."""
    job = workload(stack.objects, "Job", {NAME_LABEL: APP_NAME, COMPONENT_LABEL: "migration"}, stack.secrets)
    # APP_DATABASE_ROLE is the Job program's own (in_cluster/schema_job.py), PYTHONPATH Python's and POD_NAME the
    # kubelet's (for OTEL_RESOURCE_ATTRIBUTES to expand), not the release's
    names = sorted({*stack.rendered_env, *job.containers[0].env} - {APP_ROLE_ENV, "PYTHONPATH", POD_NAME_ENV})
    keys = stack.job_keys or job_config_keys(job.program(job.containers[0])[2])
    _, env, cwd = stack.container_process(stack.container if stack.job_keys else job.containers[0])
    probe = subprocess.run([str(stack.release.python), str(HERE / "release_facts.py"),
                            json.dumps({"env": names, "config_keys": keys})],
                           env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    if probe.returncode != 0:
        return [Check("release contract", False, f"release_facts.py could not import Open WebUI {stack.version}:\n"
                      + "\n".join(probe.stderr.strip().splitlines()[-6:]),
                      "the release no longer imports with the env the stack renders: read the error above")]
    facts: dict[str, Any] = json.loads(probe.stdout.strip().splitlines()[-1])
    return [engines_check(facts["engines"], stack.rendered_env),
            *release_checks(facts, ALEMBIC_HEADS, f"v{stack.version}")]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--version", help="the Open WebUI release (default: the tag of the stack's image)")
    parser.add_argument("--break", dest="sabotage", choices=sorted(BREAKS))
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--keep", action="store_true", help="keep the run directory (logs, data) afterwards")
    parser.add_argument("--print-version", action="store_true", help="print the release it would run, and exit")
    args = parser.parse_args(argv)
    if args.print_version:
        print(args.version or version_of_image(StackConfig.of_stack(args.stack).image))
        return 0
    work = Path(tempfile.mkdtemp(prefix="openwebui-e2e-"))
    work.chmod(0o755)
    stack = LocalStack(args.stack, args.version, args.sabotage, work)
    print(f"== make e2e: stack '{args.stack}' on Open WebUI {stack.version} (the real release), run directory {work}")
    if args.sabotage:
        print(f"   BROKEN ON PURPOSE: {BREAKS[args.sabotage]}")
    try:
        with ExitStack() as exit_stack:
            stack.start_services(exit_stack)
            print("   schema Job ...", flush=True)
            checks = stack.run_job()
            if stack.job_keys:  # a failed Job leaves nothing to start on its database
                checks += exercise(stack, args.users, args.seconds)
            checks += contract(stack)
        return report(checks)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
