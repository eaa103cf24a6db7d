import pytest

from components.connection_budget import (
    ConnectionBudget,
    PlainClient,
    Pool,
    PoolError,
    Workload,
    default_sku_table,
    max_connections_for,
)

NAMES = {"max_replicas": "HPA maxReplicas", "database_pool": "DATABASE_POOL_*",
         "pgvector_pool": "PGVECTOR_POOL_*", "sku": "the SKU"}

SEED_ENV = {"VECTOR_DB": "pgvector", "PGVECTOR_POOL_SIZE": "10", "PGVECTOR_POOL_MAX_OVERFLOW": "5"}
"""The hand-run system: pgvector pool 10+5, main pool unset, migrations on (the default)."""


def test_unset_pool_is_sqlalchemy_default_and_ignores_overflow():
    assert Pool(None, None).peak == 15
    assert Pool(None, 3).peak == 15
    assert Pool(4, None).peak == 4
    assert Pool(4, 2).peak == 6


def test_nullpool_is_unbounded():
    with pytest.raises(PoolError, match="NullPool"):
        _ = Pool(0, 5).peak


def test_open_webui_defaults_are_45_per_pod_plus_alembic():
    w = Workload.from_env("app", 1, {"VECTOR_DB": "pgvector", "ENABLE_DB_MIGRATIONS": "false"})
    assert w.per_pod == 2 * 15 + 15 == 45
    assert Workload.from_env("app", 1, {"VECTOR_DB": "pgvector"}).per_pod == 46


def test_no_pgvector_engine_without_pgvector():
    w = Workload.from_env("app", 1, {"VECTOR_DB": "chroma", "PGVECTOR_POOL_SIZE": "50",
                                     "DATABASE_POOL_SIZE": "3", "DATABASE_POOL_MAX_OVERFLOW": "1",
                                     "ENABLE_DB_MIGRATIONS": "false"})
    assert w.per_pod == 8


def test_each_uvicorn_worker_has_its_own_pools():
    env = {"VECTOR_DB": "pgvector", "UVICORN_WORKERS": "4", "DATABASE_POOL_SIZE": "2",
           "DATABASE_POOL_MAX_OVERFLOW": "1", "PGVECTOR_POOL_SIZE": "2", "PGVECTOR_POOL_MAX_OVERFLOW": "0",
           "ENABLE_DB_MIGRATIONS": "false"}
    assert Workload.from_env("app", 3, env).demand == 3 * 4 * (2 * 3 + 2)


def test_seed_stack_is_over_budget_with_arithmetic_and_fixes():
    budget = ConnectionBudget("seed", max_connections=50, reserved=15,
                              workloads=(Workload.from_env("open-webui", 20, SEED_ENV),))
    assert not budget.within
    assert budget.capacity == 35
    assert budget.demand == 20 * (2 * 15 + 15 + 1) == 920
    message = budget.violation(NAMES)
    assert "20 replicas x 1 workers x [2 x (5+10 (unset: SQLAlchemy default)) main + (10+5) pgvector + 1 alembic] = 920" in message
    assert "demand 920 vs capacity 35 (50 max_connections - 15 reserved)" in message
    # No single knob but the SKU fits: one pod alone needs 46, and 20 pods need at least 4 connections
    # each (pools of one) where 35 / 20 leaves 1. D2ds_v5 (844 usable) is too small for 920.
    assert budget.fixes(NAMES) == ["move the SKU to Standard_D4ds_v5 (1703 usable connections)"]


def test_fix_suggests_pool_sizes_that_fit():
    env = {"VECTOR_DB": "pgvector", "DATABASE_POOL_SIZE": "10", "DATABASE_POOL_MAX_OVERFLOW": "5",
           "PGVECTOR_POOL_SIZE": "10", "PGVECTOR_POOL_MAX_OVERFLOW": "5", "ENABLE_DB_MIGRATIONS": "false"}
    budget = ConnectionBudget("s", 859, 15, (Workload.from_env("app", 20, env),))
    assert budget.demand == 900
    assert ("shrink the pools of app (DATABASE_POOL_*, PGVECTOR_POOL_*) to at most 42 connections per worker "
            "(2 x main + pgvector; now 45)") in budget.fixes(NAMES)
    assert "lower HPA maxReplicas of app from 20 to 18" in budget.fixes(NAMES)


