"""`make verify STACK=<stack>`: checks a deployed stack, one line per check, and says what to do on a failure.

    python -m ops.verify <stack> [--outputs FILE] [--kubernetes FILE] [--json]

The stack's outputs come from `pulumi stack output --json --show-secrets` (or a saved copy, --outputs). The
Kubernetes objects come from `kubectl get` with the stack's kubeconfig (or a saved `kubectl get -o json` list,
--kubernetes). Exit 0 only when every check passes. It replaces the hand-run migration's checklist: pods ready,
claim bound ReadWriteMany, PostgreSQL URL and TLS, extension versions, tables created, connections, the service
answering.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import psycopg
from psycopg import sql

from components.names import APP_NAME, DATA_CLAIM_NAME, OLLAMA_NAME
from components.connection_budget import VERIFY_APPLICATION
from components.open_webui import schema_job_name
from components.upgrade import release_heads

ALEMBIC_HEADS = release_heads()
"""Image tag -> the Alembic head its tables must be at (components/releases.json)."""
"""Open WebUI's Alembic head per release (0.12.4: the one revision no other names as its down_revision)."""
APP_TABLES = ("user", "chat", "config", "file", "knowledge")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"
        return text if self.ok else f"{text}\n      fix: {self.fix}"


# -- PostgreSQL ---------------------------------------------------------------------------------------------------

def postgres_checks(outputs: dict[str, Any], restored: bool = False) -> list[Check]:
    """restored: the server is a restore (the drill's), so it must hold users and chats too."""
    url = outputs["databaseUrl"]
    try:
        conn = psycopg.connect(url, connect_timeout=10, autocommit=True)
    except psycopg.Error as e:
        # Every check still gets its line: what it could not check, and why.
        reason = f"server unreachable: {str(e).strip().splitlines()[0]}"
        fix = ("check the server is running, the firewall (postgresNetwork public) admits this machine or it runs "
               "inside the VNet (private), and the URL is the stack's `databaseUrl` output")
        names = ["postgres reachable over TLS", *(f"extension {name}" for name in outputs["postgresExtensions"]),
                 "Open WebUI tables", *(["pgvector store"] if outputs["openWebUI"]["vectorDb"] == "pgvector" else []),
                 "postgres connections", "postgres roles", *(["restored data"] if restored else [])]
        return [Check(name, False, reason, fix) for name in names]
    with conn:
        checks = [Check("postgres reachable over TLS", bool(conn.info.pgconn.ssl_in_use),
                        f"{conn.info.host}:{conn.info.port} database {conn.info.dbname}, TLS "
                        f"{'on' if conn.info.pgconn.ssl_in_use else 'OFF'}",
                        "use the stack's URL (sslmode=require) and keep require_secure_transport ON")]
        checks += [extension_check(conn, name, version) for name, version in outputs["postgresExtensions"].items()]
        checks.append(schema_check(conn, outputs["openWebUI"]["imageTag"]))
        if outputs["openWebUI"]["vectorDb"] == "pgvector":
            checks.append(vector_store_check(conn, outputs["openWebUI"]))
        checks.append(connections_check(conn, outputs["connectionBudget"]))
        checks.append(roles_check(conn, outputs["connectionBudget"]["roleLimits"]))
        if restored:
            checks.append(restored_data_check(conn))
    return checks


def restored_data_check(conn: psycopg.Connection[Any]) -> Check:
    """A restore that brought the tables but not the data (the wrong time, the wrong source) fails here."""
    counts = {}
    for table in ("user", "chat"):
        found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f'"{table}"',)).fetchone()
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone() \
            if found and found[0] else None
        counts[table] = int(row[0]) if row else 0
    return Check("restored data", all(counts.values()), f"{counts['user']} users, {counts['chat']} chats",
                 "the server was restored from a time (or a stack) with no users or chats: check "
                 "postgresRestoreFrom and postgresRestorePointInTime")


def extension_check(conn: psycopg.Connection[Any], name: str, version: Optional[str]) -> Check:
    row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = %s", (name,)).fetchone()
    installed = row[0] if row else None
    ok = installed is not None and (not version or installed == version)
    return Check(f"extension {name}", ok, f"installed {installed or 'no'}" + (f", expected {version}" if version else ""),
                 f"run `pulumi up` (the PgExtension resource creates {name}); if it is not allow-listed, add it to "
                 "postgresExtensions")


