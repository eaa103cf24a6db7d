import sys
import uuid
from pathlib import Path
from typing import Iterator

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from offline_plan.mock_engine import MockRun, run_program  # noqa: E402
from offline_plan.policy_client import PolicyPackServer  # noqa: E402
from testing.postgres_server import RunningPostgres, start_postgres  # noqa: E402

# Azure's allow-list, simulated on the real server: refuses CREATE EXTENSION with Azure's exact message and
# SQLSTATE unless the name is in the custom setting azure.extensions (comma-separated, any case).
AZURE_ALLOW_LIST_SQL = r"""
CREATE OR REPLACE FUNCTION azure_allow_list() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
  m text[];
  ext text;
  allowed text := coalesce(current_setting('azure.extensions', true), '');
BEGIN
  m := regexp_match(current_query(),
                    'create\s+extension\s+(?:if\s+not\s+exists\s+)?(?:"([^"]+)"|([A-Za-z0-9_-]+))', 'i');
  IF m IS NULL THEN RETURN; END IF;
  ext := lower(coalesce(m[1], m[2]));
  IF NOT ext = ANY (SELECT lower(trim(x)) FROM unnest(string_to_array(allowed, ',')) AS x) THEN
    RAISE EXCEPTION 'extension "%" is not allow-listed for "azure_pg_admin" users in Azure Database for PostgreSQL', ext
      USING ERRCODE = '0A000',
            HINT = 'to see the full allow list of extensions, please run: "show azure.extensions;"';
  END IF;
END $$;
CREATE EVENT TRIGGER azure_allow_list ON ddl_command_start WHEN TAG IN ('CREATE EXTENSION')
  EXECUTE FUNCTION azure_allow_list();
"""


@pytest.fixture(scope="session")
def dev_run() -> MockRun:
    """The dev stack under the mocks, once per session, for the tests that only read it."""
    return run_program("dev")


@pytest.fixture(scope="session")
def prod_run() -> MockRun:
    """The prod stack under the mocks, once per session, for the tests that only read it."""
    return run_program("prod")


@pytest.fixture(scope="session")
def policy_pack() -> Iterator[PolicyPackServer]:
    """The policy pack's own gRPC server, started once per session; each check configures it for its stack."""
    with PolicyPackServer() as pack:
        yield pack


@pytest.fixture(params=["dev", "prod"])
def stack_run(request: pytest.FixtureRequest) -> MockRun:
    """Each repository stack under the mocks (the session's runs above), for tests that hold for both."""
    return request.getfixturevalue(f"{request.param}_run")


@pytest.fixture(scope="session")
def postgres() -> Iterator[RunningPostgres]:
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
def database(postgres: RunningPostgres) -> Iterator[str]:
    """A fresh database per test, dropped afterwards (the test server is throwaway)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def azure_database(postgres: RunningPostgres, database: str) -> str:
    """A database that behaves like Azure's: only extensions in azure.extensions may be created."""
    with psycopg.connect(postgres.conninfo(dbname=database), autocommit=True) as conn:
        conn.execute(AZURE_ALLOW_LIST_SQL)
    return database
