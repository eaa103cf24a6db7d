"""make verify: its PostgreSQL checks against a real server (over TLS), its Kubernetes checks over the plan's own
objects with status blocks as the API returns them, its HTTP check against a local server."""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
from typing import Any, Iterator

import psycopg
import pytest

from components.connection_budget import VERIFY_APPLICATION, with_application_name
from components.stack_config import ROOT
from offline_plan.mock_engine import MOCK_KUBECONFIG, MockRun, reveal
from testing.postgres_server import SUPERUSER, SUPERUSER_PASSWORD, RunningPostgres, TlsFront
from ops.verify import ALEMBIC_HEADS, Check, http_check, kubectl_error, kubernetes_checks, postgres_checks

# The tables Open WebUI's migrations leave (a few of them) and its pgvector store, as it creates them.
OPEN_WEBUI_SCHEMA = """
CREATE EXTENSION vector;
CREATE EXTENSION pg_trgm;
CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
INSERT INTO alembic_version VALUES ('{head}');
CREATE TABLE "user" (id text PRIMARY KEY, email text);
CREATE TABLE chat (id text PRIMARY KEY, user_id text, chat json);
CREATE TABLE config (key text PRIMARY KEY, value json);
CREATE TABLE file (id text PRIMARY KEY, filename text);
CREATE TABLE knowledge (id text PRIMARY KEY, name text);
CREATE TABLE document_chunk (id text PRIMARY KEY, vector vector({dimension}), collection_name text NOT NULL,
                             text text, vmetadata jsonb);
CREATE INDEX idx_document_chunk_vector ON document_chunk USING hnsw (vector vector_cosine_ops)
  WITH (m = 16, ef_construction = 64);
"""


@pytest.fixture(scope="module")
def dev_outputs(dev_run: MockRun) -> dict[str, Any]:
    return dev_run.outputs


@pytest.fixture(scope="module")
def tls(postgres: RunningPostgres) -> Iterator[TlsFront]:
    front = TlsFront(postgres)
    yield front
    front.close()


def build(postgres: RunningPostgres, database: str, dimension: int = 384) -> str:
    with psycopg.connect(postgres.conninfo(dbname=database), autocommit=True) as conn:
        conn.execute(OPEN_WEBUI_SCHEMA.format(head=ALEMBIC_HEADS["v0.12.4"], dimension=dimension))
        return str(conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0])


