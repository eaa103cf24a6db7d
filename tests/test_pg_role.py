"""PgRoleProvider against a real PostgreSQL, called directly, as Azure's admin would run it: a non-superuser with
CREATEROLE and CREATEDB, a member of azure_pg_admin, owning the app's database."""

import uuid
from typing import Any, Iterator

import psycopg
import pytest
from psycopg import errors, sql

from components.pg_role import PgRoleProvider
from testing.postgres_server import RunningPostgres


@pytest.fixture
def admin(postgres: RunningPostgres, database: str) -> Iterator[tuple[str, str, str]]:
    """The admin's name and password, and the name of another database of its."""
    name, password = f"admin_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    other = f"other_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB PASSWORD {}").format(
            sql.Identifier(name), sql.Literal(password)))
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database), sql.Identifier(name)))
        # another database of the admin's, as Azure's postgres database is azure_pg_admin's
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(other), sql.Identifier(name)))
    yield name, password, other
    with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(other)))


def props_for(postgres: RunningPostgres, database: str, admin: tuple[str, str, str], **extra: Any) -> dict[str, Any]:
    result = PgRoleProvider().check({}, {
        "host": postgres.host, "port": postgres.port, "database": database, "user": admin[0], "password": admin[1],
        "sslmode": "disable", "role": f"app_{uuid.uuid4().hex[:8]}", "role_password": uuid.uuid4().hex,
        "connection_limit": 3, "connect_retry_seconds": 0, **extra})
    assert result.failures == [], [f.reason for f in result.failures]
    return result.inputs


def connect(postgres: RunningPostgres, database: str, user: str, password: str) -> psycopg.Connection[Any]:
    return psycopg.connect(host=postgres.host, port=postgres.port, dbname=database, user=user, password=password,
                           sslmode="disable", autocommit=True)


def as_admin(postgres: RunningPostgres, database: str, admin: tuple[str, str, str]) -> psycopg.Connection[Any]:
    return connect(postgres, database, admin[0], admin[1])


def test_the_role_works_its_database_and_nothing_more(postgres, database, admin):
    with as_admin(postgres, database, admin) as conn:
        conn.execute("CREATE TABLE chat (id serial PRIMARY KEY, title text)")  # before the role: granted on make
    props = props_for(postgres, database, admin)
    result = PgRoleProvider().create(props)
    assert result.id == f"{postgres.host}:{postgres.port}/{database}/{props['role']}"
    # the role's password goes back under its own (secret) input name only
    assert [k for k, v in result.outs.items() if v == props["role_password"]] == ["role_password"]
    with as_admin(postgres, database, admin) as conn:
        conn.execute("CREATE TABLE note (id text PRIMARY KEY)")  # after it: Alembic in the schema Job
        row = conn.execute("SELECT rolcreaterole, rolcreatedb, rolsuper, rolconnlimit, rolcanlogin FROM pg_roles "
                           "WHERE rolname = %s", (props["role"],)).fetchone()
    assert row == (False, False, False, 3, True)
    with connect(postgres, database, props["role"], props["role_password"]) as conn:
        conn.execute("INSERT INTO chat (title) VALUES ('hello')")
        conn.execute("UPDATE chat SET title = 'hi'")
        conn.execute("INSERT INTO note VALUES ('n1')")
        conn.execute("DELETE FROM note")
        assert conn.execute("SELECT title FROM chat").fetchone() == ("hi",)
        for forbidden, error in (("TRUNCATE chat", errors.InsufficientPrivilege),
                                 ("CREATE ROLE intruder", errors.InsufficientPrivilege),
                                 (f'DROP DATABASE "{database}"', errors.InsufficientPrivilege)):
            with pytest.raises(error):
                conn.execute(forbidden)
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        connect(postgres, admin[2], props["role"], props["role_password"])


def hand_over(conn: psycopg.Connection[Any], role: str) -> None:
    """What the schema Job does (in_cluster/schema_job.py)."""
    conn.execute(sql.SQL("ALTER TABLE document_chunk OWNER TO {}").format(sql.Identifier(role)))


def test_the_admin_can_hand_it_a_table_it_must_own_and_indexes_then_follow(postgres, database, admin):
    props = props_for(postgres, database, admin)
    PgRoleProvider().create(props)
    with as_admin(postgres, database, admin) as conn:
        conn.execute("CREATE TABLE chat (id text PRIMARY KEY)")
        conn.execute("CREATE TABLE document_chunk (id text PRIMARY KEY, collection_name text)")
        # the schema Job makes the indexes (Open WebUI's vector client, imported as the admin)
        conn.execute("CREATE INDEX IF NOT EXISTS idx_chunk_collection ON document_chunk (collection_name)")
        hand_over(conn, props["role"])
    with connect(postgres, database, props["role"], props["role_password"]) as conn:
        # what Open WebUI's vector client runs at every start, which only the table's owner may
        conn.execute("CREATE INDEX IF NOT EXISTS idx_chunk_collection ON document_chunk (collection_name)")
        # and no table of the admin's may it alter or drop
        for statement in ("DROP TABLE chat", "ALTER TABLE chat ADD COLUMN x int"):
            with pytest.raises(errors.InsufficientPrivilege, match="must be owner of table chat"):
                conn.execute(statement)


