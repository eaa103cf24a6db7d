"""PgExtensionProvider against a real PostgreSQL (pgvector 0.8.6 and contrib), called directly."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from components.pg_extension import PgExtensionProvider
from testing.postgres_server import SUPERUSER, SUPERUSER_PASSWORD, RunningPostgres


def props_for(postgres: RunningPostgres, database: str, name: str = "vector", **extra: Any) -> dict[str, Any]:
    provider = PgExtensionProvider()
    result = provider.check({}, {"host": postgres.host, "port": postgres.port, "database": database,
                                 "user": SUPERUSER, "password": SUPERUSER_PASSWORD, "sslmode": "disable",
                                 "name": name, "connect_retry_seconds": 0, **extra})
    assert result.failures == [], [f.reason for f in result.failures]
    return result.inputs


def installed(postgres: RunningPostgres, database: str, name: str) -> Any:
    with psycopg.connect(postgres.conninfo(dbname=database)) as conn:
        return conn.execute("SELECT extversion FROM pg_extension WHERE extname = %s", (name,)).fetchone()


def test_create_installs_and_reports_version_and_schema(postgres, database):
    props = props_for(postgres, database)
    result = PgExtensionProvider().create(props)
    assert installed(postgres, database, "vector") == ("0.8.6",)
    assert result.outs["installed_version"] == "0.8.6"
    assert result.outs["installed_schema"] == "public"
    assert result.id == f"{postgres.host}:{postgres.port}/{database}/vector"


def test_create_is_idempotent(postgres, database):
    props = props_for(postgres, database)
    provider = PgExtensionProvider()
    provider.create(props)
    again = provider.create(props)
    assert again.outs["installed_version"] == "0.8.6"


def test_create_into_a_named_schema(postgres, database):
    with psycopg.connect(postgres.conninfo(dbname=database), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA extensions")
    result = PgExtensionProvider().create(props_for(postgres, database, schema="extensions"))
    assert result.outs["installed_schema"] == "extensions"


def test_outputs_never_echo_inputs_wholesale(postgres, database):
    props = props_for(postgres, database)
    props["unexpected_extra"] = "must not be echoed"
    outs = PgExtensionProvider().create(props).outs
    assert "unexpected_extra" not in outs
    # The password is only ever under its own input name (which the resource marks secret).
    assert [k for k, v in outs.items() if v == SUPERUSER_PASSWORD] == ["password"]


def test_read_reports_drift_after_out_of_band_drop(postgres, database):
    provider = PgExtensionProvider()
    props = props_for(postgres, database)
    created = provider.create(props)
    assert provider.read(created.id, created.outs).id == created.id
    with psycopg.connect(postgres.conninfo(dbname=database), autocommit=True) as conn:
        conn.execute("DROP EXTENSION vector")
    gone = provider.read(created.id, created.outs)
    assert gone.id is None
    # the next `up` creates it again
    assert provider.create(props).outs["installed_version"] == "0.8.6"


def test_upgrade_in_place_with_alter_extension_update(postgres, database):
    provider = PgExtensionProvider()
    old = provider.create(props_for(postgres, database, name="hstore", version="1.4")).outs
    assert old["installed_version"] == "1.4"
    new = props_for(postgres, database, name="hstore", version="1.8")
    diff = provider.diff("id", old, new)
    assert diff.changes and diff.replaces == []
    updated = provider.update("id", old, new)
    assert updated.outs["installed_version"] == "1.8"
    assert installed(postgres, database, "hstore") == ("1.8",)


def test_version_not_installable_is_a_clear_error(postgres, database):
    with pytest.raises(Exception, match=r"cannot be brought to version '0\.7\.0'.*Installable versions: 0\.8\.6"):
        PgExtensionProvider().create(props_for(postgres, database, version="0.7.0"))
    assert installed(postgres, database, "vector") is None


def test_unknown_extension_is_a_clear_error(postgres, database):
    # This server is built without libuuid: uuid-ossp really is unavailable here.
    with pytest.raises(Exception, match=r"extension 'uuid-ossp' is not available on 127\.0\.0\.1.*Available: .*vector"):
        PgExtensionProvider().create(props_for(postgres, database, name="uuid-ossp"))


def test_diff_replaces_on_database_or_name_and_updates_on_password(postgres, database):
    provider = PgExtensionProvider()
    old = provider.create(props_for(postgres, database)).outs
    assert provider.diff("id", old, {**old, "database": "other"}).replaces == ["database"]
    assert provider.diff("id", old, {**old, "name": "hstore"}).replaces == ["name"]
    rotated = provider.diff("id", old, {**old, "password": "rotated"})
    assert rotated.changes and rotated.replaces == []
    assert not provider.diff("id", old, dict(old)).changes


def test_password_rotation_changes_nothing_in_the_database(postgres, database):
    provider = PgExtensionProvider()
    old = provider.create(props_for(postgres, database)).outs
    with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
        conn.execute("ALTER ROLE postgres PASSWORD 'rotated-pw'")
    try:
        new = {**old, "password": "rotated-pw"}
        outs = provider.update("id", old, new).outs
        assert outs["password"] == "rotated-pw"
        assert outs["installed_version"] == "0.8.6"
    finally:
        with psycopg.connect(postgres.conninfo(password="rotated-pw"), autocommit=True) as conn:
            conn.execute(f"ALTER ROLE postgres PASSWORD '{SUPERUSER_PASSWORD}'")


def test_delete_keeps_the_extension_by_default(postgres, database):
    provider = PgExtensionProvider()
    created = provider.create(props_for(postgres, database))
    provider.delete(created.id, created.outs)
    assert installed(postgres, database, "vector") == ("0.8.6",)


def test_drop_on_delete_refuses_while_vector_data_depends_on_it(postgres, database):
    provider = PgExtensionProvider()
    created = provider.create(props_for(postgres, database, drop_on_delete=True))
    with psycopg.connect(postgres.conninfo(dbname=database), autocommit=True) as conn:
        conn.execute("CREATE TABLE document_chunk (id text PRIMARY KEY, vector vector(3), text text)")
        conn.execute("INSERT INTO document_chunk VALUES ('a', '[1,2,3]', 'x'), ('b', '[4,5,6]', 'y')")
    with pytest.raises(Exception, match=r"was not dropped: objects .* depend on it .*document_chunk.*Nothing was changed"):
        provider.delete(created.id, created.outs)
    with psycopg.connect(postgres.conninfo(dbname=database)) as conn:
        assert conn.execute("SELECT count(*), min(vector::text) FROM document_chunk").fetchone() == (2, "[1,2,3]")
    assert installed(postgres, database, "vector") == ("0.8.6",)


def test_drop_on_delete_drops_when_nothing_depends(postgres, database):
    provider = PgExtensionProvider()
    created = provider.create(props_for(postgres, database, drop_on_delete=True))
    provider.delete(created.id, created.outs)
    assert installed(postgres, database, "vector") is None


def test_allow_list_refusal_names_the_server_parameter_and_current_list(postgres, azure_database):
    with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{azure_database}" SET azure.extensions = \'UUID-OSSP,HSTORE\'')
    with pytest.raises(Exception) as refused:
        PgExtensionProvider().create(props_for(postgres, azure_database))
    message = str(refused.value)
    assert "not allow-listed" in message and "azure.extensions" in message
    assert "current allow list: UUID-OSSP,HSTORE" in message
    assert installed(postgres, azure_database, "vector") is None


def test_allow_list_refusal_of_uuid_ossp_names_it_as_azure_spells_it(postgres, azure_database):
    # The trigger refuses before PostgreSQL looks for the extension's files, as Azure does.
    with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{azure_database}" SET azure.extensions = \'VECTOR\'')
    with pytest.raises(Exception, match=r"'uuid-ossp' is not allow-listed.*add UUID-OSSP to the server parameter "
                                        r"azure\.extensions.*current allow list: VECTOR$"):
        PgExtensionProvider().create(props_for(postgres, azure_database, name="uuid-ossp"))


def test_allow_listed_extension_is_created(postgres, azure_database):
    with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{azure_database}" SET azure.extensions = \'VECTOR,UUID-OSSP\'')
    outs = PgExtensionProvider().create(props_for(postgres, azure_database)).outs
    assert outs["installed_version"] == "0.8.6"


def test_insufficient_privilege_is_a_clear_error(postgres, database):
    with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS app_user")
        conn.execute("CREATE ROLE app_user LOGIN PASSWORD 'app-user-pw'")
    props = {**props_for(postgres, database), "user": "app_user", "password": "app-user-pw"}
    with pytest.raises(Exception, match=r"user 'app_user' may not change extension 'vector'.*azure_pg_admin"):
        PgExtensionProvider().create(props)


def test_unreachable_server_names_host_port_and_firewall_key_after_retrying(database):
    props = {**props_for_unreachable(database), "connect_retry_seconds": 2}
    with pytest.raises(Exception) as failed:
        PgExtensionProvider().create(props)
    message = str(failed.value)
    assert "cannot reach PostgreSQL at 127.0.0.1:1" in message
    assert "postgresFirewallRules" in message
    assert "postgresNetwork private the server has no public endpoint" in message
    assert "unreachable-secret" not in message


def props_for_unreachable(database: str) -> dict[str, Any]:
    return PgExtensionProvider().check({}, {"host": "127.0.0.1", "port": 1, "database": database, "user": "u",
                                            "password": "unreachable-secret", "sslmode": "disable",
                                            "name": "vector", "connect_retry_seconds": 2}).inputs


def test_wrong_password_fails_at_once_without_leaking_it(postgres, database):
    props = {**props_for(postgres, database), "password": "definitely-wrong-pw", "connect_retry_seconds": 60}
    with pytest.raises(Exception) as failed:
        PgExtensionProvider().create(props)
    assert "cannot log in" in str(failed.value)
    assert "definitely-wrong-pw" not in str(failed.value)


def test_eight_concurrent_creates_make_one_extension(postgres, database):
    props = props_for(postgres, database)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: PgExtensionProvider().create(props), range(8)))
    assert {r.outs["installed_version"] for r in results} == {"0.8.6"}
    with psycopg.connect(postgres.conninfo(dbname=database)) as conn:
        assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'vector'").fetchone() == (1,)


@pytest.mark.parametrize("field,value,reason", [
    ("name", "vector; DROP TABLE x", "extension name"),
    ("name", "Vector", "extension name"),
    ("version", "0.8'; --", "version"),
    ("schema", "public; x", "schema"),
    ("port", 70000, "port"),
    ("sslmode", "sometimes", "sslmode"),
    ("password", "", "'password' is required"),
])
def test_check_rejects_bad_input_with_a_message_naming_the_property(field, value, reason):
    good = {"host": "h", "database": "d", "user": "u", "password": "p", "name": "vector"}
    failures = PgExtensionProvider().check({}, {**good, field: value}).failures
    assert [f.property for f in failures] == [field]
    assert reason in failures[0].reason


def test_check_fills_defaults():
    inputs = PgExtensionProvider().check({}, {"host": "h", "database": "d", "user": "u", "password": "p",
                                              "name": "vector"}).inputs
    assert inputs["sslmode"] == "require" and inputs["port"] == 5432 and inputs["drop_on_delete"] is False
