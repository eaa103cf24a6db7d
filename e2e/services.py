"""The servers a stack's Open WebUI talks to, started on loopback, and its processes.

- PostgreSQL: the embedded PostgreSQL 18 with pgvector at the stack's SKU limit and Azure's reservations, the
  stack's admin login as a non-superuser owning the database, the extensions created by the PgExtension provider
  itself; clients reach it through TLS (testing/postgres_server.TlsFront), as sslmode=require reaches Azure.
- Redis: Debian's redis-server 7 (the stack runs redis:7.4 in the cluster; PyPI's redis-server wheels are 6.0 from
  2020), started with the Redis Deployment's own rendered args, password included.
- Processes: each its own session and log file, ended (SIGTERM, then SIGKILL) when the run ends.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence

import psycopg
from psycopg import sql

from components.pg_extension import PgExtensionProvider
from components.pg_role import PgRoleProvider
from components.postgres import database_url
from benchmarks.budget_load import AZURE_RESERVATIONS
from testing.postgres_server import SUPERUSER, SUPERUSER_PASSWORD, RunningPostgres, TlsFront, start_postgres


@dataclass
class Postgres:
    server: RunningPostgres
    front: TlsFront
    login: str
    password: str
    database: str
    extensions: dict[str, Optional[str]]
    """name -> installed version (None: not in the embedded build)."""

    app_role: str = ""
    app_password: str = ""

    @property
    def url(self) -> str:
        """The admin's URL in the stack's shape (postgres.database_url), through the TLS front."""
        return database_url(self.login, self.password, self.front.host, self.database, port=self.front.port)

    @property
    def app_url(self) -> str:
        """The app role's, likewise."""
        return database_url(self.app_role, self.app_password, self.front.host, self.database, port=self.front.port)

    def make_app_role(self, role: str, connection_limit: int) -> None:
        """The replicas' role, made by the program's own provider as `pulumi up` makes it: as the admin, over TLS."""
        self.app_role, self.app_password = role, secrets.token_hex(16)
        PgRoleProvider().create({"host": self.front.host, "port": self.front.port, "database": self.database,
                                 "user": self.login, "password": self.password, "sslmode": "require",
                                 "role": role, "role_password": self.app_password,
                                 "connection_limit": connection_limit, "connect_retry_seconds": 10})

    def superuser(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.server.conninfo(self.database), autocommit=True)

    def stop(self) -> None:
        self.front.close()
        self.server.stop()


def start_database(max_connections: int, login: str, database: str, extensions: Sequence[str]) -> Postgres:
    server = start_postgres({"max_connections": max_connections, **AZURE_RESERVATIONS})
    password = secrets.token_hex(16)
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        # Azure's admin is no superuser: a member of azure_pg_admin (which owns the postgres database there), with
        # CREATEROLE and CREATEDB, owning the app's database.
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB CREATEROLE PASSWORD {}").format(sql.Identifier(login),
                                                                                 sql.Literal(password)))
        conn.execute("CREATE ROLE azure_pg_admin NOLOGIN")
        conn.execute(sql.SQL("GRANT azure_pg_admin TO {}").format(sql.Identifier(login)))
        conn.execute("ALTER DATABASE postgres OWNER TO azure_pg_admin")
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(database), sql.Identifier(login)))
    installed: dict[str, Optional[str]] = {}
    provider = PgExtensionProvider()
    for name in extensions:
        with psycopg.connect(server.conninfo(database), autocommit=True) as conn:
            available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = %s", (name,)).fetchone()
        if not available:
            installed[name] = None
            continue
        # As the stack's PgExtension resource does it (the superuser stands in for Azure's allow-list grant).
        result = provider.create({"host": server.host, "port": server.port, "database": database,
                                  "user": SUPERUSER, "password": SUPERUSER_PASSWORD,
                                  "sslmode": "disable", "name": name, "version": None, "schema": None,
                                  "drop_on_delete": False, "connect_retry_seconds": 10})
        installed[name] = result.outs["installed_version"] if result.outs else None
    return Postgres(server, TlsFront(server), login, password, database, installed)


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a node failure or an OOM kill would."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)

    def stop(self, grace: float = 10) -> None:
        if not self.alive():
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, lines: int = 6) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""


@dataclass
class Processes:
    logs: Path
    started: list[Process] = field(default_factory=list)

    def start(self, name: str, command: Sequence[str], env: Mapping[str, str], cwd: Path) -> Process:
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(list(command), env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        process = Process(name, popen, log)
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.stop()


def start_redis(processes: Processes, args: Sequence[str], port: int) -> Process:
    """Redis with the Deployment's rendered args (its --requirepass expanded from the Secret)."""
    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError("redis-server is not installed: `apt-get install redis-server` (Debian/Ubuntu) or "
                           "`brew install redis`; make e2e installs it with apt-get when it runs as root")
    process = processes.start("redis", [server, "--bind", "127.0.0.1", "--port", str(port), *args],
                              dict(os.environ), processes.logs)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"redis-server did not listen on {port} within 30 s:\n{process.tail()}")
