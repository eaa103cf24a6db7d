"""The schema gate (in_cluster/schema_gate.py) against a real PostgreSQL and, for the Kubernetes side, make
e2e-upgrade's local Deployment and its API (real HTTP, the API server's shapes) over real processes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from in_cluster import schema_gate
from e2e import cluster as cluster_module
from e2e.cluster import LocalCluster, longest_gap, old_after, Served
from e2e.services import Processes
from testing.postgres_server import SUPERUSER, SUPERUSER_PASSWORD, free_port

SELECTOR = "app.kubernetes.io/name=open-webui,!app.kubernetes.io/component"


def test_the_databases_revision_is_read_and_a_new_database_has_none(postgres, database):
    url = f"postgresql://{SUPERUSER}:{SUPERUSER_PASSWORD}@127.0.0.1:{postgres.port}/{database}"
    assert schema_gate.database_revision(url) is None
    with psycopg.connect(postgres.conninfo(dbname=database), autocommit=True) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('d4c1a8e37b62')")
    assert schema_gate.database_revision(url) == "d4c1a8e37b62"


@pytest.fixture
def deployment(tmp_path, monkeypatch):
    """Three 'pods' (HTTP servers whose /ready answers 200) behind the local Deployment's API."""
    monkeypatch.setattr(cluster_module, "PRE_STOP_SECONDS", 0.1)
    (tmp_path / "ready").write_text("ok")
    processes = Processes(tmp_path)

    def start_pod(release: str, index: int):
        port = free_port()
        process = processes.start(f"pod-{index}", [sys.executable, "-m", "http.server", str(port), "--bind",
                                                   "127.0.0.1"], {}, tmp_path)
        return process, f"http://127.0.0.1:{port}"

    local = LocalCluster("open-webui", "open-webui", start_pod, "0.11.4")
    local.scale(3)
    deadline = time.monotonic() + 30
    while sum(p.ready for p in local.pods) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    monkeypatch.setenv("KUBERNETES_API_URL", local.api_url)
    yield local
    local.stop()
    processes.stop_all()


def test_a_schema_change_stops_every_old_pod_before_alembic_and_resume_starts_them_again(deployment, monkeypatch):
    monkeypatch.setattr(schema_gate, "image_head", lambda: "0bd252b206fb")
    monkeypatch.setattr(schema_gate, "database_revision", lambda url: "d4c1a8e37b62")
    kind = schema_gate.gate(schema_gate.Kubernetes, "open-webui", "open-webui", SELECTOR, "unused",
                            time.monotonic() + 30)
    assert kind == "recreate" and deployment.pods == [] and deployment.replicas == 0
    deployment.roll_out("0.12.4")  # the Deployment's update at 0 replicas starts nothing
    assert deployment.pods == []
    # back at minReplicas, where the HPA takes over (the API here answers only the gate's Role: scale and pods)
    schema_gate.resume(schema_gate.Kubernetes(), "open-webui", "open-webui", SELECTOR, 2, time.monotonic() + 30)
    assert deployment.replicas == 2 and {p.release for p in deployment.pods} == {"0.12.4"}


def test_the_same_head_or_a_new_database_leaves_the_deployment_serving(deployment, monkeypatch):
    monkeypatch.setattr(schema_gate, "image_head", lambda: "0bd252b206fb")
    for current in ("0bd252b206fb", None):
        monkeypatch.setattr(schema_gate, "database_revision", lambda url, c=current: c)
        kind = schema_gate.gate(schema_gate.Kubernetes, "open-webui", "open-webui", SELECTOR, "unused",
                                time.monotonic() + 5)
        assert kind == "rolling" and len(deployment.pods) == 3 and deployment.replicas == 3
    schema_gate.resume(schema_gate.Kubernetes(), "open-webui", "open-webui", SELECTOR, 1, time.monotonic() + 5)
    assert deployment.replicas == 3  # it was not stopped: nothing to resume


def test_the_gate_runs_as_the_job_runs_it(tmp_path):
    """As the init container starts it: a file and a step, stopping at a missing Open WebUI with its reason."""
    result = subprocess.run([sys.executable, str(Path(schema_gate.__file__)), "gate"], capture_output=True,
                            text=True, env={"NAMESPACE": "n", "DEPLOYMENT": "d", "POD_SELECTOR": SELECTOR,
                                            "DATABASE_URL": "postgresql://x@127.0.0.1:1/x", "PATH": "/usr/bin"})
    assert result.returncode == 1 and "open_webui is not installed in this image" in result.stderr


def test_what_the_rehearsal_measures():
    served = [Served(1.0, "0.11.4", 200), Served(2.0, "0.11.4", 200), Served(9.0, "0.12.4", 200),
              Served(9.5, "", 0), Served(10.0, "0.12.4", 200)]
    assert longest_gap(served, 0.0, 10.0) == 7.0
    assert old_after(served, "0.11.4", 1.5) == 1 and old_after(served, "0.11.4", 2.5) == 0
