"""PgRole: the login role Open WebUI's replicas connect as (and the collector's, PgMonitorRoleProvider below), managed
as a Pulumi dynamic resource.

Not the server's admin: no member of azure_pg_admin, no CREATEROLE or CREATEDB, CONNECT on its own database only,
and a CONNECTION LIMIT that is its share of the connection budget, so the server itself refuses what the policy
pack computes. What Open WebUI 0.12.4 needs of it, found by running the real release under it (`make e2e`), is
GRANTS below, each with its reason; the admin keeps what only it may do (extensions, Alembic in the schema Job,
the data-migration Job).
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from components.pg_provider import PgConnectionArgs, PgServerProvider, pickled_by_value


@pickled_by_value
class PgRoleProvider(PgServerProvider):
    ROLE_PATTERN = r"^[a-z_][a-z0-9_]{0,62}$"
    MIN_PASSWORD = 16
    REPLACE_ON = ("host", "port", "database", "role")
    APPLICATION_NAME = "pulumi-pgrole"
    DEFAULTS: dict[str, Any] = {**PgServerProvider.CONNECTION_DEFAULTS}
    GRANTS: tuple[str, ...] = (
        # its own database only: other databases stop admitting PUBLIC (the admin still owns and enters them)
        "GRANT CONNECT ON DATABASE {database} TO {role}",
        # Open WebUI's tables live in public; it reads and writes them all (chats, files, config, vectors)
        "GRANT USAGE ON SCHEMA public TO {role}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        # and the tables the admin makes later (Alembic in the schema Job, the data-migration Job)
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        # Open WebUI's vector client runs `CREATE INDEX IF NOT EXISTS idx_document_chunk_collection_name` at every
        # start; PostgreSQL checks CREATE on the schema and ownership of the table before it sees that the index
        # exists (`make e2e` and tests/test_pg_role.py). So the role may create in public (its own objects only:
        # it can alter or drop no table of the admin's), and the schema Job hands it document_chunk, for which the
        # admin must be able to act as the role:
        "GRANT CREATE ON SCHEMA public TO {role}",
        "GRANT {role} TO CURRENT_USER",
    )
    """What the role is given, beyond LOGIN: nothing else (no TRUNCATE, no roles, no other database)."""

    # check / diff ---------------------------------------------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        import re

        inputs = {**self.DEFAULTS, **{k: v for k, v in news.items() if v is not None}}
        failures = self._check_connection(inputs, ("role", "role_password"))
        role = inputs.get("role")
        if isinstance(role, str) and role and not re.match(self.ROLE_PATTERN, role):
            failures.append(CheckFailure("role", f"role name {role!r} is not a plain lower-case identifier such as "
                                                 "'openwebui_app'"))
        if role == inputs.get("user"):
            failures.append(CheckFailure("role", f"role {role!r} is the admin that makes it: name another"))
        password = inputs.get("role_password")
        if isinstance(password, str) and len(password) < self.MIN_PASSWORD:
            failures.append(CheckFailure("role_password", f"the role's password needs {self.MIN_PASSWORD} "
                                                          "characters or more"))
        limit = inputs.get("connection_limit")
        if isinstance(limit, float) and limit.is_integer():
            inputs["connection_limit"] = limit = int(limit)
        if not isinstance(limit, int) or limit < 1:
            failures.append(CheckFailure("connection_limit", f"connection_limit {limit!r} must be a whole number, "
                                                             "1 or more (the role's share of the budget)"))
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in self.REPLACE_ON if olds.get(k) != news.get(k)]
        changed = [k for k in ("role_password", "connection_limit", "user", "password", "sslmode",
                               "connect_retry_seconds") if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(replaces or changed), replaces=replaces,
                          stables=[k for k in self.REPLACE_ON if k not in replaces], delete_before_replace=False)

    # CRUD -----------------------------------------------------------------------------------------

    def create(self, props: dict[str, Any]) -> CreateResult:
        self._apply(props)
        return CreateResult(f"{props['host']}:{int(props['port'])}/{props['database']}/{props['role']}",
                            self._outputs(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._apply(news)
        return UpdateResult(self._outputs(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with self._connect(props) as conn:
            row = conn.execute("SELECT rolconnlimit FROM pg_roles WHERE rolname = %s", (props["role"],)).fetchone()
        if row is None:
            return ReadResult(None, {})  # dropped out of band: the next `pulumi up` makes it again
        return ReadResult(id_, {**self._outputs(props), "connection_limit": row[0]})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """What it owned goes back to the admin (nothing is lost), its grants go, then the role."""
        from psycopg import sql

        with self._connect(props) as conn, conn.transaction():
            self._serialize(conn, props["role"])
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (props["role"],)).fetchone():
                role = sql.Identifier(props["role"])
                conn.execute(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(role))
                conn.execute(sql.SQL("DROP OWNED BY {}").format(role))  # only grants are left to drop
                conn.execute(sql.SQL("DROP ROLE {}").format(role))

    # helpers (methods, so that they travel with the pickled class) ---------------------------------

    def _apply(self, props: dict[str, Any]) -> None:
        """Makes or brings the role to what the inputs say, with exactly GRANTS; idempotent."""
        from psycopg import sql

        role, database = sql.Identifier(props["role"]), sql.Identifier(props["database"])
        with self._connect(props) as conn, conn.transaction():
            self._serialize(conn, props["role"])
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (props["role"],)).fetchone()
            attributes = sql.SQL("LOGIN NOCREATEROLE NOCREATEDB CONNECTION LIMIT {} "
                                 "PASSWORD {}").format(sql.Literal(int(props["connection_limit"])),
                                                       sql.Literal(props["role_password"]))
            verb = "ALTER ROLE {} WITH " if exists else "CREATE ROLE {} WITH "
            conn.execute(sql.SQL(verb).format(role) + attributes)
            for (other,) in conn.execute(
                    "SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn "
                    "AND pg_has_role(datdba, 'USAGE')").fetchall():
                conn.execute(sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(
                    sql.Identifier(other)))
            for grant in self.GRANTS:
                conn.execute(sql.SQL(grant).format(role=role, database=database))

    def _serialize(self, conn: Any, role: str) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"pulumi-pgrole:{role}",))

    def _outputs(self, props: dict[str, Any]) -> dict[str, Any]:
        # Built key by key: the passwords go back under their own (secret) input names only.
        return {k: props.get(k) for k in (*self.CONNECTION_KEYS, "role", "role_password", "connection_limit",
                                          "connect_retry_seconds")}


@pickled_by_value
class PgMonitorRoleProvider(PgRoleProvider):
    """The stack's OpenTelemetry Collector's role: it counts the server's connections by application and role
    (components/otel_collector.py), which pg_stat_activity shows every role (application_name and usename are among
    the columns it shows for any session; state and query are not). So: CONNECT on its database, nothing else."""

    APPLICATION_NAME = "pulumi-pgrole-monitor"
    GRANTS = ("GRANT CONNECT ON DATABASE {database} TO {role}",)


class PgRole(Resource, module="postgres", name="Role"):
    """A login role with the grants its provider gives in one database (Open WebUI's by default), and a connection
    limit."""

    role: pulumi.Output[str]
    connection_limit: pulumi.Output[int]

    def __init__(self, resource_name: str, connection: PgConnectionArgs, role: str,
                 role_password: pulumi.Input[str], connection_limit: int,
                 opts: Optional[pulumi.ResourceOptions] = None, provider: Optional[PgRoleProvider] = None) -> None:
        props = {
            "host": connection.host, "port": connection.port, "database": connection.database,
            "user": connection.user, "password": pulumi.Output.secret(connection.password),
            "sslmode": connection.sslmode, "role": role, "role_password": pulumi.Output.secret(role_password),
            "connection_limit": connection_limit,
        }
        super().__init__(provider or PgRoleProvider(), resource_name, props,
                         pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                             additional_secret_outputs=["password", "role_password"])))
