"""The dev stack's rendered Open WebUI as local processes: its servers, its schema Job, its replicas.

Everything it runs comes from build/<stack> (`make plan`): the Job's and the Deployment's containers, the Redis
Deployment's args, the budget and the openWebUI outputs. Sabotage (--break) alters one thing on purpose, here,
where the local stack is put together.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Callable, Mapping, Sequence

from psycopg import sql
from psycopg.types.json import Jsonb

from components.app_metrics import OTLP_ENDPOINT_ENV
from components.names import APP_NAME
from components.stack_config import StackConfig
from components.open_webui import HTTP_PORT, secret_values
from components.pod_security import API_TOKEN_VOLUME_NAME
from components.redis import redis_url
from components.sign_in import ADMIN_PASSWORD
from e2e import api
from e2e.judge import config_check, connections_check, job_config_keys, memory_peak_check
from e2e.otlp_receiver import OtlpReceiver
from e2e.release import Release, ensure, version_of_image
from e2e.rendered import (COMPONENT_LABEL, NAME_LABEL, Container, Workload, load_manifests, local_paths,
                                localize, secret_keys, workload)
from e2e.sampler import ConnectionSampler
from e2e.usage import peak_rss_while
from e2e.services import Process, Processes, start_database, start_redis
from components.stack_config import ROOT
from testing.postgres_server import free_port
from ops.verify import Check, vector_store_check

REPLICAS = 3
LOCAL_CLIENT_ID = "open-webui-e2e"
"""The client the local OpenID provider knows the replicas as (it takes any client that asks)."""
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
    "role-grant": "the app role does not own document_chunk (as if the Job had not handed it over)",
    "telemetry-off": "the replicas' ENABLE_OTEL_METRICS turned off (as if the env had lost it)",
}
JOB_DEADLINE_SECONDS = 1800
"""The Job's activeDeadlineSeconds."""
START_SECONDS = 900
"""How long the replicas, started together, may take to serve (each loads the embedding model; 2 cores here)."""
READY_SECONDS = 60
"""Serving, a replica is Ready within the readiness probe's window or not at all (a probe would keep failing)."""
STALE_CONFIG = {"ollama.base_urls": ["http://ollama.old-namespace:11434"], "ollama.enable": False,
                "webui.url": "http://old-address.example", "ui.enable_signup": True, "ui.default_user_role": "user"}
"""What an earlier deploy (or an admin) may have left under the keys the stack owns."""


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


