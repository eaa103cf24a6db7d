"""PgExtension: a PostgreSQL extension (CREATE EXTENSION) managed as a Pulumi dynamic resource.

The provider is pickled with dill into the stack's state (components/pg_provider.py says how, and holds the
connection it shares with the role provider).
"""

from __future__ import annotations

from typing import Any, Optional

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from components.pg_provider import PgConnectionArgs, PgServerProvider, pickled_by_value


@pickled_by_value
class PgExtensionProvider(PgServerProvider):
    NAME_PATTERN = r"^[a-z0-9_][a-z0-9_-]{0,62}$"
    VERSION_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z._-]{0,62}$"
    SCHEMA_PATTERN = r"^[a-z_][a-z0-9_]{0,62}$"
    REPLACE_ON = ("host", "port", "database", "name")
    APPLICATION_NAME = "pulumi-pgextension"
    ALLOW_LIST_PARAMETER = "azure.extensions"
    DEFAULTS: dict[str, Any] = {**PgServerProvider.CONNECTION_DEFAULTS, "version": None, "schema": None,
                                "drop_on_delete": False}

    # check / diff ---------------------------------------------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        import re

        inputs = {**self.DEFAULTS, **{k: v for k, v in news.items() if v is not None}}
        failures = self._check_connection(inputs, ("name",))

        def fail(prop: str, reason: str) -> None:
            failures.append(CheckFailure(prop, reason))

        name = inputs.get("name")
        if isinstance(name, str) and name and not re.match(self.NAME_PATTERN, name):
            fail("name", f"extension name {name!r} is not valid: use lower-case letters, digits, '_' or '-' "
                         "(at most 63 characters), e.g. 'vector' or 'uuid-ossp'")
        version = inputs.get("version")
        if version is not None and (not isinstance(version, str) or not re.match(self.VERSION_PATTERN, version)):
            fail("version", f"version {version!r} is not valid: use a version string such as '0.8.0', "
                            "or leave it unset for the server's default version")
        schema = inputs.get("schema")
        if schema is not None and (not isinstance(schema, str) or not re.match(self.SCHEMA_PATTERN, schema)):
            fail("schema", f"schema {schema!r} is not a plain lower-case identifier such as 'public'")
        if not isinstance(inputs.get("drop_on_delete"), bool):
            fail("drop_on_delete", "drop_on_delete must be true or false")
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in self.REPLACE_ON if olds.get(k) != news.get(k)]
        changed = [k for k in ("version", "schema", "user", "password", "sslmode", "drop_on_delete",
                               "connect_retry_seconds") if olds.get(k) != news.get(k)]
        # A requested version that differs from what is installed (an out-of-band change) is a change too.
        if news.get("version") and news.get("version") != olds.get("installed_version"):
            changed.append("version")
        return DiffResult(changes=bool(replaces or changed), replaces=replaces,
                          stables=[k for k in self.REPLACE_ON if k not in replaces], delete_before_replace=False)

    # CRUD -----------------------------------------------------------------------------------------

    def create(self, props: dict[str, Any]) -> CreateResult:
        from psycopg import sql

        name = props["name"]
        with self._connect(props) as conn:
            with conn.transaction():
                self._serialize_on(conn, name)
                stmt = sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name))
                if props.get("schema"):
                    stmt += sql.SQL(" SCHEMA {}").format(sql.Identifier(props["schema"]))
                if props.get("version"):
                    stmt += sql.SQL(" VERSION {}").format(sql.Literal(props["version"]))
                self._execute(conn, props, stmt)
                installed = self._installed(conn, name)
            assert installed is not None
            if props.get("version") and installed[0] != props["version"]:
                # It existed already at another version: bring it to the one asked for.
                self._alter(conn, props, "UPDATE TO", props["version"])
                installed = self._installed(conn, name)
        assert installed is not None
        return CreateResult(self._id(props), self._outputs(props, installed))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with self._connect(props) as conn:
            installed = self._installed(conn, props["name"])
        if installed is None:
            # Dropped out of band: report it gone so the next `pulumi up` creates it again.
            return ReadResult(None, {})
        return ReadResult(id_, self._outputs(props, installed))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        with self._connect(news) as conn:
            installed = self._installed(conn, news["name"])
            if installed is None:
                raise Exception(f"extension {news['name']!r} is no longer installed in database "
                                f"{news['database']!r}: run `pulumi refresh` then `pulumi up` to create it again")
            if news.get("version") and news["version"] != installed[0]:
                self._alter(conn, news, "UPDATE TO", news["version"])
            if news.get("schema") and news["schema"] != installed[1]:
                self._alter(conn, news, "SET SCHEMA", news["schema"])
            # A rotated password or a new sslmode needs nothing in the database: the connection above used it.
            installed = self._installed(conn, news["name"])
        assert installed is not None
        return UpdateResult(self._outputs(news, installed))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from psycopg import errors, sql

        if not props.get("drop_on_delete"):
            # Open WebUI's document_chunk table depends on the vector type: keep the extension, and the data.
            return
        name = props["name"]
        with self._connect(props) as conn:
            try:
                with conn.transaction():
                    self._serialize_on(conn, name)
                    conn.execute(sql.SQL("DROP EXTENSION IF EXISTS {} RESTRICT").format(sql.Identifier(name)))
            except errors.DependentObjectsStillExist as e:
                detail = (e.diag.message_detail or "").strip()
                raise Exception(f"extension {name!r} was not dropped: objects in database {props['database']!r} "
                                f"depend on it ({detail}). Nothing was changed. Drop or migrate those objects "
                                "first, or set drop_on_delete to false to keep the extension.") from None

    # helpers (methods, so that they travel with the pickled class) ---------------------------------

    def _id(self, props: dict[str, Any]) -> str:
        return f"{props['host']}:{int(props['port'])}/{props['database']}/{props['name']}"

    def _outputs(self, props: dict[str, Any], installed: tuple[str, str]) -> dict[str, Any]:
        # Built key by key: the password goes back under its own (secret) input name only.
        outs = {k: props.get(k) for k in (*self.CONNECTION_KEYS, "name", "version", "schema", "drop_on_delete",
                                          "connect_retry_seconds")}
        outs["installed_version"], outs["installed_schema"] = installed
        return outs

    def _serialize_on(self, conn: Any, name: str) -> None:
        # Concurrent CREATE EXTENSION IF NOT EXISTS on one database can still collide on pg_extension's
        # unique index; a transaction-scoped advisory lock per extension makes them queue instead.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"pulumi-pgextension:{name}",))

    def _installed(self, conn: Any, name: str) -> Optional[tuple[str, str]]:
        row = conn.execute("SELECT e.extversion, n.nspname FROM pg_extension e JOIN pg_namespace n "
                           "ON n.oid = e.extnamespace WHERE e.extname = %s", (name,)).fetchone()
        return (row[0], row[1]) if row else None

    def _alter(self, conn: Any, props: dict[str, Any], action: str, target: str) -> None:
        from psycopg import sql

        value = sql.Literal(target) if action == "UPDATE TO" else sql.Identifier(target)
        with conn.transaction():
            self._serialize_on(conn, props["name"])
            self._execute(conn, props, sql.SQL("ALTER EXTENSION {} {} {}").format(
                sql.Identifier(props["name"]), sql.SQL(action), value))

    def _raise_unavailable(self, conn: Any, props: dict[str, Any], error: Any) -> None:
        available = conn.execute("SELECT string_agg(name, ', ' ORDER BY name) FROM pg_available_extensions"
                                 ).fetchone()
        raise Exception(f"extension {props['name']!r} is not available on {props['host']}: "
                        f"{error.diag.message_primary}. Available: {(available and available[0]) or '(none)'}"
                        ) from None

    def _execute(self, conn: Any, props: dict[str, Any], stmt: Any) -> None:
        """Runs one DDL statement and turns the server's refusals into errors that say what to do."""
        from psycopg import errors

        name, database, user = props["name"], props["database"], props["user"]
        try:
            with conn.transaction():  # a savepoint: the queries below must not run in an aborted transaction
                conn.execute(stmt)
        except errors.FeatureNotSupported as e:
            # Azure's allow-list refusal and PostgreSQL 18's "not available" share SQLSTATE 0A000.
            if "allow-listed" not in str(e):
                self._raise_unavailable(conn, props, e)
            allowed = conn.execute("SELECT current_setting(%s, true)", (self.ALLOW_LIST_PARAMETER,)).fetchone()
            raise Exception(
                f"extension {name!r} is not allow-listed on {props['host']}: add {name.upper()} to the server "
                f"parameter {self.ALLOW_LIST_PARAMETER} (this program sets it from the config key "
                f"postgresExtensions); current allow list: {(allowed and allowed[0]) or '(empty)'}") from None
        except errors.InsufficientPrivilege as e:
            raise Exception(f"user {user!r} may not change extension {name!r} in database {database!r}: "
                            f"{e.diag.message_primary}. Use the server admin (a member of azure_pg_admin) "
                            "or grant the privilege.") from None
        except (errors.UndefinedFile, errors.UndefinedObject) as e:
            self._raise_unavailable(conn, props, e)
        except errors.InvalidParameterValue as e:
            versions = conn.execute("SELECT string_agg(version, ', ' ORDER BY version) "
                                    "FROM pg_available_extension_versions WHERE name = %s", (name,)).fetchone()
            raise Exception(f"extension {name!r} cannot be brought to version {props.get('version')!r}: "
                            f"{e.diag.message_primary}. Installable versions: "
                            f"{(versions and versions[0]) or '(none)'}; downgrades are not possible.") from None


class PgExtension(Resource, module="postgres", name="Extension"):
    """`CREATE EXTENSION` in one database. Deleting it keeps the extension unless drop_on_delete is set."""

    installed_version: pulumi.Output[str]
    installed_schema: pulumi.Output[str]

    def __init__(self, resource_name: str, connection: PgConnectionArgs, name: str, version: Optional[str] = None,
                 schema: Optional[str] = None, drop_on_delete: bool = False,
                 opts: Optional[pulumi.ResourceOptions] = None) -> None:
        props = {
            "host": connection.host, "port": connection.port, "database": connection.database,
            "user": connection.user, "password": pulumi.Output.secret(connection.password),
            "sslmode": connection.sslmode, "name": name, "version": version, "schema": schema,
            "drop_on_delete": drop_on_delete,
            "installed_version": None, "installed_schema": None,
        }
        super().__init__(PgExtensionProvider(), resource_name, props,
                         pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                             additional_secret_outputs=["password"])))
