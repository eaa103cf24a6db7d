"""PostgreSQL restored to a point in time from config: the restore stack's server, and every bad input refused."""

from datetime import datetime, timedelta, timezone

import pytest

from components.stack_config import ConfigError
from offline_plan.mock_engine import SECURE_PLACEHOLDER, is_secret, reveal, run_program

NOW = datetime.now(timezone.utc)


def at(delta: timedelta) -> str:
    return f"{NOW + delta:%Y-%m-%dT%H:%M:%SZ}"


def test_a_restore_stacks_server_is_born_from_the_source_at_that_time():
    when = at(-timedelta(hours=1))
    run = run_program("dev", {"postgresRestoreFrom": "prod", "postgresRestorePointInTime": when})
    server = run.named("postgres-server")
    inputs = reveal(server.inputs)
    assert inputs["createMode"] == "PointInTimeRestore" and inputs["pointInTimeUTC"] == when
    assert inputs["sourceServerResourceId"].endswith("/flexibleServers/prod-postgres-server")
    # the restored data directory keeps the source's roles: the admin's password is the source's, kept secret
    assert is_secret(server.inputs["administratorLoginPassword"])
    assert inputs["administratorLoginPassword"] == SECURE_PLACEHOLDER
    assert run.of_type("random:index/randomPassword:RandomPassword") and not any(
        r.name == "postgres-admin-password" for r in run.registrations)
    # the app and make verify reach it as any server of the stack
    assert reveal(run.outputs["databaseUrl"]).startswith(f"postgresql://openwebuiadmin:{SECURE_PLACEHOLDER}@")


def test_a_new_stack_has_a_new_empty_server():
    server = reveal(run_program("dev").named("postgres-server").inputs)
    assert "createMode" not in server and "sourceServerResourceId" not in server


@pytest.mark.parametrize("overrides,says", [
    ({"postgresRestoreFrom": "prod"}, "postgresRestoreFrom/postgresRestorePointInTime: set both"),
    ({"postgresRestorePointInTime": "2026-11-30T08:00:00Z"}, "postgresRestoreFrom/postgresRestorePointInTime: set both"),
    ({"postgresRestoreFrom": "dev", "postgresRestorePointInTime": at(-timedelta(hours=1))},
     "postgresRestoreFrom: 'dev' is this stack"),
    ({"postgresRestoreFrom": "staging", "postgresRestorePointInTime": at(-timedelta(hours=1))},
     "postgresRestoreFrom: no stack 'staging' in this project"),
    ({"postgresRestoreFrom": "prod", "postgresRestorePointInTime": "yesterday at noon"},
     "postgresRestorePointInTime: 'yesterday at noon' is not a UTC time as RFC 3339"),
    ({"postgresRestoreFrom": "prod", "postgresRestorePointInTime": at(timedelta(hours=2))},
     "is in the future; the latest is now"),
    ({"postgresRestoreFrom": "prod", "postgresRestorePointInTime": at(-timedelta(days=40))},
     "is older than prod's 35 days of backups (postgresBackupRetentionDays): the earliest is"),
    ({"postgresRestoreFrom": "prod", "postgresRestorePointInTime": at(-timedelta(hours=1)),
      "postgresAdminLogin": "someoneelse"}, "postgresAdminLogin: the restored server keeps prod's roles"),
    ({"postgresRestoreFrom": "prod", "postgresRestorePointInTime": at(-timedelta(hours=1)), "location": "northeurope"},
     "location: a point-in-time restore stays in the source's region; prod is in westeurope"),
    ({"filesBackupRetentionDays": 0}, "filesBackupRetentionDays: 0 is outside Azure Backup's 1..200"),
])
def test_bad_restores_are_refused_with_the_fix(overrides, says):
    with pytest.raises(ConfigError) as rejected:
        run_program("dev", overrides)
    assert says in str(rejected.value), str(rejected.value)


def test_a_restore_from_dev_counts_devs_seven_days():
    # prod restores from dev: dev keeps 7 days, so 10 days back is gone
    with pytest.raises(ConfigError) as rejected:
        run_program("prod", {"postgresRestoreFrom": "dev", "postgresRestorePointInTime": at(-timedelta(days=10))})
    assert "older than dev's 7 days of backups" in str(rejected.value)
