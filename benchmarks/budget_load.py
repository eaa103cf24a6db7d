"""The connection budget under load: real pools against a real PostgreSQL at the stack's SKU limits.

The embedded PostgreSQL gets the SKU's default max_connections and Azure's reservations (10 superuser + 5
reserved_connections, so an application role has max_connections - 15). Then one process per Open WebUI replica at
the HPA maximum, plus the schema Job's, each builds the engines Open WebUI 0.12.4 builds per Uvicorn worker
from the stack's rendered env (internal/db.py: a sync and an async engine on DATABASE_URL; retrieval/vector/dbs/
pgvector.py: one on PGVECTOR_DB_URL, which defaults to DATABASE_URL), SQLAlchemy 2.0.50 with psycopg2 (sync) and
psycopg 3 (async) as it pins them, connects as a non-superuser, and checks out every connection its pools can hold,
all at once. A process that runs migrations also holds Alembic's one NullPool connection. Then replicas are added
one at a time until the first fails.

`python -m benchmarks.budget_load <stack>` prints the table; `make bench-budget STACK=<stack>` runs it.
A replica is `python -m benchmarks.budget_load --replica` (its spec on stdin); it holds its connections until its
stdin closes or its deadline passes, then closes them and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import psycopg

from components.connection_budget import ConnectionBudget, PlainClient
from components.stack_config import ROOT
from offline_plan.mock_engine import reveal, run_program
from testing.postgres_server import RunningPostgres, start_postgres

APP_ROLE = "openwebui"
APP_PASSWORD = "load-proof-pw"
DATABASE = "openwebui"
AZURE_RESERVATIONS = {"superuser_reserved_connections": 10, "reserved_connections": 5}
"""Azure's 15 (REFERENCE: PG16 reserved_connections 5 + superuser_reserved_connections 10)."""
APPLICATION_PREFIX = "openwebui-load-"
POOLED = ("open-webui", "open-webui-surge", "open-webui-migrate")
"""The workloads that run Open WebUI's engines (one process each here); every other is a plain client."""
DEADLINE_SECONDS = 300
"""No replica outlives this, whatever happens to the process that started it."""


# -- one replica: Open WebUI's engines, driven to their peak -----------------------------------------------------

def _int(raw: Optional[str], default: Optional[int]) -> Optional[int]:
    """Open WebUI's parsing of a pool setting: an unset or unreadable value is the default."""
    try:
        return int(raw) if raw else default
    except ValueError:
        return default


def _async_url(url: str) -> str:
    """internal/db.py _make_async_url: psycopg 3 for the async engine."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def open_webui_engines(env: Mapping[str, str]) -> tuple[list[Any], list[Any]]:
    """The sync and async engines one Open WebUI 0.12.4 worker builds from its env."""
    from sqlalchemy import create_engine
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import QueuePool

    def pooled(factory: Any, url: str, prefix: str, sync: bool) -> Any:
        size = _int(env.get(f"{prefix}_POOL_SIZE"), None)
        if size is None:  # SQLAlchemy's own QueuePool defaults (5 + 10)
            return factory(url, pool_pre_ping=True)
        if size <= 0:
            raise ValueError(f"{prefix}_POOL_SIZE={size} is a NullPool with no bound: there is no peak to reach")
        return factory(url, pool_size=size, max_overflow=_int(env.get(f"{prefix}_POOL_MAX_OVERFLOW"), 0),
                       pool_timeout=_int(env.get(f"{prefix}_POOL_TIMEOUT"), 30),
                       pool_recycle=_int(env.get(f"{prefix}_POOL_RECYCLE"), 3600), pool_pre_ping=True,
                       **({"poolclass": QueuePool} if sync else {}))

    database_url = env["DATABASE_URL"]
    sync = [pooled(create_engine, database_url, "DATABASE", sync=True)]
    asynchronous = [pooled(create_async_engine, _async_url(database_url), "DATABASE", sync=False)]
    if env.get("VECTOR_DB", "chroma") == "pgvector":
        sync.append(pooled(create_engine, env.get("PGVECTOR_DB_URL") or database_url, "PGVECTOR", sync=True))
    return sync, asynchronous


def error_kind(error: BaseException) -> str:
    text = str(error)
    if "too many clients" in text:
        return "too many clients"
    if "remaining connection slots are reserved" in text:
        return "remaining slots reserved"
    if isinstance(error, TimeoutError) or "QueuePool limit" in text:
        return "pool timeout"
    return f"other: {text.strip().splitlines()[0] if text.strip() else type(error).__name__}"


def _peak(engine: Any) -> int:
    """What the engine's own pool can hold at once: size + max overflow."""
    pool = engine.pool
    return int(pool.size() + pool._max_overflow)


