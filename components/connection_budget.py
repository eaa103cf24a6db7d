"""The connection budget: how many PostgreSQL connections a stack may open against what its server accepts.

This module is the one source of truth for the formula. The program validates its config with it before
declaring anything, the offline plan prints it, and the policy pack (policy/) imports it to check any stack.
It imports nothing from Pulumi so that all three can load it.

Open WebUI 0.12 semantics (open_webui/env.py, internal/db.py, retrieval/vector/dbs/pgvector.py):
- each Uvicorn worker process opens the main database through TWO SQLAlchemy engines (sync and async),
  each with its own DATABASE_POOL_* pool, and, with VECTOR_DB=pgvector, a third engine with the
  PGVECTOR_POOL_* pool (its own pool even when PGVECTOR_DB_URL equals DATABASE_URL);
- a pool whose size is unset is SQLAlchemy's QueuePool default, 5 + 10 overflow (the overflow variable
  is ignored then); a size of 0 is a NullPool, which has no upper bound at all;
- with ENABLE_DB_MIGRATIONS=true (the default) every worker runs Alembic at start on one more connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

POSTGRES_SERVER_ANNOTATION = "openwebui.io/postgres-server"
POSTGRES_ROLE_ANNOTATION = "openwebui.io/postgres-role"
"""The login role a workload connects as (its URL is a secret the policy pack cannot read): the pack refuses an app
that connects as its server's admin."""
"""On a workload: the logical name of the PostgreSQL server resource whose budget its connections count against."""

POSTGRES_CONNECTIONS_ANNOTATION = "openwebui.io/postgres-connections"
"""On a workload that is not Open WebUI (no SQLAlchemy pools): the most connections each of its pods opens."""

AZURE_RESERVED_CONNECTIONS = 15
"""reserved_connections (5) + superuser_reserved_connections (10) on Azure PG16; apps never get these."""

SQLALCHEMY_DEFAULT_POOL_SIZE = 5
SQLALCHEMY_DEFAULT_MAX_OVERFLOW = 10


@dataclass(frozen=True)
class PostgresSku:
    name: str
    tier: str
    """The SkuTier value Azure expects with this SKU name."""
    default_max_connections: int


POSTGRES_SKUS: Mapping[str, PostgresSku] = {
    sku.name: sku
    for sku in (
        PostgresSku("Standard_B1ms", "Burstable", 50),
        PostgresSku("Standard_B2s", "Burstable", 429),
        PostgresSku("Standard_D2ds_v5", "GeneralPurpose", 859),
        PostgresSku("Standard_D4ds_v5", "GeneralPurpose", 1718),
        PostgresSku("Standard_E2ds_v5", "MemoryOptimized", 1718),
    )
}
"""Azure's default max_connections per SKU (Azure docs, 'Limits in Azure Database for PostgreSQL')."""


class PoolError(ValueError):
    """A pool setting no budget can hold: negative, or a NullPool (size 0) that has no upper bound."""


@dataclass(frozen=True)
class Pool:
    """One SQLAlchemy engine's pool as Open WebUI configures it from its *_POOL_SIZE / *_MAX_OVERFLOW env."""

    size: Optional[int]
    max_overflow: Optional[int]

    @property
    def unbounded(self) -> bool:
        return self.size == 0

    @property
    def peak(self) -> int:
        """The most connections this pool opens at once."""
        if self.size is None:
            return SQLALCHEMY_DEFAULT_POOL_SIZE + SQLALCHEMY_DEFAULT_MAX_OVERFLOW
        if self.unbounded:
            raise PoolError("a pool size of 0 is SQLAlchemy's NullPool, which opens one connection per concurrent use "
                            "with no upper bound")
        return self.size + (self.max_overflow or 0)

    def describe(self) -> str:
        if self.size is None:
            return f"{SQLALCHEMY_DEFAULT_POOL_SIZE}+{SQLALCHEMY_DEFAULT_MAX_OVERFLOW} (unset: SQLAlchemy default)"
        return f"{self.size}+{self.max_overflow or 0}"


