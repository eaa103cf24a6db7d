"""`make e2e`: the stack's Open WebUI, the real release, run as the cluster would run it, and checked.

    python -m tools.e2e [--stack dev] [--version 0.12.4] [--break redis-password|pool-budget|config-key]
                        [--users 200] [--seconds 60]

Reads what `make plan` rendered (build/<stack>/manifests and plan.json), starts PostgreSQL (the SKU's limit, Azure's
reservations, TLS), Redis (the Redis Deployment's args), runs the migration Job's containers, then three replicas
of the Deployment's container sharing one data directory, and prints the hand-run report's checklist as code, the
load table and the fault line. --break sabotages one thing on purpose to show the check that must catch it.
Exit 0 only when every check passes.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from psycopg.types.json import Jsonb

from components.config import APP_NAME
from components.open_webui import HTTP_PORT, secret_values
from components.redis import redis_url
from tools.e2e import api
from tools.e2e.judge import (config_check, connections_check, engines_check, fault_check, job_config_keys,
                             release_checks, summarize)
from tools.e2e.release import Release, ensure, version_of_image
from tools.e2e.rendered import (COMPONENT_LABEL, NAME_LABEL, Container, load_manifests, local_paths, localize,
                                secret_keys, workload)
from tools.e2e.sampler import ConnectionSampler
from tools.e2e.services import Postgres, Process, Processes, free_port, start_database, start_redis
from tools.mock_engine import ROOT, project_name, stack_config
from tools.verify import ALEMBIC_HEADS, Check, schema_check, vector_store_check

REPLICAS = 3
HERE = Path(__file__).resolve().parent
IMAGE_ENV = {
    # What the official image sets (its Dockerfile's ENV and WORKDIR /app/backend) that a pip install lacks.
    "ENV": "prod", "PORT": str(HTTP_PORT), "DATA_DIR": "/app/backend/data", "FRONTEND_BUILD_DIR": "/app/build",
    "HF_HOME": "/app/backend/data/cache/embedding/models", "SCARF_NO_ANALYTICS": "true", "DO_NOT_TRACK": "true",
    "ANONYMIZED_TELEMETRY": "false", "WEBUI_SECRET_KEY": "",
}
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1"}
"""This machine reaches no model hub: the Job's check for a newer model (it runs without HF_HUB_OFFLINE, to fetch a
configured embeddingModel in the cluster) would retry for minutes, so the hub is declared offline here; the model
is in the image's cache as in the cluster."""
BREAKS = {
    "redis-password": "the app's Redis URLs carry a wrong password (its Secret drifted from Redis's)",
    "pool-budget": "the replicas' pools raised to the seed's 10 + 5, past the budget",
    "config-key": "the Job's Config key ollama.base_urls misspelt ollama.base_url",
}
START_SECONDS = 900
READY_SECONDS = 60
FAULT_SECONDS = 75
"""The fault's load: the kill comes at 15 s, a replica starts in about 15-30 s here, and then must serve."""
JOB_DEADLINE_SECONDS = 1800
"""The Job's activeDeadlineSeconds."""
STALE_CONFIG = {"ollama.base_urls": ["http://ollama.old-namespace:11434"], "ollama.enable": False,
                "webui.url": "http://old-address.example"}
"""What an earlier deploy (or an admin) may have left under the keys the stack owns."""


def stack_settings(stack: str) -> dict[str, str]:
    """The stack's config as the engine passes it (defaults from Pulumi.yaml), by bare key."""
    config, _ = stack_config(stack)
    return {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith(f"{project_name()}:")}


def stack_image(stack: str) -> str:
    return stack_settings(stack)["image"]


def image_command(container: Container, release: Release, port: int) -> list[str]:
    """The container's command with the image's binaries; no command is the image's start.sh, whose last line runs
    uvicorn with the FORWARDED_ALLOW_IPS and UVICORN_WORKERS the env gives."""
    if not container.command:
        return [str(release.python), "-m", "uvicorn", "open_webui.main:app", "--host", "127.0.0.1", "--port",
                str(port), "--forwarded-allow-ips", container.env.get("FORWARDED_ALLOW_IPS", "*"),
                "--workers", container.env.get("UVICORN_WORKERS", "1")]
    binaries = {"python": str(release.python), "sh": "/bin/sh"}
    if container.command[0] not in binaries:
        raise RuntimeError(f"container {container.name} runs {container.command[0]!r}, which this run cannot map to "
                           "the release's tree")
    return [binaries[container.command[0]], *container.command[1:]]


