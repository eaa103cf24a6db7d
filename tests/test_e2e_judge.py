"""`make e2e`'s judgments, on the shapes the real run produces (its records, pg_stat_activity peaks, the release
probe's JSON)."""

from __future__ import annotations

from typing import Any

from components.open_webui import SCHEMA_JOB_SCRIPT
from e2e.judge import (config_check, connections_check, engines_check, fault_check, hpa_desired,
                             job_config_keys, memory_peak_check, release_checks, sizing_check, summarize)
from e2e.usage import Usage

ENV = {"OLLAMA_BASE_URLS": "http://ollama.open-webui.svc.cluster.local:11434",
       "WEBUI_URL": "https://openwebui-dev.westeurope.cloudapp.azure.com",
       "UVICORN_WORKERS": "1", "DATABASE_POOL_SIZE": "2", "DATABASE_POOL_MAX_OVERFLOW": "1", "VECTOR_DB": "pgvector",
       "PGVECTOR_POOL_SIZE": "2", "PGVECTOR_POOL_MAX_OVERFLOW": "0", "ENABLE_SIGNUP": "false",
       "ENABLE_LOGIN_FORM": "true", "DEFAULT_USER_ROLE": "pending"}


def test_the_keys_the_job_writes_come_from_its_own_program() -> None:
    assert job_config_keys(SCHEMA_JOB_SCRIPT.read_text()) == ["ollama.base_urls", "ollama.enable", "webui.url",
                                                          "ui.enable_signup", "ui.enable_login_form",
                                                          "ui.default_user_role"]
    misspelt = SCHEMA_JOB_SCRIPT.read_text().replace('"ollama.base_urls"', '"ollama.base_url"')
    assert "ollama.base_url" in job_config_keys(misspelt)


def test_config_check() -> None:
    rows = {"ollama.base_urls": [ENV["OLLAMA_BASE_URLS"]], "ollama.enable": True, "webui.url": ENV["WEBUI_URL"],
            "ui.enable_signup": False, "ui.enable_login_form": True, "ui.default_user_role": "pending"}
    assert config_check(rows, ENV).ok
    reopened = config_check({**rows, "ui.enable_signup": True}, ENV)
    assert not reopened.ok and "ui.enable_signup is True, want False" in reopened.detail
    wrong = config_check({**rows, "ollama.base_urls": []}, ENV)
    assert not wrong.ok and "ollama.base_urls is [], want ['http://ollama" in wrong.detail
    assert "(missing)" in config_check({k: v for k, v in rows.items() if k != "webui.url"}, ENV).detail


def test_connections_check_is_per_pod() -> None:
    assert connections_check("open-webui", {"replica 1": 8, "replica 2": 5}, 8).ok
    over = connections_check("open-webui", {"replica 1": 9, "replica 2": 5}, 8)
    assert not over.ok and "replica 1 peak 9" in over.detail and "budget 8 per pod" in over.detail


RECORDS: list[list[Any]] = [
    [0.5, 0, "/api/models", True, 200, 0.10], [0.6, 1, "/api/models", True, 200, 0.20],
    [0.7, 2, "/api/v1/chats/list", True, 200, 0.30],
    [20.0, 2, "/api/models", False, "ClientConnectorError", 0.001],  # the killed replica, before it is gone
    [21.0, 0, "/api/models", True, 200, 0.40], [22.0, 1, "/api/v1/chats/list", True, 200, 0.50],
    [80.0, 2, "/api/models", True, 200, 0.60],  # back after its restart
]


def test_summarize() -> None:
    s = summarize(RECORDS)
    assert (s.requests, s.errors) == (7, 1)
    assert s.max == 0.6 and s.p50 == 0.3
    assert s.by_endpoint["/api/models"][:2] == (5, 1)
    assert s.error_kinds == {"ClientConnectorError": 1}


def test_fault_check() -> None:
    assert fault_check(RECORDS, killed=2, killed_at=15.0, ready_at=70.0).ok
    survivor_failed = RECORDS + [[30.0, 0, "/api/models", False, 502, 0.1]]
    assert not fault_check(survivor_failed, killed=2, killed_at=15.0, ready_at=70.0).ok
    assert not fault_check(RECORDS, killed=2, killed_at=15.0, ready_at=None).ok  # never Ready again
    assert not fault_check(RECORDS, killed=2, killed_at=15.0, ready_at=85.0).ok  # Ready, but served nothing since