def schema_check(conn: psycopg.Connection[Any], image_tag: str) -> Check:
    present = {r[0] for r in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()").fetchall()}
    missing = [t for t in (*APP_TABLES, "alembic_version") if t not in present]
    revision = None
    if "alembic_version" in present:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = row[0] if row else None
    expected = ALEMBIC_HEADS.get(image_tag)
    ok = not missing and revision is not None and (expected is None or revision == expected)
    detail = (f"missing {', '.join(missing)}" if missing else
              f"Alembic revision {revision}" + (f", {image_tag} expects {expected}" if expected else ""))
    return Check("Open WebUI tables", ok, detail,
                 "the schema Job creates them: check it completed (`make verify` names it under 'schema Job'; "
                 "`kubectl -n <namespace> logs job/<name>`)")


def vector_store_check(conn: psycopg.Connection[Any], webui: dict[str, Any]) -> Check:
    row = conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                       "WHERE attrelid = to_regclass('document_chunk') AND attname = 'vector'").fetchone()
    column = row[0] if row else None
    kind = "halfvec" if webui["halfvec"] else "vector"
    wanted = f"{kind}({webui['vectorDimension']})"
    index = conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'document_chunk' "
                         "AND indexname = 'idx_document_chunk_vector'").fetchone()
    method = webui["vectorIndexMethod"] or "hnsw"
    has_index = bool(index and f"USING {method} " in index[0])
    deferred = method == "ivfflat" and not index  # Open WebUI builds ivfflat once enough rows exist
    ok = column == wanted and (has_index or deferred)
    detail = (f"document_chunk.vector is {column or 'missing'} (want {wanted}), index idx_document_chunk_vector "
              f"{'deferred until enough rows' if deferred else index[0].split(' USING ')[1] if index else 'missing'}")
    return Check("pgvector store", ok, detail,
                 "pgvectorMaxVectorLength must match the embedding model's dimension and the column Open WebUI made "
                 "on first start; a changed pgvectorIndexMethod needs the old index dropped by hand "
                 "(docs/operations.md, 'Troubleshooting')")


def connections_check(conn: psycopg.Connection[Any], budget: dict[str, Any]) -> Check:
    rows = conn.execute("SELECT application_name, count(*) FROM pg_stat_activity "
                        "WHERE backend_type = 'client backend' GROUP BY 1").fetchall()
    by_application = {name or "(unnamed)": int(n) for name, n in rows}
    total = sum(n for name, n in by_application.items() if name != VERIFY_APPLICATION)
    over = [f"{name} {by_application[name]} > {w['demand']}" for name, w in budget["workloads"].items()
            if by_application.get(name, 0) > w["demand"]]
    ok = total <= budget["capacity"] and not over
    detail = (f"{total} of capacity {budget['capacity']} ("
              + ", ".join(f"{name} {n}" for name, n in sorted(by_application.items())) + ")"
              + (f"; over their budget: {'; '.join(over)}" if over else ""))
    return Check("postgres connections", ok, detail,
                 "something holds more connections than the stack budgets: the names above say who; lower its pools "
                 "or replicas, or move postgresSku up (`make plan` shows the budget)")


def roles_check(conn: psycopg.Connection[Any], limits: dict[str, int]) -> Check:
    """Each role the stack makes holds its share of the budget as its CONNECTION LIMIT, and no admin's rights."""
    problems, found = [], []
    for role, limit in sorted(limits.items()):
        row = conn.execute("SELECT rolconnlimit, rolcreaterole, rolcreatedb, rolsuper, EXISTS (SELECT 1 FROM "
                           "pg_auth_members m JOIN pg_roles a ON a.oid = m.roleid WHERE m.member = r.oid AND "
                           "a.rolname = 'azure_pg_admin') FROM pg_roles r WHERE rolname = %s", (role,)).fetchone()
        if row is None:
            problems.append(f"{role} does not exist")
            continue
        connlimit, createrole, createdb, superuser, admin = row
        found.append(f"{role} CONNECTION LIMIT {connlimit} (budget {limit})")
        if connlimit != limit:
            problems.append(f"{role}'s limit is {connlimit}, the budget gives it {limit}")
        problems += [f"{role} {what}" for what, held in (("may create roles", createrole), ("may create databases",
                     createdb), ("is a superuser", superuser), ("is in azure_pg_admin", admin)) if held]
    return Check("postgres roles", not problems, "; ".join(problems) or ", ".join(found),
                 "`pulumi up` brings the role back to the stack's (components/pg_role.py); a change made by hand is "
                 "undone there, so make it in the program")