def test_fix_suggests_the_replica_count_that_fits():
    env = {"VECTOR_DB": "pgvector", "DATABASE_POOL_SIZE": "2", "DATABASE_POOL_MAX_OVERFLOW": "1",
           "PGVECTOR_POOL_SIZE": "2", "PGVECTOR_POOL_MAX_OVERFLOW": "0", "ENABLE_DB_MIGRATIONS": "false"}
    budget = ConnectionBudget("s", 50, 15, (Workload.from_env("app", 5, env),))
    assert budget.demand == 40
    assert "lower HPA maxReplicas of app from 5 to 4" in budget.fixes(NAMES)


def test_unbounded_workload_is_a_violation_whatever_the_capacity():
    w = Workload.from_env("app", 1, {"VECTOR_DB": "pgvector", "PGVECTOR_POOL_SIZE": "0"})
    budget = ConnectionBudget("s", 5000, 15, (w,))
    assert not budget.within
    assert budget.unbounded_workloads == ["app"]
    assert "NullPool" in budget.violation(NAMES)


def test_demand_sums_over_workloads():
    a = Workload.from_env("a", 2, {"DATABASE_POOL_SIZE": "1", "DATABASE_POOL_MAX_OVERFLOW": "0",
                                   "VECTOR_DB": "chroma", "ENABLE_DB_MIGRATIONS": "false"})
    b = Workload.from_env("b", 1, {"DATABASE_POOL_SIZE": "1", "DATABASE_POOL_MAX_OVERFLOW": "0",
                                   "VECTOR_DB": "chroma"})
    budget = ConnectionBudget("s", 50, 15, (a, b))
    assert budget.demand == 2 * 2 + 3
    assert budget.headroom == 35 - 7


@pytest.mark.parametrize("raw", ["-1", "ten"])
def test_bad_env_values_are_pool_errors_naming_the_variable(raw):
    with pytest.raises(PoolError, match="DATABASE_POOL_SIZE"):
        Workload.from_env("app", 1, {"DATABASE_POOL_SIZE": raw})


def test_explicit_max_connections_wins_over_the_sku_default():
    table = default_sku_table()
    assert max_connections_for("Standard_B1ms", None, table) == 50
    assert max_connections_for("Standard_B1ms", 200, table) == 200
    with pytest.raises(KeyError):
        max_connections_for("Standard_Z9", None, table)


def test_a_plain_client_counts_its_declared_connections_and_has_no_pools_to_shrink():
    app = Workload.from_env("app", 4, {"VECTOR_DB": "pgvector", "DATABASE_POOL_SIZE": "2",
                                       "DATABASE_POOL_MAX_OVERFLOW": "1", "PGVECTOR_POOL_SIZE": "2",
                                       "ENABLE_DB_MIGRATIONS": "false"})
    migrator = PlainClient("migrator", peak_replicas=1, per_pod=3)
    budget = ConnectionBudget("pg", 50, 15, (app, migrator))
    assert (budget.demand, budget.within) == (4 * 8 + 3, True)
    assert migrator.arithmetic() == "migrator: 1 replicas x 3 connection(s), no pool = 3"
    over = ConnectionBudget("pg", 45, 15, (app, migrator))
    assert not over.within
    fixes = over.fixes(NAMES)
    assert not any("shrink the pools of migrator" in f for f in fixes)
    assert any("lower HPA maxReplicas of app from 4 to 3" in f for f in fixes)


def test_first_forbidden_replica_count_keeps_the_other_workloads_at_their_peak():
    budget = ConnectionBudget("pg", 50, 15, (PlainClient("app", 2, 8), PlainClient("job", 1, 9)))
    # 35 - 9 = 26 for the app: 3 x 8 fit, 4 x 8 do not
    assert budget.first_forbidden_replicas("app") == 4
    assert ConnectionBudget("pg", 50, 15, (PlainClient("app", 1, 40),)).first_forbidden_replicas("app") == 1
    assert ConnectionBudget("pg", 50, 15, (PlainClient("app", 1, 8), PlainClient("job", 1, 40))
                            ).first_forbidden_replicas("app") == 0