def _optional_int(env: Mapping[str, str], key: str) -> Optional[int]:
    raw = env.get(key)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise PoolError(f"{key}={raw!r} is not a whole number") from None
    if value < 0:
        raise PoolError(f"{key}={value} is negative")
    return value


def _truthy(raw: Optional[str], default: bool) -> bool:
    return default if raw is None else str(raw).strip().lower() == "true"


@dataclass(frozen=True)
class Workload:
    """A set of identical pods that connect to one PostgreSQL server."""

    name: str
    peak_replicas: int
    uvicorn_workers: int
    database_pool: Pool
    pgvector_pool: Optional[Pool]
    """None when VECTOR_DB is not pgvector: no third engine then."""
    runs_migrations: bool

    @classmethod
    def from_env(cls, name: str, peak_replicas: int, env: Mapping[str, str]) -> "Workload":
        """Reads the pools the way Open WebUI reads them from its environment, defaults included."""
        pgvector = env.get("VECTOR_DB", "chroma").strip().lower() == "pgvector"
        return cls(
            name=name,
            peak_replicas=peak_replicas,
            uvicorn_workers=_optional_int(env, "UVICORN_WORKERS") or 1,
            database_pool=Pool(_optional_int(env, "DATABASE_POOL_SIZE"),
                               _optional_int(env, "DATABASE_POOL_MAX_OVERFLOW")),
            pgvector_pool=Pool(_optional_int(env, "PGVECTOR_POOL_SIZE"),
                               _optional_int(env, "PGVECTOR_POOL_MAX_OVERFLOW")) if pgvector else None,
            runs_migrations=_truthy(env.get("ENABLE_DB_MIGRATIONS"), default=True),
        )

    @property
    def unbounded(self) -> bool:
        return self.database_pool.unbounded or bool(self.pgvector_pool and self.pgvector_pool.unbounded)

    @property
    def min_per_worker(self) -> int:
        """The fewest connections a worker can be given: pools of one connection each."""
        return 2 + (1 if self.pgvector_pool else 0) + (1 if self.runs_migrations else 0)

    @property
    def per_worker(self) -> int:
        vector = self.pgvector_pool.peak if self.pgvector_pool else 0
        return 2 * self.database_pool.peak + vector + (1 if self.runs_migrations else 0)

    @property
    def per_pod(self) -> int:
        return self.uvicorn_workers * self.per_worker

    @property
    def demand(self) -> int:
        return self.peak_replicas * self.per_pod

    def arithmetic(self) -> str:
        terms = [f"2 x ({self.database_pool.describe()}) main"]
        if self.pgvector_pool:
            terms.append(f"({self.pgvector_pool.describe()}) pgvector")
        if self.runs_migrations:
            terms.append("1 alembic")
        return (f"{self.name}: {self.peak_replicas} replicas x {self.uvicorn_workers} workers x "
                f"[{' + '.join(terms)}] = {self.demand}")


@dataclass(frozen=True)
class PlainClient:
    """Pods that open a known, fixed number of connections each (a script with one connection, not a pool)."""

    name: str
    peak_replicas: int
    per_pod: int
    unbounded = False

    @property
    def demand(self) -> int:
        return self.peak_replicas * self.per_pod

    def arithmetic(self) -> str:
        return f"{self.name}: {self.peak_replicas} replicas x {self.per_pod} connection(s), no pool = {self.demand}"


