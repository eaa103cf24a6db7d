"""The connection budget under load: the dev stack's real pools against a real PostgreSQL at B1ms's limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.budget_load import AZURE_RESERVATIONS, LoadReport, error_kind, open_webui_engines, prove


@pytest.fixture(scope="module")
def dev() -> LoadReport:
    return prove("dev", extra=4)


def test_dev_at_its_maximum_holds_every_pool_at_its_peak_with_no_error(dev):
    # B1ms: 50 max_connections, Azure's 15 reserved
    assert (dev.max_connections, dev.capacity) == (50, 35)
    # (2 replicas + 1 rolling-update surge) x (2 x (2+1) main + (2+0) pgvector) + the schema Job's 8 + 1 Alembic
    # + the collector's 1
    assert dev.demand == dev.peak_seen == 34
    assert dev.errors_at_max == {}


def test_one_replica_more_than_the_budget_allows_is_refused_as_the_budget_says(dev):
    # 3 app pods (34 <= 35: 2 at the HPA's maximum and the surge) fit; a 4th asks for 8 more than the 1 left and is
    # refused 7 times
    assert dev.predicted_first_failure == dev.first_failure == 4
    assert dev.seen_at_failure == dev.capacity == 35
    # an application role meets Azure's reserved slots before the server is full
    assert dev.errors_at_failure == {"remaining slots reserved": 7}
    assert dev.exact


def test_nothing_is_left_behind(dev):
    pids, datadir = dev.left
    assert len(pids) == 1 + 4  # the Job, 2 replicas and the surge, then the refused 4th
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
    assert not Path(datadir).exists()


def test_engines_are_open_webuis_three_per_worker():
    env = {"DATABASE_URL": "postgresql://u:p@127.0.0.1:1/d", "PGVECTOR_DB_URL": "postgresql://u:p@127.0.0.1:1/v",
           "VECTOR_DB": "pgvector", "DATABASE_POOL_SIZE": "8", "DATABASE_POOL_MAX_OVERFLOW": "4",
           "PGVECTOR_POOL_SIZE": "4", "PGVECTOR_POOL_MAX_OVERFLOW": "4"}
    sync, asynchronous = open_webui_engines(env)
    assert [(e.url.drivername, e.url.database, e.pool.size(), e.pool._max_overflow) for e in sync] == [
        ("postgresql", "d", 8, 4), ("postgresql", "v", 4, 4)]
    [engine] = asynchronous
    assert (engine.url.drivername, engine.sync_engine.pool.size()) == ("postgresql+psycopg", 8)
    # unset sizes are SQLAlchemy's defaults; chroma has no third engine
    sync, _ = open_webui_engines({"DATABASE_URL": env["DATABASE_URL"]})
    assert [(e.pool.size(), e.pool._max_overflow) for e in sync] == [(5, 10)]
    with pytest.raises(ValueError, match="NullPool"):
        open_webui_engines({**env, "DATABASE_POOL_SIZE": "0"})
    assert sum(AZURE_RESERVATIONS.values()) == 15


def test_refusals_are_named_by_kind():
    assert error_kind(Exception('FATAL:  sorry, too many clients already')) == "too many clients"
    assert error_kind(Exception('FATAL:  remaining connection slots are reserved for roles with the SUPERUSER '
                                'attribute')) == "remaining slots reserved"
    assert error_kind(TimeoutError()) == "pool timeout"