async def _hold(spec: dict[str, Any]) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    held: list[Any] = []
    errors: list[str] = []
    engines: list[Any] = []
    expected = 0

    def checkout(connect: Any) -> None:
        try:
            held.append(connect())
        except Exception as e:  # every refused checkout is counted, by kind
            errors.append(error_kind(e))

    for _ in range(spec["workers"]):
        sync, asynchronous = open_webui_engines(spec["env"])
        engines += sync + asynchronous
        for engine in sync:
            expected += _peak(engine)
            for _ in range(_peak(engine)):
                checkout(engine.connect)
        for engine in asynchronous:
            expected += _peak(engine.sync_engine)
            for _ in range(_peak(engine.sync_engine)):
                try:
                    held.append(await engine.connect())
                except Exception as e:
                    errors.append(error_kind(e))
        if spec["migrations"]:  # Alembic's NullPool engine (migrations/env.py), one connection
            alembic = create_engine(spec["env"]["DATABASE_URL"], poolclass=NullPool)
            engines.append(alembic)
            expected += 1
            checkout(alembic.connect)
    print(json.dumps({"held": len(held), "expected": expected, "errors": errors}), flush=True)
    sys.stdin.readline()  # until released (or the parent is gone: EOF)
    for connection in held:
        closed = connection.close()
        if asyncio.iscoroutine(closed):
            await closed
    for engine in engines:
        disposed = engine.dispose()
        if asyncio.iscoroutine(disposed):
            await disposed


def replica_main() -> int:
    spec = json.loads(sys.stdin.readline())
    signal.alarm(spec["deadline"])  # SIGALRM ends the process even if nothing ever releases it
    asyncio.run(_hold(spec))
    return 0


# -- the run: a server like the SKU, replicas at the maximum, then one more at a time ----------------------------

@dataclass
class Replica:
    name: str
    process: subprocess.Popen[str]
    report: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoadReport:
    stack: str
    max_connections: int
    capacity: int
    demand: int
    """The budget's prediction of the peak at the HPA maximum."""
    max_replicas: int
    predicted_first_failure: int
    peak_seen: int
    """Client connections of the application role in pg_stat_activity with every pool at its peak."""
    errors_at_max: dict[str, int]
    first_failure: Optional[int]
    """Replica count at which the first checkout was refused (None if none up to the limit)."""
    errors_at_failure: dict[str, int]
    seen_at_failure: int
    left: tuple[tuple[int, ...], str] = ((), "")
    """The replicas' process ids and the server's directory, all gone when prove returns."""

    def table(self) -> str:
        rows = [
            ("server max_connections (SKU default)", self.max_connections),
            ("capacity (max_connections - 15 reserved)", self.capacity),
            (f"predicted demand at the HPA maximum ({self.max_replicas} replicas + the rolling update's surge + "
             "schema Job)", self.demand),
            ("peak seen by the server (pg_stat_activity)", self.peak_seen),
            ("errors at the maximum", _kinds(self.errors_at_max)),
            ("first replica count the budget forbids", self.predicted_first_failure),
            ("first replica count refused by the server", self.first_failure),
            ("connections held when refused", self.seen_at_failure),
            ("errors then", _kinds(self.errors_at_failure)),
        ]
        return "\n".join(f"  {label:<78}{value}" for label, value in rows)

    @property
    def exact(self) -> bool:
        return (self.peak_seen == self.demand and not self.errors_at_max
                and self.first_failure == self.predicted_first_failure)


def _kinds(errors: Mapping[str, int]) -> str:
    return ", ".join(f"{n} x {kind}" for kind, n in sorted(errors.items())) or "0"


def _workload_env(inputs: dict[str, Any], url: str) -> dict[str, str]:
    """The container's env as the pod gets it: the secrets (unknown offline) become the local server's URL."""
    env = {}
    for entry in inputs["spec"]["template"]["spec"]["containers"][0]["env"]:
        if "value" in entry:
            env[entry["name"]] = str(entry["value"])
        elif entry["name"] in ("DATABASE_URL", "PGVECTOR_DB_URL"):
            env[entry["name"]] = url
    return env


def _url(server: RunningPostgres, application_name: str) -> str:
    # The stack's URL says sslmode=require; the local server has no TLS, which changes no connection count.
    return (f"postgresql://{APP_ROLE}:{APP_PASSWORD}@{server.host}:{server.port}/{DATABASE}"
            f"?sslmode=disable&application_name={application_name}")