def test_the_server_refuses_it_past_its_connection_limit(postgres, database, admin):
    props = props_for(postgres, database, admin, connection_limit=2)
    PgRoleProvider().create(props)
    held = [connect(postgres, database, props["role"], props["role_password"]) for _ in range(2)]
    try:
        with pytest.raises(psycopg.OperationalError, match="too many connections for role"):
            connect(postgres, database, props["role"], props["role_password"])
    finally:
        for conn in held:
            conn.close()


def test_create_is_idempotent_and_update_rotates_the_password_and_moves_the_limit(postgres, database, admin):
    provider = PgRoleProvider()
    props = props_for(postgres, database, admin)
    provider.create(props)
    provider.create(props)  # a retried create, or a role left by an earlier stack: brought to the inputs
    news = {**props, "role_password": uuid.uuid4().hex, "connection_limit": 7}
    assert provider.diff("id", props, news).changes
    assert not provider.diff("id", props, props).changes
    provider.update("id", props, news)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        connect(postgres, database, props["role"], props["role_password"])
    connect(postgres, database, news["role"], news["role_password"]).close()
    assert provider.read("id", news).outs["connection_limit"] == 7


def test_delete_hands_what_it_owned_back_to_the_admin_and_loses_nothing(postgres, database, admin):
    provider = PgRoleProvider()
    props = props_for(postgres, database, admin)
    provider.create(props)
    with as_admin(postgres, database, admin) as conn:
        conn.execute("CREATE TABLE document_chunk (id text PRIMARY KEY)")
        conn.execute("INSERT INTO document_chunk VALUES ('kept')")
        hand_over(conn, props["role"])
    provider.delete("id", props)
    provider.delete("id", props)  # already gone: nothing to do
    with as_admin(postgres, database, admin) as conn:
        assert conn.execute("SELECT id FROM document_chunk").fetchall() == [("kept",)]
        assert conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'document_chunk'").fetchone() == (
            admin[0],)
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (props["role"],)).fetchone() is None
    assert provider.read("id", props).id is None  # a refresh sees it gone; the next `pulumi up` makes it again


@pytest.mark.parametrize("field,value,says", [
    ("role", "OpenWebUI", "not a plain lower-case identifier"),
    ("role", "admin_same", "is the admin that makes it"),
    ("role_password", "short", "16 characters or more"),
    ("connection_limit", 0, "1 or more"),
])
def test_bad_inputs_are_refused_naming_the_property(field, value, says):
    inputs = {"host": "h", "database": "d", "user": "admin_same", "password": "p", "role": "openwebui_app",
              "role_password": "x" * 16, "connection_limit": 3, field: value}
    [failure] = PgRoleProvider().check({}, inputs).failures
    assert failure.property == field and says in failure.reason


def test_a_new_name_or_database_replaces_it_and_a_password_does_not():
    olds = {"host": "h", "port": 5432, "database": "d", "role": "a", "role_password": "p" * 16, "connection_limit": 3}
    diff = PgRoleProvider().diff("id", olds, {**olds, "role": "b"})
    assert diff.replaces == ["role"] and diff.delete_before_replace is False
    assert PgRoleProvider().diff("id", olds, {**olds, "role_password": "q" * 16}).replaces == []


def test_the_collectors_role_counts_every_workloads_connections_and_reads_nothing(postgres, database, admin):
    """PgMonitorRoleProvider's role runs the collector's query (components/otel_collector.py) as the collector does:
    it sees each workload's sessions by role and application name, and no table."""
    from components.otel_collector import CONNECTIONS_QUERY
    from components.pg_role import PgMonitorRoleProvider

    with as_admin(postgres, database, admin) as conn:
        conn.execute("CREATE TABLE chat (id serial PRIMARY KEY, title text)")
    app = props_for(postgres, database, admin)
    PgRoleProvider().create(app)
    monitor = props_for(postgres, database, admin, role=f"metrics_{uuid.uuid4().hex[:8]}", connection_limit=1)
    PgMonitorRoleProvider().create(monitor)
    replicas = [psycopg.connect(host=postgres.host, port=postgres.port, dbname=database, user=app["role"],
                                password=app["role_password"], sslmode="disable", application_name="open-webui")
                for _ in range(2)]
    try:
        with psycopg.connect(host=postgres.host, port=postgres.port, dbname=database, user=monitor["role"],
                             password=monitor["role_password"], sslmode="disable",
                             application_name="otel-collector") as conn:
            rows = {(role, application): n for role, application, n in conn.execute(CONNECTIONS_QUERY).fetchall()}
            assert rows[(app["role"], "open-webui")] == 2
            assert rows[(monitor["role"], "otel-collector")] == 1  # itself: it is in the budget too
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute("SELECT * FROM chat")
        with pytest.raises(psycopg.OperationalError, match="too many connections"):
            for _ in range(2):  # its CONNECTION LIMIT is its one connection
                replicas.append(psycopg.connect(host=postgres.host, port=postgres.port, dbname=database,
                                                user=monitor["role"], password=monitor["role_password"],
                                                sslmode="disable"))
    finally:
        for replica in replicas:
            replica.close()