class LocalStack:
    def __init__(self, stack: str, version: str | None, sabotage: str | None, work: Path,
                 manifests: Path | None = None) -> None:
        """manifests: the stack rendered otherwise (the sign-in scenario's entra mode); by default `make plan`'s."""
        self.name, self.sabotage, self.work = stack, sabotage, work
        build = ROOT / "build" / stack
        plan = json.loads((build / "plan.json").read_text())
        self.budget, self.webui = plan["budget"], plan["openWebUI"]
        self.objects = load_manifests(manifests or build / "manifests")
        self.config = StackConfig.of_stack(stack)
        self.admin = (self.config.admin_email, secrets.token_urlsafe(18))
        """The made admin (password mode): the stack's e-mail, a password generated as the program's is."""
        self.version = version or version_of_image(self.config.image)
        self.shared = work / "data"  # the ReadWriteMany volume every pod mounts
        self.shared.mkdir()
        token = work / "volumes" / API_TOKEN_VOLUME_NAME
        token.mkdir(parents=True)  # empty: no API server here, and the schema gate needs one only across a schema change
        self.volumes: dict[str, Path] = {"data": self.shared, API_TOKEN_VOLUME_NAME: token}
        """Volume name -> its local directory: the shared volume, the gate's token, and each ConfigMap mounted."""
        self.processes = Processes(work)
        self.job_keys: list[str] = []
        self.replica_env: Callable[[int], Mapping[str, str]] = lambda i: {}
        """What differs here for replica i from the rendered env (the sign-in scenario's provider, its breaks)."""
        self.job_peak_rss: dict[str, int] = {}
        """Container name -> the most resident memory it held, over every run of the Job."""
        self.release: Release

    # -- set-up ------------------------------------------------------------------------------------------------

    def start_services(self, exit_stack: ExitStack) -> None:
        self.release = ensure(self.version, self.work / "setup.log")
        extensions = list(self.config.postgres_extensions)
        self.pg = start_database(self.budget["maxConnections"], self.config.postgres_admin_login,
                                 self.config.postgres_database, extensions)
        exit_stack.callback(self.pg.stop)
        exit_stack.callback(self.processes.stop_all)
        self.telemetry = exit_stack.enter_context(OtlpReceiver())
        """Where the replicas' OTLP goes here: the collector's place (components/otel_collector.py)."""
        [(redis_secret, redis_key)] = [k for k in secret_keys(self.objects) if k[1] == "REDIS_PASSWORD"]
        password, port = secrets.token_hex(20), free_port()
        app_redis = redis_url("127.0.0.1", "wrong-" + password if self.sabotage == "redis-password" else password,
                              port=port)
        role = self.config.postgres_app_role
        self.pg.make_app_role(role, self.budget["roleLimits"][role])
        values = secret_values(APP_NAME, self.pg.url, self.pg.app_url, app_redis, secrets.token_urlsafe(32),
                               self.sign_in_secrets())
        self.secrets = {(APP_NAME, k): v for k, v in values.items()} | {(redis_secret, redis_key): password}
        redis = workload(self.objects, "Deployment", {NAME_LABEL: redis_secret}, self.secrets)
        self.redis_container = redis.containers[0]
        self.redis = start_redis(self.processes, redis.containers[0].command, port)
        self.rendered_env = self.deployment_container().env  # what the stack declares, whatever a --break does
        missing = [name for name, version in self.pg.extensions.items() if version is None]
        print(f"   PostgreSQL 18 max_connections {self.budget['maxConnections']} (Azure reserves 15), TLS on "
              f"{self.pg.front.port}; extensions {self.pg.extensions}"
              + (f" ({', '.join(missing)}: not in the embedded build, Open WebUI does not use it)" if missing else ""))

    def sign_in_secrets(self) -> dict[str, str]:
        """Local values for the sign-in keys the rendered Secret holds (components/sign_in.py): password or entra."""
        rendered = {key for name, key in secret_keys(self.objects) if name == APP_NAME}
        local = {ADMIN_PASSWORD: self.admin[1], "OAUTH_CLIENT_ID": LOCAL_CLIENT_ID,
                 "OAUTH_CLIENT_SECRET": secrets.token_urlsafe(24),
                 "OAUTH_SESSION_TOKEN_ENCRYPTION_KEY": secrets.token_urlsafe(32)}
        return {key: value for key, value in local.items() if key in rendered}

    def deployment_container(self) -> Container:
        return workload(self.objects, "Deployment", {NAME_LABEL: APP_NAME}, self.secrets).containers[0]

    def container_process(self, container: Container, port: int = 0) -> tuple[list[str], dict[str, str], Path]:
        paths = local_paths(container, self.volumes, self.release.image_root)
        command = [localize(part, paths) for part in image_command(container, self.release, port)]
        env = local_env(container, paths, port)
        env["PATH"] = f"{self.release.python.parent}:{env.get('PATH', '')}"  # the image's python, as a shell finds it
        return command, env, paths["/app"] / "backend"

    # -- the schema Job -----------------------------------------------------------------------------------

    def job(self) -> Workload:
        return workload(self.objects, "Job", {NAME_LABEL: APP_NAME, COMPONENT_LABEL: "migration"}, self.secrets)

    def run_job(self) -> list[Check]:
        """The Job's containers in order, as the kubelet runs them; then the Job once more over a config table that
        holds other values (an earlier deploy's, or an admin's): the stack-owned keys must end as the stack says.
        job_keys stays empty when the Job failed."""
        job = self.job()
        volume, file, program = job.program(job.containers[0])
        if self.sabotage == "config-key":
            program = program.replace('"ollama.base_urls"', '"ollama.base_url"')
            job = replace(job, config_maps={**job.config_maps, volume: {**job.config_maps[volume], file: program}})
        self.mount_config_maps(job)
        job_app = f"{APP_NAME}-migrate"
        started = time.monotonic()
        with ConnectionSampler(self.pg.superuser, self.pg.server.port, lambda: {}) as sampler:
            failed = self.run_containers(job.name, (*job.init_containers, *job.containers))
            if failed:
                return [failed]
            done = Check(f"schema Job {job.name}", True, f"init {', '.join(c.name for c in job.init_containers)} "
                         f"and {job.containers[0].name} exited 0 in {time.monotonic() - started:.0f}s")
            with self.pg.superuser() as conn:
                for key, stale in STALE_CONFIG.items():
                    conn.execute("UPDATE config SET value = %s WHERE key = %s", (Jsonb(stale), key))
            failed = self.run_containers(f"{job.name} (again)", job.containers)
            if failed:
                return [done, failed]
        self.job_keys = job_config_keys(program)
        with self.pg.superuser() as conn:
            rows = conn.execute("SELECT key, value FROM config WHERE key = ANY(%s)", (self.job_keys,)).fetchall()
            store = vector_store_check(conn, self.webui)
        return [done,
                replace(store, name=f"{store.name} made by the Job, before any replica (which would race to make it)"),
                memory_peak_check(f"schema Job {job.containers[0].name}",
                                 self.job_peak_rss[job.containers[0].name], job.containers[0].resources),
                connections_check(job_app, {"the Job": sampler.by_application.get(job_app, 0)},
                                  self.budget["workloads"][job_app]["perPod"]),
                config_check({str(k): v for k, v in rows}, self.rendered_env)]

    def mount_config_maps(self, workload: Workload) -> None:
        for volume, files in workload.config_maps.items():
            directory = self.work / "volumes" / volume
            directory.mkdir(parents=True, exist_ok=True)
            for file, text in files.items():
                (directory / file).write_text(text)
            self.volumes[volume] = directory

    def run_containers(self, job: str, containers: Sequence[Container]) -> Check | None:
        for container in containers:
            command, env, cwd = self.container_process(container)
            process = self.processes.start(f"job-{container.name}", command, env, cwd)
            code, peak = peak_rss_while(process.pid, lambda: process.popen.wait(timeout=JOB_DEADLINE_SECONDS))
            self.job_peak_rss[container.name] = max(peak, self.job_peak_rss.get(container.name, 0))
            if code != 0:
                return Check(f"schema Job {job}", False, f"container {container.name} exited {code}:\n"
                             + process.tail(), "the log names the failure; fix it before any replica starts")
        return None

    # -- replicas -----------------------------------------------------------------------------------------------

    def start_replicas(self) -> None:
        self.container = self.deployment_container()
        if self.sabotage == "pool-budget":
            self.container = replace(self.container, env={**self.container.env, "DATABASE_POOL_SIZE": "10",
                                                          "DATABASE_POOL_MAX_OVERFLOW": "5"})
        if self.sabotage == "telemetry-off":
            self.container = replace(self.container, env={**self.container.env, "ENABLE_OTEL_METRICS": "false"})
        if self.sabotage == "role-grant":
            with self.pg.superuser() as conn:
                conn.execute(sql.SQL("ALTER TABLE document_chunk OWNER TO {}").format(sql.Identifier(self.pg.login)))
        self.ports = [free_port() for _ in range(REPLICAS)]
        self.urls = [f"http://127.0.0.1:{p}" for p in self.ports]
        self.replicas: list[Process] = [self.start_replica(i) for i in range(REPLICAS)]

    def start_replica(self, i: int) -> Process:
        command, env, cwd = self.container_process(self.container, self.ports[i])
        return self.processes.start(f"replica-{i + 1}", command,
                                    {**env, **self.pod_env(self.pod_name(i)), **self.replica_env(i)}, cwd)

    @staticmethod
    def pod_name(i: int) -> str:
        return f"{APP_NAME}-replica-{i + 1}"

    def pod_env(self, pod: str) -> dict[str, str]:
        """What the pod's own name makes of the env (its telemetry's instance), and the collector's endpoint mapped
        to the local receiver."""
        own = workload(self.objects, "Deployment", {NAME_LABEL: APP_NAME}, self.secrets, pod=pod).containers[0].env
        env = {k: v for k, v in own.items() if v != self.rendered_env.get(k)}
        if OTLP_ENDPOINT_ENV in self.rendered_env:
            env[OTLP_ENDPOINT_ENV] = self.telemetry.endpoint
        return env

    def replica_pids(self) -> dict[str, int]:
        return {f"replica {i + 1}": p.pid for i, p in enumerate(self.replicas)}

    def wait_ready(self, indexes: Sequence[int], deadline: float) -> list[Check]:
        checks = []
        for i in indexes:
            process = self.replicas[i]
            up = api.wait_for(self.urls[i], "/health", deadline, process.alive)
            ready = up and api.wait_for(self.urls[i], "/ready", min(deadline, time.monotonic() + READY_SECONDS),
                                        process.alive)
            checks.append(Check(f"replica {i + 1} Ready (/health, then /ready)", ready,
                                f"{self.urls[i]}" + ("" if ready else f" {'serving' if up else 'not serving'}; log:\n"
                                                     + process.tail()),
                                "readiness pings the database and Redis: the log says which failed; a replica that "
                                "dies at start on CREATE INDEX ... document_chunk lacks its grants (the app role must "
                                "own the table: the schema Job hands it over, components/pg_role.py)"))
        return checks