@pytest.fixture
def outputs(postgres: RunningPostgres, tls: TlsFront, database: str, dev_outputs: dict[str, Any]) -> dict[str, Any]:
    """The dev stack's outputs, pointing at a healthy database behind TLS."""
    version = build(postgres, database)
    url = (f"postgresql://{SUPERUSER}:{SUPERUSER_PASSWORD}@{tls.host}:{tls.port}/{database}?sslmode=require")
    trgm = "1.6"
    with psycopg.connect(postgres.conninfo(dbname=database)) as conn:
        trgm = str(conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'pg_trgm'").fetchone()[0])
        # the app's role as the program makes it (roles are the server's: made once, reset to the stack's)
        limits = dev_outputs["connectionBudget"]["roleLimits"]
        for role, limit in limits.items():
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(f'CREATE ROLE "{role}" LOGIN')
            conn.execute(f'ALTER ROLE "{role}" NOCREATEROLE NOCREATEDB CONNECTION LIMIT {int(limit)}')
        conn.commit()
    return {**dev_outputs, "databaseUrl": with_application_name(url, VERIFY_APPLICATION),
            "postgresExtensions": {"vector": version, "pg_trgm": trgm}}


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_a_healthy_database_passes_every_check(outputs):
    checks = by_name(postgres_checks(outputs))
    assert all(c.ok for c in checks.values()), [c.line() for c in checks.values()]
    assert "TLS on" in checks["postgres reachable over TLS"].detail
    assert checks["Open WebUI tables"].detail == "Alembic revision 0bd252b206fb, v0.12.4 expects 0bd252b206fb"
    assert "vector(384)" in checks["pgvector store"].detail and "hnsw" in checks["pgvector store"].detail


def test_a_restored_server_must_hold_users_and_chats(outputs, postgres, database):
    assert "restored data" not in by_name(postgres_checks(outputs))  # only when asked (the drill)
    empty = by_name(postgres_checks(outputs, restored=True))["restored data"]
    assert not empty.ok and empty.detail == "0 users, 0 chats" and "postgresRestorePointInTime" in empty.fix
    with psycopg.connect(postgres.conninfo(dbname=database), autocommit=True) as conn:
        conn.execute("""INSERT INTO "user" VALUES ('u1', 'a@example.com'), ('u2', 'b@example.com')""")
        conn.execute("INSERT INTO chat VALUES ('c1', 'u1', '{}')")
    restored = by_name(postgres_checks(outputs, restored=True))["restored data"]
    assert restored.ok and restored.detail == "2 users, 1 chats"
    with psycopg.connect(postgres.conninfo(dbname=database), autocommit=True) as conn:
        conn.execute("ALTER TABLE chat RENAME TO chat_elsewhere")  # a schema without the table: counted as none
    assert by_name(postgres_checks(outputs, restored=True))["restored data"].detail == "2 users, 0 chats"


def test_plain_text_is_refused_as_azure_does(outputs, postgres, database):
    plain = {**outputs, "databaseUrl": outputs["databaseUrl"].replace("sslmode=require", "sslmode=disable")}
    checks = postgres_checks(plain)
    assert checks[0].name == "postgres reachable over TLS"
    # Refused: every PostgreSQL check still reports its own line, saying why it could not check.
    assert [c.name for c in checks[1:]] == ["extension vector", "extension pg_trgm", "Open WebUI tables",
                                            "pgvector store", "postgres connections",
                                            "postgres roles"]
    assert all(not c.ok and c.detail.startswith("server unreachable") and "firewall" in c.fix for c in checks)


def test_a_missing_extension_fails_naming_it(outputs, postgres, database):
    with psycopg.connect(postgres.conninfo(dbname=database), autocommit=True) as conn:
        conn.execute("DROP EXTENSION pg_trgm")
    check = by_name(postgres_checks(outputs))["extension pg_trgm"]
    assert not check.ok and "installed no" in check.detail and "PgExtension" in check.fix


def test_a_wrong_dimension_fails(outputs, postgres, database):
    with psycopg.connect(postgres.conninfo(dbname=database), autocommit=True) as conn:
        conn.execute("DROP TABLE document_chunk")
        conn.execute("CREATE TABLE document_chunk (id text PRIMARY KEY, vector vector(768), collection_name text)")
    check = by_name(postgres_checks(outputs))["pgvector store"]
    assert not check.ok
    assert "vector(768) (want vector(384))" in check.detail and "index idx_document_chunk_vector missing" in check.detail
    assert "pgvectorMaxVectorLength" in check.fix


def test_tables_at_another_revision_fail(outputs, postgres, database):
    with psycopg.connect(postgres.conninfo(dbname=database), autocommit=True) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '018012973d35'")
    check = by_name(postgres_checks(outputs))["Open WebUI tables"]
    assert not check.ok and "schema Job" in check.fix


def test_the_apps_role_shows_its_limit_and_one_changed_by_hand_fails(outputs, postgres, database):
    limits = outputs["connectionBudget"]["roleLimits"]
    role, limit = "openwebui_app", limits["openwebui_app"]
    check = by_name(postgres_checks(outputs))["postgres roles"]
    assert check.ok and check.detail == ", ".join(f"{r} CONNECTION LIMIT {n} (budget {n})" for r, n in limits.items())
    with psycopg.connect(postgres.conninfo(dbname=database), autocommit=True) as conn:
        conn.execute(f'ALTER ROLE "{role}" CREATEROLE CONNECTION LIMIT -1')
    try:
        check = by_name(postgres_checks(outputs))["postgres roles"]
    finally:
        with psycopg.connect(postgres.conninfo(dbname=database), autocommit=True) as conn:
            conn.execute(f'ALTER ROLE "{role}" NOCREATEROLE CONNECTION LIMIT {int(limit)}')
    assert not check.ok and f"limit is -1, the budget gives it {limit}" in check.detail
    assert f"{role} may create roles" in check.detail


def test_connections_over_the_budget_fail_naming_who_holds_them(outputs, postgres, database):
    budget = outputs["connectionBudget"]
    held = budget["workloads"]["open-webui"]["demand"] + 1  # dev: 16 budgeted for the app at its peak
    conninfo = postgres.conninfo(dbname=database) + " application_name=open-webui"
    connections = [psycopg.connect(conninfo) for _ in range(held)]
    try:
        check = by_name(postgres_checks(outputs))["postgres connections"]
    finally:
        for conn in connections:
            conn.close()
    assert not check.ok
    assert f"open-webui {held}" in check.detail and f"open-webui {held} > {held - 1}" in check.detail
    assert "postgresSku" in check.fix
    # its own connection is not counted against the stack
    assert f"{VERIFY_APPLICATION} 1" in check.detail


# -- Kubernetes: the plan's objects, with status as the API reports it ---------------------------------------------


def live(run: MockRun) -> list[dict[str, Any]]:
    objects = {name: reveal(run.named(name).inputs) for name in (
        "open-webui-deployment", "open-webui-migrate", "open-webui-data-claim", "ollama-statefulset")}
    objects["open-webui-deployment"]["status"] = {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2}
    objects["open-webui-migrate"]["status"] = {"succeeded": 1, "conditions": [
        {"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}
    objects["open-webui-data-claim"]["status"] = {"phase": "Bound", "accessModes": ["ReadWriteMany"],
                                                  "capacity": {"storage": "100Gi"}}
    objects["ollama-statefulset"]["status"] = {"replicas": 1, "readyReplicas": 1, "currentReplicas": 1}
    return list(objects.values())


def test_a_healthy_namespace_passes(dev_outputs, dev_run):
    checks = kubernetes_checks(live(dev_run), dev_outputs)
    assert [c.name for c in checks] == ["Open WebUI replicas ready", "data claim", "schema Job", "Ollama models"]
    assert all(c.ok for c in checks), [c.line() for c in checks]
    assert by_name(checks)["schema Job"].detail.startswith("open-webui-migrate-v0-12-4 for image "
                                                              "ghcr.io/open-webui/open-webui:v0.12.4: complete")


@pytest.mark.parametrize("kind,status,check,says", [
    ("Deployment", {"replicas": 2, "readyReplicas": 0}, "Open WebUI replicas ready", "0 ready (HPA range 1..2)"),
    ("PersistentVolumeClaim", {"phase": "Pending"}, "data claim", "Pending"),
    ("PersistentVolumeClaim", {"phase": "Bound", "accessModes": ["ReadWriteOnce"]}, "data claim", "ReadWriteOnce"),
    ("Job", {"active": 1}, "schema Job", "not complete"),
    ("StatefulSet", {"replicas": 1, "readyReplicas": 0}, "Ollama models", "0/1 replicas Ready"),
])
def test_each_broken_object_fails_its_check(dev_outputs, dev_run, kind, status, check, says):
    objects = live(dev_run)
    [target] = [o for o in objects if o["kind"] == kind]
    target["status"] = status
    result = by_name(kubernetes_checks(objects, dev_outputs))[check]
    assert not result.ok and says in result.detail and result.fix


def test_a_job_for_another_image_tag_does_not_count(dev_outputs, dev_run):
    objects = live(dev_run)
    [deployment] = [o for o in objects if o["kind"] == "Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/open-webui/open-webui:v0.12.5"
    result = by_name(kubernetes_checks(objects, dev_outputs))["schema Job"]
    assert not result.ok and "open-webui-migrate-v0-12-5" in result.detail and "not found" in result.detail


# -- HTTP ----------------------------------------------------------------------------------------------------------

@pytest.fixture
def site() -> Iterator[dict[str, Any]]:
    state: dict[str, Any] = {"status": 200, "body": {"status": True}}

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(state["body"]).encode() if self.path == "/health" else b"{}"
            self.send_response(state["status"] if self.path == "/health" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()


def test_the_public_address_answers_health(site):
    assert http_check(site["url"]).ok
    site["status"], site["body"] = 503, {"status": False}
    failed = http_check(site["url"])
    assert not failed.ok and "503" in failed.detail and "certificate" in failed.fix


def test_make_verify_exits_0_on_a_healthy_stack_and_1_naming_the_check_and_fix(outputs, site, tmp_path, postgres,
                                                                                 database, dev_outputs, dev_run):
    saved = tmp_path / "outputs.json"
    saved.write_text(json.dumps({**outputs, "url": site["url"]}))
    objects = tmp_path / "objects.json"
    objects.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": live(dev_run)}))

    def verify(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ops.verify", "dev", "--outputs", str(saved),
                               "--kubernetes", str(objects), *extra], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)

    healthy = verify()
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "12 passed, 0 failed" in healthy.stdout and "FAIL" not in healthy.stdout
    report = json.loads(verify("--json").stdout)
    assert report["ok"] and len(report["checks"]) == 12

    with psycopg.connect(postgres.conninfo(dbname=database), autocommit=True) as conn:
        conn.execute("DROP EXTENSION pg_trgm")
    broken = verify()
    assert broken.returncode == 1
    assert "FAIL  extension pg_trgm: installed no" in broken.stdout and "fix: run `pulumi up`" in broken.stdout
    assert "11 passed, 1 failed" in broken.stdout
    assert SUPERUSER_PASSWORD not in broken.stdout + broken.stderr


def test_outputs_missing_a_key_get_one_line_naming_it(outputs, tmp_path):
    saved = tmp_path / "outputs.json"
    saved.write_text(json.dumps({k: v for k, v in outputs.items() if k != "kubeconfig"}))
    result = subprocess.run([sys.executable, "-m", "ops.verify", "dev", "--outputs", str(saved)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr == ""
    assert result.stdout.strip().splitlines() == [
        "verify: the outputs lack kubeconfig: they are not this program's outputs of stack 'dev' (another stack's, or "
        "an older export). Save them again with `pulumi stack output --json --show-secrets --stack dev > "
        "outputs.json` after `pulumi up`."]


TOKEN_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: aks, cluster: {server: "https://aks.invalid:443"}}]
contexts: [{name: aks, context: {cluster: aks, user: u}}]
current-context: aks
users: [{name: u, user: {token: placeholder}}]
"""


def test_without_kubelogin_the_check_says_what_to_install(tmp_path):
    config = tmp_path / "kubeconfig"
    config.write_text(MOCK_KUBECONFIG)  # the stack's kind: exec, kubelogin
    result = subprocess.run(["kubectl", "--kubeconfig", str(config), "get", "pods"], capture_output=True, text=True,
                            timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert "kubelogin is not installed" in kubectl_error(result.stderr) and "az aks install-cli" in kubectl_error(
        result.stderr)


def test_an_unreachable_cluster_and_database_still_report_every_check(outputs, tmp_path):
    """The real kubectl against an API that refuses, PostgreSQL and the site on closed ports."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]  # bound, never listening: connections are refused
    # a kubeconfig kubectl can use without kubelogin, so that it reaches the refusing port
    kubeconfig = TOKEN_KUBECONFIG.replace("https://aks.invalid:443", f"https://127.0.0.1:{port}")
    saved = tmp_path / "outputs.json"
    saved.write_text(json.dumps({**outputs, "kubeconfig": kubeconfig, "url": f"https://127.0.0.1:{port}",
                                 "databaseUrl": f"postgresql://u:p@127.0.0.1:{port}/openwebui?sslmode=require"}))
    result = subprocess.run([sys.executable, "-m", "ops.verify", "dev", "--outputs", str(saved)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    closed.close()
    lines = result.stdout.splitlines()
    assert result.returncode == 1 and "memcache.go" not in result.stdout + result.stderr
    for check in ("postgres reachable over TLS", "extension vector", "Open WebUI tables", "pgvector store",
                  "postgres connections"):
        assert any(line.startswith(f"FAIL  {check}: server unreachable: connection") for line in lines), check
    for check in ("Open WebUI replicas ready", "data claim", "schema Job", "Ollama models"):
        assert f"FAIL  {check}: Kubernetes API unreachable: The connection to the server 127.0.0.1:{port} was " \
               "refused - did you specify the right host or port?" in lines, check
    assert any(line.startswith("FAIL  public address answers /health") for line in lines)
    assert "0 passed, 12 failed" in result.stdout


def test_kubectl_error_keeps_its_verdict_not_its_retries():
    stderr = ('E1201 05:50:32.943005 32331 memcache.go:265] "Unhandled Error" err="couldn\'t get current server API '
              'group list"\n' * 5 + "The connection to the server 10.0.0.1:443 was refused - did you specify the "
              "right host or port?\n")
    assert kubectl_error(stderr) == ("The connection to the server 10.0.0.1:443 was refused - did you specify the "
                                     "right host or port?")
    assert kubectl_error("") == "kubectl failed with no message"