# -- Kubernetes (pure functions over the API's objects) ------------------------------------------------------------

class KubernetesUnreachable(Exception):
    """kubectl could not reach the cluster's API; the message is what it said, in one line."""


KUBERNETES_CHECKS = ("Open WebUI replicas ready", "data claim", "schema Job", "Ollama models")


def kubernetes_checks(objects: list[dict[str, Any]] | KubernetesUnreachable, outputs: dict[str, Any]) -> list[Check]:
    if isinstance(objects, KubernetesUnreachable):
        names = KUBERNETES_CHECKS if outputs.get("gpuCapacity") else KUBERNETES_CHECKS[:-1]
        return [Check(name, False, f"Kubernetes API unreachable: {objects}",
                      "check the kubeconfig (`pulumi stack output kubeconfig --show-secrets`) and that this machine "
                      "reaches the cluster's API server (its address, a VPN or the authorized IP ranges)")
                for name in names]

    def find(kind: str, name: Optional[str] = None, prefix: str = "") -> list[dict[str, Any]]:
        return [o for o in objects if o.get("kind") == kind and
                (name is None or o["metadata"]["name"] == name) and o["metadata"]["name"].startswith(prefix)]

    webui = outputs["openWebUI"]
    checks = [deployment_check(find("Deployment", APP_NAME), webui["minReplicas"], webui["maxReplicas"]),
              claim_check(find("PersistentVolumeClaim", DATA_CLAIM_NAME)),
              schema_job_check(find("Job", prefix=f"{APP_NAME}-migrate-"), find("Deployment", APP_NAME))]
    if outputs.get("gpuCapacity"):
        checks.append(ollama_check(find("StatefulSet", OLLAMA_NAME), outputs.get("ollamaModels", [])))
    return checks


def deployment_check(found: list[dict[str, Any]], low: int, high: int) -> Check:
    ready = int((found[0].get("status") or {}).get("readyReplicas") or 0) if found else 0
    return Check("Open WebUI replicas ready", bool(found) and low <= ready <= high,
                 f"{ready} ready (HPA range {low}..{high})" if found else "Deployment open-webui not found",
                 "`kubectl -n <namespace> describe deployment open-webui` and its pods' events: image pulls, probes "
                 "(/ready needs PostgreSQL and Redis), the schema Job it waits for")


def claim_check(found: list[dict[str, Any]]) -> Check:
    status = (found[0].get("status") or {}) if found else {}
    ok = status.get("phase") == "Bound" and "ReadWriteMany" in (status.get("accessModes") or [])
    return Check("data claim", ok, f"{status.get('phase', 'not found')}, {','.join(status.get('accessModes') or [])}",
                 "the Azure Files CSI driver provisions it: `kubectl -n <namespace> describe pvc open-webui-data`")


def schema_job_check(jobs: list[dict[str, Any]], deployment: list[dict[str, Any]]) -> Check:
    image = deployment[0]["spec"]["template"]["spec"]["containers"][0]["image"] if deployment else ""
    wanted = schema_job_name(APP_NAME, image)
    job = next((j for j in jobs if j["metadata"]["name"] == wanted), None)
    complete = bool(job and any(c.get("type") == "Complete" and c.get("status") == "True"
                                for c in (job.get("status") or {}).get("conditions") or []))
    return Check("schema Job", complete, f"{wanted} for image {image or '?'}: "
                 f"{'complete' if complete else 'not complete' if job else 'not found'}",
                 f"`kubectl -n <namespace> logs job/{wanted}`; the app does not start before it completes")


def ollama_check(found: list[dict[str, Any]], models: list[str]) -> Check:
    spec = found[0]["spec"] if found else {}
    ready = int((found[0].get("status") or {}).get("readyReplicas") or 0) if found else 0
    wanted = int(spec.get("replicas", 1)) if found else 0
    # A replica turns Ready only once its model gate has every model on its disk (in_cluster/ollama_pull.py).
    return Check("Ollama models", bool(found) and ready == wanted,
                 f"{ready}/{wanted} replicas Ready with {', '.join(models) or 'no models'}",
                 "`kubectl -n <namespace> logs statefulset/ollama -c model-puller` says which pull failed; the GPU "
                 "pool must have a node free (`kubectl get nodes -l accelerator=nvidia`)")


# -- the public address --------------------------------------------------------------------------------------------