@dataclass(frozen=True)
class ConnectionBudget:
    """Peak demand of every workload on one server against the connections the server gives applications."""

    server: str
    max_connections: int
    reserved: int
    workloads: tuple[Workload | PlainClient, ...]

    @property
    def capacity(self) -> int:
        return self.max_connections - self.reserved

    @property
    def unbounded_workloads(self) -> list[str]:
        return [w.name for w in self.workloads if w.unbounded]

    @property
    def demand(self) -> int:
        return sum(w.demand for w in self.workloads if not w.unbounded)

    @property
    def headroom(self) -> int:
        return self.capacity - self.demand

    @property
    def within(self) -> bool:
        return not self.unbounded_workloads and self.demand <= self.capacity

    @property
    def alert_threshold(self) -> int:
        """Connections worth an alert: 80% of the capacity, so there is time to act before refusals start."""
        return self.capacity * ALERT_PERCENT // 100

    def share(self, names: Iterable[str]) -> int:
        """The peak demand of the workloads named: what a role they all connect as may hold (its CONNECTION LIMIT)."""
        wanted = set(names)
        return sum(w.demand for w in self.workloads if w.name in wanted and not w.unbounded)

    def first_forbidden_replicas(self, name: str) -> int:
        """The fewest replicas of workload `name` the server cannot hold, every other workload at its peak."""
        [workload] = [w for w in self.workloads if w.name == name]
        room = self.capacity - (self.demand - workload.demand)
        return max(room, -1) // workload.per_pod + 1

    def arithmetic(self) -> str:
        lines = [w.arithmetic() for w in self.workloads if not w.unbounded]
        lines += [f"{name}: unbounded (a pool size of 0 is a NullPool)" for name in self.unbounded_workloads]
        lines.append(f"demand {self.demand} vs capacity {self.capacity} ({self.max_connections} max_connections - "
                     f"{self.reserved} reserved)")
        return "\n".join(lines)

    def fixes(self, names: Mapping[str, str]) -> list[str]:
        """The smallest single changes that bring demand within capacity.

        `names` maps the knobs 'max_replicas', 'database_pool', 'pgvector_pool' and 'sku' to what the caller
        calls them (config keys in the program, HPA and env fields in the policy pack).
        """
        if self.unbounded_workloads:
            return [f"set a pool size above 0 ({names['database_pool']}, {names['pgvector_pool']}): "
                    "a NullPool cannot be budgeted"]
        if self.within:
            return []
        excess = self.demand - self.capacity
        fixes = []
        for w in self.workloads:
            others = self.demand - w.demand
            fitting_replicas = (self.capacity - others) // w.per_pod
            if 1 <= fitting_replicas < w.peak_replicas:
                fixes.append(f"lower {names['max_replicas']} of {w.name} from {w.peak_replicas} to {fitting_replicas}")
            if isinstance(w, PlainClient):
                continue
            per_pod_allowed = (self.capacity - others) // w.peak_replicas
            per_worker_allowed = per_pod_allowed // w.uvicorn_workers
            if per_worker_allowed >= w.min_per_worker:
                fixes.append(f"shrink the pools of {w.name} ({names['database_pool']}, {names['pgvector_pool']}) "
                             f"to at most {per_worker_allowed} connections per worker "
                             f"(2 x main + pgvector{' + 1 alembic' if w.runs_migrations else ''}; now {w.per_worker})")
        bigger = sorted((s for s in POSTGRES_SKUS.values()
                         if s.default_max_connections - self.reserved >= self.demand),
                        key=lambda s: s.default_max_connections)
        if bigger:
            fixes.append(f"move {names['sku']} to {bigger[0].name} "
                         f"({bigger[0].default_max_connections - self.reserved} usable connections)")
        return fixes or [f"remove {excess} connections of demand: no single change fits"]

    def violation(self, names: Mapping[str, str]) -> str:
        """The full message for a budget that does not hold: the arithmetic, then the fixes."""
        return (f"PostgreSQL server '{self.server}' is over its connection budget:\n{self.arithmetic()}\n"
                "Fix with one of:\n" + "\n".join(f"  - {fix}" for fix in self.fixes(names)))


def max_connections_for(sku_name: str, explicit: Optional[int], sku_table: Mapping[str, int]) -> int:
    """An explicit max_connections server parameter wins over the SKU's default."""
    if explicit is not None:
        return explicit
    if sku_name not in sku_table:
        raise KeyError(sku_name)
    return sku_table[sku_name]


def default_sku_table() -> dict[str, int]:
    return {name: sku.default_max_connections for name, sku in POSTGRES_SKUS.items()}


ALERT_PERCENT = 80
VERIFY_APPLICATION = "openwebui-verify"
"""`make verify` connects under this name; it is not a workload of the budget."""


def with_application_name(url: str, application: str) -> str:
    """The URL with libpq's application_name set (replacing one already there): pg_stat_activity then tells a
    workload's connections from everyone else's, by the workload's name in this budget."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "application_name"] + [("application_name", application)]
    return urlunsplit(parts._replace(query=urlencode(query)))