ENGINES = [{"kind": "async", "dialect": "postgresql", "pool": "AsyncAdaptedQueuePool", "size": 2, "max_overflow": 1},
           {"kind": "sync", "dialect": "postgresql", "pool": "QueuePool", "size": 2, "max_overflow": 1},
           {"kind": "sync", "dialect": "postgresql", "pool": "QueuePool", "size": 2, "max_overflow": 0}]


def test_engines_check_against_the_budget_formula() -> None:
    check = engines_check(ENGINES, ENV)
    assert check.ok, check.detail
    fourth = engines_check([*ENGINES, {**ENGINES[2]}], ENV)
    assert not fourth.ok and "4 PostgreSQL engines" in fourth.detail and "counts 3 engines, 8" in fourth.detail
    bigger = engines_check([{**ENGINES[0], "size": 10, "max_overflow": 5}, *ENGINES[1:]], ENV)
    assert not bigger.ok


def test_release_checks() -> None:
    facts = {"version": "0.12.4", "alembic_heads": ["0bd252b206fb"], "unread_env": [], "unknown_config_keys": []}
    assert all(c.ok for c in release_checks(facts, {"v0.12.4": "0bd252b206fb"}, "v0.12.4"))
    renamed = {**facts, "unread_env": ["PGVECTOR_POOL_SIZE"], "unknown_config_keys": ["ollama.base_url"]}
    env, keys, _ = release_checks(renamed, {"v0.12.4": "0bd252b206fb"}, "v0.12.4")
    assert not env.ok and "PGVECTOR_POOL_SIZE" in env.detail
    assert not keys.ok and "ollama.base_url" in keys.detail
    moved = release_checks({**facts, "alembic_heads": ["ffff"]}, {"v0.12.4": "0bd252b206fb"}, "v0.12.4")[2]
    assert not moved.ok and "components/releases.json has 0bd252b206fb" in moved.detail


GIB = 1024 ** 3
RENDERED = {"requests": {"cpu": "500m", "memory": "1536Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
REST = {f"replica {i}": Usage(int(1.22 * GIB), 0.004) for i in (1, 2, 3)}
LOAD = {f"replica {i}": Usage(int(1.26 * GIB), 0.354) for i in (1, 2, 3)}


def test_the_measured_replicas_fit_the_rendered_resources() -> None:
    check = sizing_check("open-webui", REST, LOAD, RENDERED, 70)
    assert check.ok, check.detail
    assert "memory at rest 1.22 GiB, peak 1.26 GiB (request 1536Mi, limit 2Gi)" in check.detail
    assert "CPU at rest 4m = 1% of the 500m request" in check.detail
    assert "under load 354m = 71% per replica (the HPA would want 3 replicas for these 3" in check.detail


def test_the_seeds_requests_are_caught_by_the_measurement() -> None:
    seed = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    check = sizing_check("open-webui", REST, LOAD, seed, 70)
    assert not check.ok and check.detail.startswith("at rest 1.22 GiB > request 256Mi")
    assert "the HPA would want 16 replicas for these 3" in check.detail  # 354% of 100m: straight to the maximum
    small_limit = {**RENDERED, "limits": {"cpu": "2", "memory": "1Gi"}}
    assert "peak 1.26 GiB > limit 1Gi" in sizing_check("open-webui", REST, LOAD, small_limit, 70).detail
    busy_idle = {name: Usage(u.peak_rss, 0.4) for name, u in REST.items()}
    assert "idle CPU 80% of the request >= the HPA's 70% target" in sizing_check(
        "open-webui", busy_idle, LOAD, RENDERED, 70).detail


def test_the_hpa_leaves_the_count_alone_within_its_tolerance() -> None:
    assert hpa_desired(3, 71, 70) == 3  # 1.4% over the target: within the controller's 10%
    assert hpa_desired(3, 80, 70) == 4 and hpa_desired(3, 354, 70) == 16 and hpa_desired(3, 1, 70) == 1


def test_the_jobs_peak_against_its_limit() -> None:
    assert memory_peak_check("migrate", int(1.04 * GIB), RENDERED).ok
    assert not memory_peak_check("migrate", int(2.5 * GIB), RENDERED).ok
