"""The hand-run report's checklist as code, across the replicas: accounts, the edge's headers, documents and
retrieval, realtime events. Each check is one line with what to do when it fails."""

from __future__ import annotations

import json
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import psycopg
from psycopg import sql

from e2e import api
from e2e.services import Postgres
from ops.verify import Check, schema_check, vector_store_check

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Admin:
    token: str
    signin: api.Response


def accounts(urls: Sequence[str], email: str, password: str, pg: Postgres) -> tuple[list[Check], Admin]:
    """Nobody owns the site by arriving first: a stranger's sign-up is refused by every replica; the admin the schema
    Job made signs in on replica 2 with the stack's generated password, its token accepted by replica 3; and three
    replicas started together left exactly that one account."""
    r1, r2, r3 = urls
    refused = [api.request(url, "POST", "/api/v1/auths/signup", {"name": "Stranger", "email": f"stranger{i}@e2e.example",
                                                                 "password": secrets.token_urlsafe(16)}).status
               for i, url in enumerate(urls)]
    signin = api.request(r2, "POST", "/api/v1/auths/signin", {"email": email, "password": password})
    admin = signin.json() or {}
    token = admin.get("token", "")
    me = api.request(r3, "GET", "/api/v1/auths/", token=token)
    with pg.superuser() as conn:
        rows = [(str(e), str(r)) for e, r in conn.execute('SELECT email, role FROM "user" ORDER BY created_at')]
    return [
        Check("a stranger's sign-up is refused by every replica", refused == [403] * len(urls),
              f"HTTP {', '.join(map(str, refused))}",
              "ENABLE_SIGNUP false and the admin made before any replica serves (the schema Job's first_account): "
              "on an empty database Open WebUI gives the first sign-up admin whatever ENABLE_SIGNUP says"),
        Check("the admin made by the schema Job signs in on replica 2 with the stack's password",
              signin.status == 200 and admin.get("role") == "admin" and bool(token),
              f"{email}: HTTP {signin.status}, role {admin.get('role')}",
              "the Job's WEBUI_ADMIN_EMAIL/WEBUI_ADMIN_PASSWORD (the Secret's) must reach first_account"),
        Check("its token accepted by replica 3", me.status == 200 and (me.json() or {}).get("id") == admin.get("id"),
              f"HTTP {me.status}", "WEBUI_SECRET_KEY must be identical on every replica (the Secret gives it)"),
        Check("exactly one account, the admin, after three replicas started together",
              rows == [(email, "admin")], ", ".join(f"{e} ({r})" for e, r in rows) or "no account",
              "only the schema Job makes the first account: no replica may hold WEBUI_ADMIN_* (main.py makes it "
              "at start, in every replica)"),
    ], Admin(token, signin)