def http_check(url: str, timeout: float = 10) -> Check:
    health = url.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(health, timeout=timeout) as response:
            body = json.loads(response.read() or b"{}")
            ok = response.status == 200 and body.get("status") is True
            detail = f"{health}: {response.status} {body}"
    except (urllib.error.URLError, OSError, ValueError) as e:
        ok, detail = False, f"{health}: {e}"
    return Check("public address answers /health", ok, detail,
                 "the edge: `kubectl -n edge get pods`, the certificate (`kubectl -n <namespace> get certificate`) "
                 "and the DNS name (a custom hostname needs its CNAME)")


# -- the command ---------------------------------------------------------------------------------------------------

def stack_outputs(stack: str) -> dict[str, Any]:
    result = subprocess.run(["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", stack],
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise SystemExit(f"cannot read the outputs of stack '{stack}': {result.stderr.strip()} "
                         "(pulumi login and select the stack, or pass a saved copy with --outputs)")
    return dict(json.loads(result.stdout))


def live_objects(outputs: dict[str, Any]) -> list[dict[str, Any]]:
    with tempfile.NamedTemporaryFile("w", suffix=".kubeconfig") as kubeconfig:
        kubeconfig.write(outputs["kubeconfig"])
        kubeconfig.flush()
        try:
            result = subprocess.run(["kubectl", "--kubeconfig", kubeconfig.name, "-n", outputs["namespace"], "get",
                                     "deployments,statefulsets,jobs,persistentvolumeclaims", "-o", "json"],
                                    capture_output=True, text=True, timeout=120)
        except FileNotFoundError:
            raise KubernetesUnreachable("kubectl is not installed (https://kubernetes.io/docs/tasks/tools/)") from None
    if result.returncode != 0:
        raise KubernetesUnreachable(kubectl_error(result.stderr))
    return list(json.loads(result.stdout)["items"])


def kubectl_error(stderr: str) -> str:
    """kubectl's own verdict, without client-go's retry lines (memcache.go ...)."""
    if "executable kubelogin not found" in stderr:
        return ("kubelogin is not installed: the stack's kubeconfig signs in with Entra ID through it (`az aks "
                "install-cli` installs it), as whoever `az login` made you")
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    final = [line for line in lines if "memcache.go" not in line]
    return (final or lines or ["kubectl failed with no message"])[-1]


REQUIRED_OUTPUTS = ("databaseUrl", "postgresExtensions", "openWebUI", "connectionBudget", "kubeconfig", "namespace",
                    "url")


def missing_outputs(outputs: dict[str, Any]) -> list[str]:
    return [key for key in REQUIRED_OUTPUTS if key not in outputs]


def verify(outputs: dict[str, Any], objects: list[dict[str, Any]] | KubernetesUnreachable,
           http: Callable[[str], Check] = http_check, restored: bool = False) -> list[Check]:
    # a stack without an edge (edgeEnabled false, the drill) has no public address to answer
    return postgres_checks(outputs, restored) + kubernetes_checks(objects, outputs) + (
        [http(outputs["url"])] if outputs["url"] else [])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Checks a deployed stack against what it declares.")
    parser.add_argument("stack")
    parser.add_argument("--outputs", type=Path, help="a saved `pulumi stack output --json --show-secrets`")
    parser.add_argument("--kubernetes", type=Path, help="a saved `kubectl get ... -o json` list of the namespace")
    parser.add_argument("--json", action="store_true", help="one JSON document for CI")
    parser.add_argument("--restored", action="store_true",
                        help="the stack's server is a restore (the drill): users and chats must be there")
    args = parser.parse_args(argv)
    outputs = json.loads(args.outputs.read_text()) if args.outputs else stack_outputs(args.stack)
    if missing := missing_outputs(outputs):
        print(f"verify: the outputs lack {', '.join(missing)}: they are not this program's outputs of stack "
              f"'{args.stack}' (another stack's, or an older export). Save them again with `pulumi stack output "
              f"--json --show-secrets --stack {args.stack} > outputs.json` after `pulumi up`.")
        return 2
    objects: list[dict[str, Any]] | KubernetesUnreachable
    try:
        objects = json.loads(args.kubernetes.read_text())["items"] if args.kubernetes else live_objects(outputs)
    except KubernetesUnreachable as e:
        objects = e
    checks = verify(outputs, objects, restored=args.restored)
    failed = [c for c in checks if not c.ok]
    if args.json:
        print(json.dumps({"stack": args.stack, "ok": not failed, "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        print(f"== verify stack '{args.stack}'")
        print("\n".join(c.line() for c in checks))
        print(f"\n{len(checks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