def _start(name: str, env: dict[str, str], migrations: bool, workers: int) -> Replica:
    process = subprocess.Popen([sys.executable, "-m", "benchmarks.budget_load", "--replica"], cwd=ROOT, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdin is not None
    process.stdin.write(json.dumps({"env": env, "migrations": migrations, "workers": workers,
                                    "deadline": DEADLINE_SECONDS}) + "\n")
    process.stdin.flush()
    return Replica(name, process)


def _wait(replicas: list[Replica], deadline: float) -> None:
    for replica in replicas:
        if replica.report:
            continue
        assert replica.process.stdout is not None
        line = _readline(replica.process, deadline)
        if not line:
            raise RuntimeError(f"replica {replica.name} exited without a report (exit {replica.process.poll()})")
        replica.report = json.loads(line)


def _readline(process: subprocess.Popen[str], deadline: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
            raise TimeoutError("a replica did not report before the deadline")
    return process.stdout.readline()


def _seen(server: RunningPostgres) -> int:
    """The application role's connections now. A superuser takes one of the 10 slots kept for superusers, so
    looking does not take a slot from the application."""
    with psycopg.connect(server.conninfo(dbname=DATABASE)) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND application_name LIKE %s",
                           (APP_ROLE, APPLICATION_PREFIX + "%")).fetchone()
    return int(row[0]) if row else 0


def _errors(replicas: list[Replica]) -> dict[str, int]:
    return dict(Counter(kind for r in replicas for kind in r.report.get("errors", [])))


def prove(stack: str, extra: int = 20) -> LoadReport:
    """Runs the stack's peak against a server like its SKU, then adds replicas (up to `extra` more) until the
    first is refused. Leaves nothing behind: every replica is released and reaped, the server stopped and removed."""
    run = run_program(stack)
    exported = run.outputs["connectionBudget"]
    budget = ConnectionBudget("postgres", exported["maxConnections"], exported["reserved"], tuple(
        PlainClient(name, w["peakReplicas"], w["perPod"]) for name, w in exported["workloads"].items()))
    if budget.reserved != sum(AZURE_RESERVATIONS.values()):
        raise ValueError(f"the budget reserves {budget.reserved} connections; this emulation reserves "
                         f"{sum(AZURE_RESERVATIONS.values())} as Azure does")
    app, job = reveal(run.named("open-webui-deployment").inputs), reveal(run.named("open-webui-migrate").inputs)
    # the HPA's maximum and the pods a rolling update adds beside them: the app's peak
    max_replicas = int(reveal(run.named("open-webui-hpa").inputs)["spec"]["maxReplicas"])
    peak = max_replicas + exported["workloads"]["open-webui-surge"]["peakReplicas"]

    server = start_postgres({"max_connections": budget.max_connections, **AZURE_RESERVATIONS})
    replicas: list[Replica] = []
    plain: list[psycopg.Connection[Any]] = []
    try:
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER PASSWORD '{APP_PASSWORD}'")
            conn.execute(f"CREATE DATABASE {DATABASE} OWNER {APP_ROLE}")

        def start(name: str, inputs: dict[str, Any]) -> Replica:
            env = _workload_env(inputs, _url(server, APPLICATION_PREFIX + name))
            return _start(name, env, migrations=env.get("ENABLE_DB_MIGRATIONS") == "true",
                          workers=int(env.get("UVICORN_WORKERS", "1")))

        deadline = time.monotonic() + DEADLINE_SECONDS
        # the plain clients (the collector, a data migration): the connections they declare, held from the start
        plain = [psycopg.connect(_url(server, APPLICATION_PREFIX + name)) for name, w in exported["workloads"].items()
                 if name not in POOLED for _ in range(w["demand"])]
        replicas = [start("open-webui-migrate", job)] + [start(f"open-webui-{i}", app) for i in range(peak)]
        _wait(replicas, deadline)  # every pool at its peak, all at once
        peak_seen, errors_at_max = _seen(server), _errors(replicas)

        first_failure, seen_at_failure, errors_at_failure = None, 0, {}
        for count in range(peak + 1, peak + extra + 1):
            replicas.append(start(f"open-webui-{count - 1}", app))
            _wait(replicas, deadline)
            errors = _errors(replicas)
            if errors != errors_at_max:
                first_failure, seen_at_failure = count, _seen(server)
                errors_at_failure = dict(Counter(errors) - Counter(errors_at_max))
                break
        return LoadReport(
            stack=stack, max_connections=budget.max_connections, capacity=budget.capacity, demand=budget.demand,
            max_replicas=max_replicas,
            predicted_first_failure=budget.first_forbidden_replicas("open-webui") + peak - max_replicas,
            peak_seen=peak_seen, errors_at_max=errors_at_max, first_failure=first_failure,
            errors_at_failure=errors_at_failure, seen_at_failure=seen_at_failure,
            left=(tuple(r.process.pid for r in replicas), str(server.datadir)))
    finally:
        for conn in plain:
            conn.close()
        for replica in replicas:
            if replica.process.stdin:
                replica.process.stdin.close()  # release: it closes its connections and exits
        for replica in replicas:
            try:
                replica.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait()
            if replica.process.stdout:
                replica.process.stdout.close()
        server.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", nargs="?", default="dev")
    parser.add_argument("--replica", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.replica:
        return replica_main()
    started = time.monotonic()
    report = prove(args.stack)
    print(f"== connection budget under load, stack '{args.stack}' (embedded PostgreSQL 18, {os.cpu_count()} cores, "
          f"{time.monotonic() - started:.0f}s)\n{report.table()}")
    print("the budget's prediction is exact" if report.exact else "MISMATCH: the formula or the emulation is wrong")
    return 0 if report.exact else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