def edge_checks(url: str, signin: api.Response, env: Mapping[str, str]) -> list[Check]:
    """What the edge relies on the app for: HSTS, a Secure session cookie, CORS for the site only."""
    hsts = signin.headers.get("Strict-Transport-Security", "")
    cookies = [c for c in signin.cookies() if c.startswith("token=")]
    secure = bool(cookies) and all("secure" in [p.strip().lower() for p in c.split(";")] for c in cookies)
    site = env["CORS_ALLOW_ORIGIN"]

    def grant(origin: str) -> str:
        r = api.request(url, "OPTIONS", "/api/v1/auths/signin",
                        headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
        return r.headers.get("Access-Control-Allow-Origin", "")

    foreign, own = grant("https://attacker.example"), grant(site)
    return [
        Check("HSTS on responses", hsts.replace(" ", "") == env["HSTS"].replace(" ", ""),
              f"Strict-Transport-Security: {hsts or '(none)'}", "the HSTS env (components/edge.py) must reach the app"),
        Check("session cookie Secure", secure,
              "; ".join(c.split(";", 1)[1].strip() for c in cookies) or "no token cookie",
              "WEBUI_SESSION_COOKIE_SECURE / WEBUI_AUTH_COOKIE_SECURE must be true"),
        Check("CORS: a foreign Origin gets no grant, the site does", not foreign and own == site,
              f"foreign -> {foreign or '(none)'}, {site} -> {own or '(none)'}",
              "CORS_ALLOW_ORIGIN must be the site's URL, never *"),
    ]


def document_checks(urls: Sequence[str], token: str, pg: Postgres,
                    webui: dict[str, Any]) -> tuple[list[Check], dict[str, Any]]:
    """A document uploaded on replica 2, served by replica 3, in a knowledge base queried on replica 1; returns the
    checks and the query (the load repeats it)."""
    r1, r2, r3 = urls
    fact = f"The e2e marker {secrets.token_hex(6)} lives in the shared volume and in pgvector."
    content = ("Open WebUI on AKS keeps its files on Azure Files.\n\n" + fact + "\n").encode()
    uploaded = api.upload(r2, token, "e2e-note.txt", content)
    file_id = (uploaded.json() or {}).get("id", "")
    served = api.request(r3, "GET", f"/api/v1/files/{file_id}/content", token=token)
    kb = api.request(r1, "POST", "/api/v1/knowledge/create", {"name": "e2e", "description": "make e2e"},
                     token=token).json() or {}
    added = api.request(r3, "POST", f"/api/v1/knowledge/{kb.get('id')}/file/add", {"file_id": file_id}, token=token)
    query = {"collection_name": kb.get("id", ""), "query": fact, "k": 3}
    found = api.request(r1, "POST", "/api/v1/retrieval/query/doc", query, token=token)
    documents = [d for group in (found.json() or {}).get("documents", []) for d in group]
    with pg.superuser() as conn:
        row = conn.execute("SELECT count(*) FROM document_chunk WHERE collection_name = %s", (kb.get("id"),)).fetchone()
        rows = int(str(row[0])) if row else 0
        stored = [vector_store_check(conn, webui), schema_check(conn, webui["imageTag"])]
    return [
        Check("upload a document on replica 2 (stored, chunked, embedded)", uploaded.status == 200 and bool(file_id),
              f"HTTP {uploaded.status}", "the embedding model must be in the shared cache (the Job's seed-model-cache)"),
        Check("its content served by replica 3 (the shared volume)", served.body == content,
              f"HTTP {served.status}, {len(served.body)} bytes",
              "every replica must mount the same ReadWriteMany volume at /app/backend/data"),
        Check("added to a knowledge base", added.status == 200, f"knowledge {kb.get('id')}: HTTP {added.status}",
              "see the replica logs"),
        Check("retrieval on replica 1 returns its chunk from pgvector", any(fact in d for d in documents) and rows > 0,
              f"HTTP {found.status}, {len(documents)} chunk(s), {rows} rows in document_chunk for the knowledge base",
              "VECTOR_DB=pgvector and PGVECTOR_DB_URL must reach the shared server"),
        *stored,
    ], query


def realtime_check(python: Path, urls: Sequence[str], token: str) -> Check:
    """realtime.py, in the release's venv: a Socket.IO listener on replica 1, a sender on replica 2."""
    chat = api.request(urls[1], "POST", "/api/v1/chats/new",
                       {"chat": {"title": "e2e", "messages": [], "history": {"messages": {}}}}, token=token)
    chat_id = (chat.json() or {}).get("id", "")
    probe = subprocess.run([str(python), str(HERE / "realtime.py"), urls[0], urls[1], token, chat_id],
                           capture_output=True, text=True, timeout=120)
    result = json.loads(probe.stdout or "{}")
    return Check("a realtime event crosses replicas through Redis", bool(result.get("received")),
                 f"listener on replica 1 joined {result.get('joined')}, typing sent on replica 2: "
                 + (f"received in {result['seconds']}s" if result.get("received") else
                    f"NOT received {result.get('error') or probe.stderr[-300:]}"),
                 "WEBSOCKET_MANAGER=redis and WEBSOCKET_REDIS_URL (with Redis's password) on every replica")


def role_checks(pg: Postgres, limit: int) -> list[Check]:
    """The replicas' role holds no more than they need: no roles, no other database, not the app's database itself,
    and the server refuses it one connection past its CONNECTION LIMIT."""

    def as_role(dbname: str) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(host=pg.front.host, port=pg.front.port, dbname=dbname, user=pg.app_role,
                               password=pg.app_password, sslmode="require", autocommit=True, connect_timeout=10)

    def refusal(action: Callable[[], object]) -> str:
        try:
            action()
        except psycopg.Error as e:
            return f"{type(e).__name__}: {str(e).strip().splitlines()[0]}"
        return ""

    with as_role(pg.database) as conn:
        create_role = refusal(lambda: conn.execute("CREATE ROLE intruder LOGIN PASSWORD 'x'"))
        drop = refusal(lambda: conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(pg.database))))
        member = conn.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", (pg.login,)).fetchone()
    other = refusal(lambda: as_role("postgres").close())
    with pg.superuser() as conn:
        users = {str(u) for (u,) in conn.execute("SELECT DISTINCT usename FROM pg_stat_activity WHERE "
                                                 "application_name = 'open-webui'")}
    held: list[psycopg.Connection[tuple[object, ...]]] = []
    refused, at_refusal = "", 0
    try:
        while len(held) <= limit and not refused:
            try:
                held.append(as_role(pg.database))
            except psycopg.OperationalError as e:
                refused = str(e).strip().splitlines()[-1]
                with pg.superuser() as conn:
                    row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s",
                                       (pg.app_role,)).fetchone()
                    at_refusal = int(str(row[0])) if row else 0
    finally:
        for conn in held:
            conn.close()
    return [
        Check(f"the replicas connect as the app role {pg.app_role}, not the admin", users == {pg.app_role},
              f"open-webui's sessions log in as {', '.join(sorted(users)) or '(none)'}",
              "DATABASE_URL and PGVECTOR_DB_URL of the replicas must be the app role's (postgres.app_database_url)"),
        Check("the app role cannot make a role", "InsufficientPrivilege" in create_role and not (member and member[0]),
              create_role or "CREATE ROLE succeeded", "the role must have NOCREATEROLE and no membership of the admin"),
        Check("the app role cannot connect to another database", "permission denied" in other,
              other or "it connected to postgres", "REVOKE CONNECT ON DATABASE ... FROM PUBLIC (components/pg_role.py)"),
        Check("the app role cannot drop the app's database", "must be owner" in drop, drop or "DROP DATABASE ran",
              "the database must be the admin's, not the app role's"),
        Check(f"the server refuses the app role past its CONNECTION LIMIT {limit}",
              "too many connections for role" in refused and at_refusal == limit,
              f"refused at {at_refusal} of its connections: {refused or 'never refused'}",
              "CREATE ROLE ... CONNECTION LIMIT <its share of the budget> (connectionBudget.roleLimits)"),
    ]