def local_env(container: Container, paths: Mapping[str, Path], port: int) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR")}
    env = {**base, "HOME": str(paths["/app"].parent / "root"), **IMAGE_ENV, **container.env, **OFFLINE_ENV,
           "PORT": str(port)}
    return {k: localize(v, paths) for k, v in env.items()}


class Run:
    def __init__(self, stack: str, version: str | None, sabotage: str | None, work: Path) -> None:
        self.stack, self.sabotage, self.work = stack, sabotage, work
        build = ROOT / "build" / stack
        self.plan = json.loads((build / "plan.json").read_text())
        self.budget, self.webui = self.plan["budget"], self.plan["openWebUI"]
        self.objects = load_manifests(build / "manifests")
        self.config = stack_settings(stack)
        self.version = version or version_of_image(self.config["image"])
        self.shared = work / "data"  # the ReadWriteMany volume every pod mounts
        self.shared.mkdir()
        self.processes = Processes(work)
        self.checks: list[Check] = []
        self.release: Release

    # -- set-up ------------------------------------------------------------------------------------------------

    def start_services(self, stack: ExitStack) -> None:
        self.release = ensure(self.version, self.work / "setup.log")
        budget = self.budget
        extensions = json.loads(self.config["postgresExtensions"])
        self.pg = start_database(budget["maxConnections"], self.config["postgresAdminLogin"],
                                 self.config["postgresDatabase"], extensions)
        stack.callback(self.pg.stop)
        stack.callback(self.processes.stop_all)
        [(redis_secret, redis_key)] = [k for k in secret_keys(self.objects) if k[1] == "REDIS_PASSWORD"]
        password, port = secrets.token_hex(20), free_port()
        app_redis = redis_url("127.0.0.1", "wrong-" + password if self.sabotage == "redis-password" else password,
                              port=port)
        values = secret_values(APP_NAME, self.pg.url, app_redis, secrets.token_urlsafe(32))
        self.secrets = {(APP_NAME, k): v for k, v in values.items()} | {(redis_secret, redis_key): password}
        redis = workload(self.objects, "Deployment", {NAME_LABEL: redis_secret}, self.secrets)
        start_redis(self.processes, redis.containers[0].command, port)
        missing = [name for name, version in self.pg.extensions.items() if version is None]
        print(f"   PostgreSQL 18 max_connections {budget['maxConnections']} (Azure reserves 15), TLS on "
              f"{self.pg.front.port}; extensions {self.pg.extensions}"
              + (f" ({', '.join(missing)}: not in the embedded build, Open WebUI does not use it)" if missing else ""))

    def container_process(self, container: Container, port: int = 0) -> tuple[list[str], dict[str, str],
                                                                                        Path]:
        paths = local_paths(container, {"data": self.shared}, self.release.image_root)
        command = [localize(part, paths) for part in image_command(container, self.release, port)]
        cwd = paths["/app"] / "backend"
        return command, local_env(container, paths, port), cwd

    # -- the migration Job -----------------------------------------------------------------------------------

    def run_job(self) -> None:
        """The Job's containers in order, as the kubelet runs them; then the Job once more over a config table that
        holds other values (an earlier deploy's, or an admin's): the stack-owned keys must end as the stack says."""
        job = workload(self.objects, "Job", {NAME_LABEL: APP_NAME, COMPONENT_LABEL: "migration"}, self.secrets)
        if self.sabotage == "config-key":
            main = job.containers[0]
            command = tuple(c.replace('"ollama.base_urls"', '"ollama.base_url"') for c in main.command)
            job = replace(job, containers=(replace(main, command=command),))
        budget = self.budget["workloads"]
        job_app = f"{APP_NAME}-migrate"
        started = time.monotonic()
        with ConnectionSampler(self.pg.superuser, self.pg.server.port, lambda: {}) as sampler:
            failed = self.run_containers(job.name, (*job.init_containers, *job.containers))
            if failed:
                self.checks.append(failed)
                return
            self.checks.append(Check(f"migration Job {job.name}", True,
                                     f"init {', '.join(c.name for c in job.init_containers)} and "
                                     f"{job.containers[0].name} exited 0 in {time.monotonic() - started:.0f}s"))
            with self.pg.superuser() as conn:
                for key, stale in STALE_CONFIG.items():
                    conn.execute("UPDATE config SET value = %s WHERE key = %s", (Jsonb(stale), key))
            failed = self.run_containers(f"{job.name} (again)", job.containers)
            if failed:
                self.checks.append(failed)
                return
        self.job_keys = job_config_keys(job.containers[0].command)
        self.checks.append(connections_check(job_app, {"the Job": sampler.by_application.get(job_app, 0)},
                                             budget[job_app]["perPod"]))
        app_env = workload(self.objects, "Deployment", {NAME_LABEL: APP_NAME}, self.secrets).containers[0].env
        with self.pg.superuser() as conn:
            rows = conn.execute("SELECT key, value FROM config WHERE key = ANY(%s)", (list(STALE_CONFIG),)).fetchall()
        self.checks.append(config_check({str(k): v for k, v in rows}, app_env))

    def run_containers(self, job: str, containers: Sequence[Container]) -> Check | None:
        for container in containers:
            command, env, cwd = self.container_process(container)
            process = self.processes.start(f"job-{container.name}", command, env, cwd)
            code = process.popen.wait(timeout=JOB_DEADLINE_SECONDS)
            if code != 0:
                return Check(f"migration Job {job}", False, f"container {container.name} exited {code}:\n"
                             + process.tail(), "the log names the failure; fix it before any replica starts")
        return None

    # -- replicas -----------------------------------------------------------------------------------------------

    def start_replicas(self) -> None:
        deployment = workload(self.objects, "Deployment", {NAME_LABEL: APP_NAME}, self.secrets)
        self.container = deployment.containers[0]
        self.rendered_env = self.container.env  # what the stack declares, whatever the run does to it
        if self.sabotage == "pool-budget":
            env = {**self.container.env, "DATABASE_POOL_SIZE": "10", "DATABASE_POOL_MAX_OVERFLOW": "5"}
            self.container = replace(self.container, env=env)
        self.ports = [free_port() for _ in range(REPLICAS)]
        self.urls = [f"http://127.0.0.1:{p}" for p in self.ports]
        self.replicas: list[Process] = [self.start_replica(i) for i in range(REPLICAS)]

    def start_replica(self, i: int) -> Process:
        command, env, cwd = self.container_process(self.container, self.ports[i])
        return self.processes.start(f"replica-{i + 1}", command, env, cwd)

    def wait_ready(self, indexes: Sequence[int], deadline: float) -> list[Check]:
        checks = []
        for i in indexes:
            process = self.replicas[i]
            up = api.wait_for(self.urls[i], "/health", deadline, process.alive)
            # Serving, it is Ready within the readiness probe's window or not at all (a probe would keep failing).
            ready = up and api.wait_for(self.urls[i], "/ready", min(deadline, time.monotonic() + READY_SECONDS),
                                        process.alive)
            checks.append(Check(f"replica {i + 1} Ready (/health, then /ready)", ready,
                                f"{self.urls[i]}" + ("" if ready else f" {'serving' if up else 'not serving'}; log:\n"
                                                     + process.tail()),
                                "readiness pings the database and Redis: the log says which failed"))
        return checks

    # -- the checklist ------------------------------------------------------------------------------------------

    def checklist(self) -> None:
        env = self.container.env
        r1, r2, r3 = self.urls
        email, password = "admin@e2e.example", secrets.token_urlsafe(16)
        signup = api.request(r1, "POST", "/api/v1/auths/signup",
                             {"name": "Admin", "email": email, "password": password})
        admin = signup.json() or {}
        self.checks.append(Check("sign up on replica 1: the first user is admin",
                                 signup.status == 200 and admin.get("role") == "admin",
                                 f"HTTP {signup.status}, role {admin.get('role')}",
                                 "the database is not empty (another run's data) or sign-up is disabled"))
        signin = api.request(r2, "POST", "/api/v1/auths/signin", {"email": email, "password": password})
        token = (signin.json() or {}).get("token", "")
        self.checks.append(Check("sign in on replica 2 with that password", signin.status == 200 and bool(token),
                                 f"HTTP {signin.status}", "replicas must share DATABASE_URL"))
        me = api.request(r3, "GET", "/api/v1/auths/", token=token)
        self.checks.append(Check("its token accepted by replica 3", me.status == 200 and
                                 (me.json() or {}).get("id") == admin.get("id"), f"HTTP {me.status}",
                                 "WEBUI_SECRET_KEY must be identical on every replica (the Secret gives it)"))
        self.token = token
        self.edge_checks(signin, env)
        self.document_checks(token)
        self.realtime_check(token)

    def edge_checks(self, signin: api.Response, env: Mapping[str, str]) -> None:
        hsts = signin.headers.get("Strict-Transport-Security", "")
        self.checks.append(Check("HSTS on responses", hsts.replace(" ", "") == env["HSTS"].replace(" ", ""),
                                 f"Strict-Transport-Security: {hsts or '(none)'}",
                                 "the HSTS env (components/edge.py) must reach the app"))
        cookies = [c for c in signin.cookies() if c.startswith("token=")]
        secure = bool(cookies) and all("secure" in [p.strip().lower() for p in c.split(";")] for c in cookies)
        self.checks.append(Check("session cookie Secure", secure, "; ".join(c.split(";", 1)[1].strip()
                                                                            for c in cookies) or "no token cookie",
                                 "WEBUI_SESSION_COOKIE_SECURE / WEBUI_AUTH_COOKIE_SECURE must be true"))
        site = env["CORS_ALLOW_ORIGIN"]
        def grant(origin: str) -> str:
            r = api.request(self.urls[0], "OPTIONS", "/api/v1/auths/signin",
                            headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
            return r.headers.get("Access-Control-Allow-Origin", "")
        foreign, own = grant("https://attacker.example"), grant(site)
        self.checks.append(Check("CORS: a foreign Origin gets no grant, the site does", not foreign and own == site,
                                 f"foreign -> {foreign or '(none)'}, {site} -> {own or '(none)'}",
                                 "CORS_ALLOW_ORIGIN must be the site's URL, never *"))

    def document_checks(self, token: str) -> None:
        r1, r2, r3 = self.urls
        fact = f"The e2e marker {secrets.token_hex(6)} lives in the shared volume and in pgvector."
        content = ("Open WebUI on AKS keeps its files on Azure Files.\n\n" + fact + "\n").encode()
        uploaded = api.upload(r2, token, "e2e-note.txt", content)
        file = uploaded.json() or {}
        self.checks.append(Check("upload a document on replica 2 (stored, chunked, embedded)",
                                 uploaded.status == 200 and bool(file.get("id")), f"HTTP {uploaded.status}",
                                 "the embedding model must be in the shared cache (the Job's seed-model-cache)"))
        file_id = file.get("id", "")
        served = api.request(r3, "GET", f"/api/v1/files/{file_id}/content", token=token)
        self.checks.append(Check("its content served by replica 3 (the shared volume)", served.body == content,
                                 f"HTTP {served.status}, {len(served.body)} bytes",
                                 "every replica must mount the same ReadWriteMany volume at /app/backend/data"))
        kb = api.request(r1, "POST", "/api/v1/knowledge/create",
                         {"name": "e2e", "description": "make e2e"}, token=token).json() or {}
        added = api.request(r3, "POST", f"/api/v1/knowledge/{kb.get('id')}/file/add", {"file_id": file_id},
                            token=token)
        self.checks.append(Check("added to a knowledge base", added.status == 200,
                                 f"knowledge {kb.get('id')}: HTTP {added.status}", "see the replica logs"))
        self.query = {"collection_name": kb.get("id", ""), "query": fact, "k": 3}
        found = api.request(r1, "POST", "/api/v1/retrieval/query/doc", self.query, token=token)
        documents = [d for group in (found.json() or {}).get("documents", []) for d in group]
        with self.pg.superuser() as conn:
            rows = conn.execute("SELECT count(*) FROM document_chunk WHERE collection_name = %s",
                                (kb.get("id"),)).fetchone()
        self.checks.append(Check("retrieval on replica 1 returns its chunk from pgvector",
                                 any(fact in d for d in documents) and bool(rows and int(str(rows[0])) > 0),
                                 f"HTTP {found.status}, {len(documents)} chunk(s), {rows[0] if rows else 0} rows "
                                 "in document_chunk for the knowledge base",
                                 "VECTOR_DB=pgvector and PGVECTOR_DB_URL must reach the shared server"))
        with self.pg.superuser() as conn:
            self.checks.append(vector_store_check(conn, self.webui))
            self.checks.append(schema_check(conn, self.webui["imageTag"]))

    def realtime_check(self, token: str) -> None:
        chat = api.request(self.urls[1], "POST", "/api/v1/chats/new",
                           {"chat": {"title": "e2e", "messages": [], "history": {"messages": {}}}}, token=token)
        chat_id = (chat.json() or {}).get("id", "")
        probe = subprocess.run([str(self.release.python), str(HERE / "realtime.py"), self.urls[0], self.urls[1],
                                token, chat_id], capture_output=True, text=True, timeout=120)
        result = json.loads(probe.stdout or "{}")
        self.checks.append(Check("a realtime event crosses replicas through Redis", bool(result.get("received")),
                                 f"listener on replica 1 joined {result.get('joined')}, typing sent on replica 2: "
                                 + (f"received in {result['seconds']}s" if result.get("received") else
                                    f"NOT received {result.get('error') or probe.stderr[-300:]}"),
                                 "WEBSOCKET_MANAGER=redis and WEBSOCKET_REDIS_URL (with Redis's password) on every "
                                 "replica"))

    # -- load and a fault ---------------------------------------------------------------------------------------

    def load(self, users: int, seconds: int) -> dict[str, Any]:
        tokens = [self.token]
        for n in range(1, 10):
            email, pw = f"user{n}@e2e.example", secrets.token_urlsafe(12)
            api.ok(api.request(self.urls[0], "POST", "/api/v1/auths/add",
                               {"name": f"User {n}", "email": email, "password": pw, "role": "user"},
                               token=self.token), "add a user")
            tokens.append(api.ok(api.request(self.urls[n % REPLICAS], "POST", "/api/v1/auths/signin",
                                             {"email": email, "password": pw}), "sign in")["token"])
        # Every user reads the chat list and the models as itself, and queries the admin's knowledge base.
        spec = {"replicas": self.urls, "tokens": tokens, "query_token": self.token, "users": users,
                "seconds": seconds, "query": self.query, "think": [1.0, 3.0]}
        return self._load(spec)

    def _load(self, spec: dict[str, Any]) -> dict[str, Any]:
        out = self.work / f"load-{int(time.time())}.json"
        with out.open("w") as f:
            process = subprocess.Popen([str(self.release.python), str(HERE / "load.py"), json.dumps(spec)],
                                       stdout=f, stderr=subprocess.DEVNULL)
        self._loading = process
        return {"process": process, "out": out}

    def collect(self, handle: dict[str, Any]) -> list[list[Any]]:
        handle["process"].wait(timeout=600)
        records: list[list[Any]] = json.loads(handle["out"].read_text())["records"]
        return records

    def report(self) -> int:
        print("\n-- checklist")
        print("\n".join(c.line() for c in self.checks))
        failed = [c for c in self.checks if not c.ok]
        print(f"\n{len(self.checks) - len(failed)} passed, {len(failed)} failed")
        return 1 if failed else 0


def print_load(title: str, records: list[list[Any]], peaks: Mapping[str, int], per_pod: int, capacity: int) -> None:
    s = summarize(records)
    print(f"\n-- {title}")
    print(f"  {'endpoint':<34}{'requests':>9}{'errors':>8}{'p50 s':>8}{'p95 s':>8}")
    for endpoint, (n, errors, p50, p95) in s.by_endpoint.items():
        print(f"  {endpoint:<34}{n:>9}{errors:>8}{p50:>8.3f}{p95:>8.3f}")
    print(f"  {'all':<34}{s.requests:>9}{s.errors:>8}{s.p50:>8.3f}{s.p95:>8.3f}   max {s.max:.3f} s"
          + (f"; errors {s.error_kinds}" if s.error_kinds else ""))
    print(f"  peak PostgreSQL connections per replica {dict(sorted(peaks.items()))} (budget {per_pod} per pod), "
          f"server capacity {capacity}")


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
        print(args.version or version_of_image(stack_image(args.stack)))
        return 0
    work = Path(tempfile.mkdtemp(prefix="openwebui-e2e-"))
    work.chmod(0o755)
    run = Run(args.stack, args.version, args.sabotage, work)
    print(f"== make e2e: stack '{args.stack}' on Open WebUI {run.version} (the real release), run directory {work}")
    if args.sabotage:
        print(f"   BROKEN ON PURPOSE: {BREAKS[args.sabotage]}")
    try:
        with ExitStack() as stack:
            run.start_services(stack)
            print("   migration Job ...", flush=True)
            run.run_job()
            if not all(c.ok for c in run.checks):
                return run.report()
            exercise(run, args.users, args.seconds)
        return run.report()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def exercise(run: Run, users: int, seconds: int) -> None:
    budget = run.budget
    per_pod = budget["workloads"][APP_NAME]["perPod"]
    run.start_replicas()
    print(f"   {REPLICAS} replicas starting on {', '.join(run.urls)} ...", flush=True)
    processes = lambda: {f"replica {i + 1}": p.pid for i, p in enumerate(run.replicas)}  # noqa: E731
    with ConnectionSampler(run.pg.superuser, run.pg.front.port, processes) as sampler:
        ready = run.wait_ready(range(REPLICAS), time.monotonic() + START_SECONDS)
        run.checks += ready
        if not all(p.alive() for p in run.replicas):
            return  # a replica that is not even serving: its log is in the check
        run.checklist()
        print(f"   load: {users} users for {seconds} s ...", flush=True)
        records = run.collect(run.load(users, seconds))
        load = summarize(records)
        run.checks.append(Check(f"{users} users for {seconds} s", load.errors == 0 and load.requests > 0,
                                f"{load.requests} requests, {load.errors} errors, p50 {load.p50:.3f}s p95 "
                                f"{load.p95:.3f}s max {load.max:.3f}s", "see the load table and the replica logs"))
        load_peaks = dict(sampler.by_process)
        print("   fault: SIGKILL replica 3 under load, then restart it ...", flush=True)
        spec = {"replicas": run.urls, "tokens": [run.token], "users": users // 2, "seconds": FAULT_SECONDS,
                "query": None, "think": [1.0, 3.0]}
        handle = run._load(spec)
        started = time.monotonic()
        time.sleep(15)
        run.replicas[2].kill()
        killed_at = time.monotonic() - started
        run.replicas[2] = run.start_replica(2)
        back = run.wait_ready([2], time.monotonic() + 120)
        ready_at = time.monotonic() - started if back[0].ok else None
        fault = run.collect(handle)
        run.checks.append(fault_check(fault, 2, killed_at, ready_at))
        run.checks.append(connections_check(APP_NAME, sampler.by_process, per_pod))
        print_load(f"load: {users} users, {seconds} s, {REPLICAS} replicas", records, load_peaks, per_pod,
                   budget["capacity"])
        print_load("fault: replica 3 SIGKILLed at "
                   f"{killed_at:.0f}s, restarted" + (f", Ready at {ready_at:.0f}s" if ready_at else ", NOT Ready"),
                   fault, dict(sampler.by_process), per_pod, budget["capacity"])
    facts = release_facts(run)
    run.checks.append(engines_check(facts["engines"], run.rendered_env))
    run.checks += release_checks(facts, ALEMBIC_HEADS, f"v{run.version}")


def release_facts(run: Run) -> dict[str, Any]:
    """release_facts.py in the release's venv, with a replica's env (it imports the app as a worker does)."""
    env = run.container_process(run.container)[1]
    names = sorted({*run.container.env, *workload(run.objects, "Job", {NAME_LABEL: APP_NAME,
                                                                         COMPONENT_LABEL: "migration"},
                                                    run.secrets).containers[0].env})
    spec = json.dumps({"env": names, "config_keys": run.job_keys})
    probe = subprocess.run([str(run.release.python), str(HERE / "release_facts.py"), spec], env=env,
                           cwd=run.release.image_root / "app" / "backend", capture_output=True, text=True, timeout=600)
    if probe.returncode != 0:
        raise RuntimeError(f"release_facts.py failed:\n{probe.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(probe.stdout.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
