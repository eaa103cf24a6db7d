"""The data-migration Job: rendered for a stack with migrateFrom, budgeted, ordered before the app, validated."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml

from components.stack_config import ROOT
from offline_plan.mock_engine import MockRun, reveal, run_program
from offline_plan.plan import manifests, write_manifests
from offline_plan.policy_client import check_stack

MIGRATE_FROM = {"migrateFrom": "open-webui/open-webui-old"}


@pytest.fixture(scope="module")
def run() -> MockRun:
    return run_program("dev", MIGRATE_FROM)


def pod(run: MockRun) -> dict[str, Any]:
    return reveal(run.named("open-webui-data-migration-job").inputs)["spec"]["template"]["spec"]


def test_without_migrate_from_nothing_changes(dev_run):
    names = {r.name for r in dev_run.registrations}
    assert not any("data-migration" in name for name in names)


def test_job_mounts_the_old_claim_read_only_and_the_new_volume(run):
    spec = pod(run)
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["old-data"]["persistentVolumeClaim"] == {"claimName": "open-webui-old", "readOnly": True}
    assert volumes["data"]["persistentVolumeClaim"] == {"claimName": "open-webui-data"}
    mounts = {m["name"]: m for m in spec["containers"][0]["volumeMounts"]}
    assert mounts["old-data"]["readOnly"] is True and mounts["data"]["mountPath"] == "/app/backend/data"
    assert spec["containers"][0]["image"] == "ghcr.io/open-webui/open-webui:v0.12.4"


def test_job_runs_the_repos_own_scripts(run):
    config_map = reveal(run.named("open-webui-data-migration-scripts").inputs)
    scripts = {"migrate_install.py", "migrate_database.py", "migrate_files.py", "migrate_vectors.py",
               "migration_common.py", "alembic_revisions.py", "alembic_upgrade.py"}
    assert set(config_map["data"]) == scripts
    for script in scripts:
        assert config_map["data"][script] == (ROOT / "in_cluster" / script).read_text()
        # what a script imports beside it in the ConfigMap is there
        for sibling in re.findall(r"^    from (\w+) import .*# type: ignore", config_map["data"][script], re.M):
            assert f"{sibling}.py" in scripts, (script, sibling)
    assert pod(run)["containers"][0]["command"] == [
        "python", "/migrate/migrate_install.py", "--old-data", "/old-data", "--target", "/app/backend/data",
        "--reports", "/app/backend/data/.migration", "--dimension", "384"]


def test_the_retired_allow_sqlite_key_is_refused_with_what_to_do():
    with pytest.raises(Exception, match=r"migrateAllowSqlite: retired\. With migrateFrom, a SQLite webui\.db .* "
                                        r"Remove it: `pulumi config rm migrateAllowSqlite`"):
        run_program("dev", {**MIGRATE_FROM, "migrateAllowSqlite": True})


def test_job_takes_the_database_url_from_its_secret_and_the_apps_index_method(run):
    env = {e["name"]: e for e in pod(run)["containers"][0]["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "open-webui-data-migration",
                                                                "key": "DATABASE_URL"}
    assert env["PGVECTOR_INDEX_METHOD"]["value"] == "hnsw"


def test_open_webuis_alembic_is_importable_from_the_scripts(run):
    """The image runs Open WebUI from its working directory, where the package lives; the scripts run from /migrate,
    so without PYTHONPATH the database step's Alembic could not import open_webui."""
    container = pod(run)["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["PYTHONPATH"] == "/app/backend"
    assert container["command"][:2] == ["python", "/migrate/migrate_install.py"]


def test_the_schema_job_and_then_the_app_wait_for_the_migration(run):
    """The old webui.db goes into the empty database before the schema Job seeds its defaults and writes the
    stack's settings; the Deployment waits for the schema Job."""
    job = run.named("open-webui-data-migration-job")
    schema = run.named("open-webui-migrate")
    assert job.urn in schema.dependencies and schema.urn in run.named("open-webui-deployment").dependencies
    assert job.custom_timeouts["create"] == "120m"


def test_the_budget_counts_the_job_and_the_pack_agrees(run, policy_pack):
    budget = run.outputs["connectionBudget"]
    assert budget["workloads"]["open-webui-data-migration"] == {"peakReplicas": 1, "perPod": 1, "demand": 1}
    assert budget["demand"] == 35
    annotations = reveal(run.named("open-webui-data-migration-job").inputs)["metadata"]["annotations"]
    assert annotations == {"openwebui.io/postgres-server": "postgres-server", "openwebui.io/postgres-connections": "1"}
    assert check_stack(policy_pack, "dev", run.registrations) == []
    # 35 usable: (2 app pods + 1 surge) x 8 + 9 (schema Job) + 1 (the collector) = 34, plus what the data migration
    # declares: 1 fits, 3 does not.
    registrations = copy.deepcopy(run.registrations)
    job = next(r for r in registrations if r.name == "open-webui-data-migration-job")
    job.inputs["metadata"]["annotations"]["openwebui.io/postgres-connections"] = "3"
    [violation] = check_stack(policy_pack, "dev", registrations)
    assert violation.policy == "connection-budget"
    assert "open-webui-data-migration-job: 1 replicas x 3 connection(s), no pool = 3" in violation.message
    assert "demand 37 vs capacity 35" in violation.message


def test_manifests_validate(run, tmp_path):
    objects = manifests(run)
    assert write_manifests(objects, tmp_path / "m", "1.33.0") == []
    job = yaml.safe_load((tmp_path / "m" / "job-open-webui-open-webui-data-migration.yaml").read_text())
    assert job["spec"]["backoffLimit"] == 3


@pytest.mark.parametrize("value,says", [
    ("ollama/open-webui-files-pvc", "a pod can mount only claims of its own namespace"),
    ("open-webui", "is not '<namespace>/<claim>'"),
    ("open-webui/open-webui-data", "this stack's own data claim"),
])
def test_bad_migrate_from_is_refused(value, says):
    from components.stack_config import ConfigError

    with pytest.raises(ConfigError) as rejected:
        run_program("dev", {"migrateFrom": value})
    assert "migrateFrom" in str(rejected.value) and says in str(rejected.value)


def test_migration_needs_pgvector():
    from components.stack_config import ConfigError

    with pytest.raises(ConfigError, match="vectorDb must be pgvector"):
        run_program("dev", {**MIGRATE_FROM, "vectorDb": "chroma", "maxReplicas": 1})
