"""in_cluster/migrate_database.py on webui.db files the real Open WebUI wrote (tests/fixtures, made by
e2e/old_install.py: 0.12.4 at the head, 0.6.43 twelve minor releases older), into the real PostgreSQL, with
Open WebUI 0.12.4's own Alembic (build/open-webui, the wheel the stacks' image runs)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Iterator

import psycopg
import pytest

from components.open_webui import SCHEMA_JOB_SCRIPT
from e2e.judge import job_config_keys
from in_cluster.migrate_database import STACK_CONFIG
from testing.postgres_server import RunningPostgres
from ops.verify import ALEMBIC_HEADS

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
OPEN_WEBUI = ROOT / "build" / "open-webui"
CURRENT, OLDER = FIXTURES / "webui-0.12.4.db", FIXTURES / "webui-0.6.43.db"


def run(source: Path, url: str, work: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{OPEN_WEBUI}:{ROOT}"}
    return subprocess.run([sys.executable, "-m", "in_cluster.migrate_database", "--sqlite", str(source), "--database-url",
                           url, "--work", str(work), "--report", str(work / "report.json"), *extra],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)


def report(work: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((work / "report.json").read_text())
    return result


def by_table(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in result["tables"]}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def url_of(postgres: RunningPostgres, database: str) -> str:
    return f"postgresql://postgres:fixture-superuser-pw@{postgres.host}:{postgres.port}/{database}?sslmode=disable"


@pytest.fixture(scope="module")
def head_template(postgres: RunningPostgres, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database Open WebUI 0.12.4's own Alembic brought to its head, once: the template of `head_database`."""
    name = "openwebui_at_head"
    with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    scratch = tmp_path_factory.mktemp("alembic")
    env = {**os.environ, "PYTHONPATH": str(OPEN_WEBUI), "DATABASE_URL": url_of(postgres, name),
           "DATA_DIR": str(scratch), "WEBUI_SECRET_KEY": "unused-by-alembic"}
    subprocess.run([sys.executable, str(ROOT / "in_cluster" / "alembic_upgrade.py")], env=env, cwd=scratch, check=True,
                   capture_output=True)
    return name


@pytest.fixture
def head_database(postgres: RunningPostgres, head_template: str) -> Iterator[str]:
    """A fresh database as Open WebUI's schema Job leaves it, tables at the head and no rows, copied from the
    template (the tool skips its own Alembic there; `migrated` covers an empty target)."""
    name = f"h_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{head_template}"')
    yield name
    with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}"')


@pytest.fixture(scope="module")
def migrated(postgres: RunningPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Each fixture carried into its own fresh database, once, and carried again: both runs' results."""
    done = {}
    for source in (CURRENT, OLDER):
        name = f"m_{source.stem.replace('.', '_').replace('-', '_')}"
        with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        work = tmp_path_factory.mktemp(name)
        before = digest(source)
        first = run(source, url_of(postgres, name), work)
        first_report = report(work)
        second = run(source, url_of(postgres, name), work)
        done[source.name] = {"first": first, "second": second, "first_report": first_report,
                             "second_report": report(work), "url": url_of(postgres, name), "work": work,
                             "unchanged": digest(source) == before}
    yield done


@pytest.mark.parametrize("fixture", [CURRENT.name, OLDER.name])
def test_every_table_verifies_and_the_second_run_adds_nothing(migrated: dict[str, Any], fixture: str) -> None:
    m = migrated[fixture]
    assert m["first"].returncode == 0, m["first"].stdout + m["first"].stderr
    assert "every table verified" in m["first"].stdout
    first = by_table(m["first_report"])
    assert all(t["verified"] for t in first.values())
    for table, rows in {"user": 3, "auth": 3, "chat": 9, "folder": 3, "tag": 9, "knowledge": 1, "file": 1,
                        "model": 1, "prompt": 1}.items():
        assert first[table]["source_rows"] == first[table]["target_rows"] == rows, table
    assert m["first_report"]["head"] == ALEMBIC_HEADS["v0.12.4"]

    assert m["second"].returncode == 0, m["second"].stdout + m["second"].stderr
    second = by_table(m["second_report"])
    assert sum(t["inserted"] for t in second.values()) == 0
    assert {t: r["target_checksum"] for t, r in second.items()} == {t: r["target_checksum"] for t, r in first.items()}
    assert m["unchanged"], "the original webui.db changed"


def test_rows_equal_read_independently(migrated: dict[str, Any]) -> None:
    """Not the tool's own checksum: every table of the 0.12.4 file (already at the head) read back from both sides
    and compared as sorted row lists: booleans as 0/1, json parsed (SQLite's JSON columns have numeric affinity:
    it keeps the JSON text 40 as the integer 40)."""
    with sqlite3.connect(CURRENT) as db, psycopg.connect(migrated[CURRENT.name]["url"]) as conn:
        json_columns = set(conn.execute("SELECT table_name, column_name FROM information_schema.columns WHERE "
                                        "table_schema = 'public' AND data_type IN ('json', 'jsonb')").fetchall())
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert len(tables) > 40
        for table in tables:
            columns = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]
            parsed = [(table, c) in json_columns for c in columns]
            where = f" WHERE key NOT IN ({', '.join(map(repr, STACK_CONFIG))})" if table == "config" else ""
            select = f'SELECT {", ".join(chr(34) + c + chr(34) for c in columns)} FROM "{table}"{where}'
            old = sorted(repr(tuple(json.loads(v) if p and isinstance(v, str) else v for v, p in zip(row, parsed)))
                         for row in db.execute(select).fetchall())
            new = sorted(repr(tuple(int(v) if isinstance(v, bool) and not p else v for v, p in zip(row, parsed)))
                         for row in conn.execute(select).fetchall())
            assert new == old, table


def test_settings_come_across_and_the_stack_owned_keys_are_left_to_the_stack(migrated: dict[str, Any]) -> None:
    assert set(STACK_CONFIG) == set(job_config_keys(SCHEMA_JOB_SCRIPT.read_text())), \
        "the tool must leave exactly the keys the schema Job writes"
    for fixture in (CURRENT.name, OLDER.name):
        with psycopg.connect(migrated[fixture]["url"]) as conn:
            keys = dict(conn.execute("SELECT key, value FROM config").fetchall())
            settings = conn.execute("SELECT settings FROM \"user\" WHERE email = 'bo@old.example'").fetchone()
        assert not set(STACK_CONFIG) & set(keys), fixture
        assert "Moved to AKS" in json.dumps(keys["ui.banners"]), fixture
        assert settings and settings[0]["ui"]["theme"] == "dark", fixture


def test_a_tampered_target_row_is_reported_and_kept(migrated: dict[str, Any], tmp_path: Path) -> None:
    m = migrated[CURRENT.name]
    with psycopg.connect(m["url"], autocommit=True) as conn:
        chat_id, title = conn.execute("SELECT id, title FROM chat ORDER BY id LIMIT 1").fetchone()
        conn.execute("UPDATE chat SET title = 'changed on the new platform' WHERE id = %s", (chat_id,))
    try:
        work = tmp_path / "work"
        shutil.copytree(m["work"], work)
        again = run(CURRENT, m["url"], work)
        assert again.returncode == 1
        chat = by_table(report(work))["chat"]
        assert chat["differing"] == [chat_id] and not chat["verified"]
        assert f"differing (kept as the target has them): ['{chat_id}']" in again.stdout
        with psycopg.connect(m["url"]) as conn:
            assert conn.execute("SELECT title FROM chat WHERE id = %s", (chat_id,)).fetchone() == (
                "changed on the new platform",)
    finally:
        with psycopg.connect(m["url"], autocommit=True) as conn:
            conn.execute("UPDATE chat SET title = %s WHERE id = %s", (title, chat_id))


def test_a_run_killed_mid_table_completes_on_the_next(postgres: RunningPostgres, head_database: str,
                                                      tmp_path: Path) -> None:
    url = url_of(postgres, head_database)
    env = {**os.environ, "PYTHONPATH": f"{OPEN_WEBUI}:{ROOT}"}
    work = tmp_path / "work"
    process = subprocess.Popen([sys.executable, "-m", "in_cluster.migrate_database", "--sqlite", str(CURRENT),
                                "--database-url", url, "--work", str(work), "--batch-size", "1"],
                               env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout
    for line in process.stdout:  # config has 375 rows: one transaction each
        if line.startswith("migrate_database: config: 50 row(s)"):
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    with psycopg.connect(url) as conn:
        cut_at = conn.execute("SELECT count(*) FROM config").fetchone()
    assert cut_at and 50 <= cut_at[0] < 300

    done = run(CURRENT, url, work)
    assert done.returncode == 0, done.stdout + done.stderr
    config = by_table(report(work))["config"]
    assert config["verified"] and config["inserted"] == config["source_rows"] - cut_at[0]


def test_orphans_are_left_out_as_postgresql_would_and_named(postgres: RunningPostgres, head_database: str,
                                                           tmp_path: Path) -> None:
    source = tmp_path / "webui.db"
    shutil.copyfile(CURRENT, source)
    with sqlite3.connect(source) as db:  # what SQLite allows (it does not enforce foreign keys)
        chat_id = db.execute("SELECT id FROM chat ORDER BY id LIMIT 1").fetchone()[0]
        db.execute("DELETE FROM chat WHERE id = ?", (chat_id,))
        orphaned = db.execute("SELECT count(*) FROM chat_message WHERE chat_id = ?", (chat_id,)).fetchone()[0]
    assert orphaned == 2
    done = run(source, url_of(postgres, head_database), tmp_path / "work")
    assert done.returncode == 0, done.stdout + done.stderr
    messages = by_table(report(tmp_path / "work"))["chat_message"]
    assert messages["orphans"]["removed"] == 2 and messages["orphans"]["references"] == ["chat(id)"]
    assert messages["source_rows"] == messages["target_rows"] == 16
    assert "left out: 2 row(s)" in done.stdout


@pytest.mark.parametrize("change, says", [
    ("UPDATE alembic_version SET version_num = 'ffffffffffff'",
     "revision ffffffffffff, which this Open WebUI (head 0bd252b206fb) does not know"),
    ("DROP TABLE alembic_version", "predates Open WebUI's Alembic history"),
])
def test_a_source_the_release_cannot_carry_is_refused(postgres: RunningPostgres, database: str, tmp_path: Path,
                                                      change: str, says: str) -> None:
    source = tmp_path / "webui.db"
    shutil.copyfile(CURRENT, source)
    with sqlite3.connect(source) as db:
        db.execute(change)
    done = run(source, url_of(postgres, database), tmp_path / "work")
    assert done.returncode == 2 and says in done.stderr
    with psycopg.connect(url_of(postgres, database)) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)


def test_a_target_at_another_revision_is_refused_and_the_password_never_printed(
        postgres: RunningPostgres, database: str, tmp_path: Path) -> None:
    with psycopg.connect(postgres.conninfo(dbname=database), autocommit=True) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('d4c1a8e37b62')")
    done = run(CURRENT, url_of(postgres, database), tmp_path / "work")
    assert done.returncode == 2
    assert "target database is at Alembic revision d4c1a8e37b62, this Open WebUI's head is 0bd252b206fb" in done.stderr
    assert "fixture-superuser-pw" not in done.stdout + done.stderr


def test_a_dry_run_writes_nothing(postgres: RunningPostgres, database: str, tmp_path: Path) -> None:
    done = run(OLDER, url_of(postgres, database), tmp_path / "work", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert by_table(report(tmp_path / "work"))["chat"]["source_rows"] == 9
    with psycopg.connect(url_of(postgres, database)) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)


def test_once_skips_a_file_already_carried_while_the_database_holds_it(
        migrated: dict[str, Any], postgres: RunningPostgres, database: str, tmp_path: Path) -> None:
    m = migrated[OLDER.name]
    work = tmp_path / "work"
    shutil.copytree(m["work"], work)
    again = run(OLDER, m["url"], work, "--once")
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stderr
    # Two image upgrades on, the app's schema Jobs moved the database past the report's head: still the app's.
    with psycopg.connect(m["url"], autocommit=True) as conn:
        [(head,)] = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        conn.execute("UPDATE alembic_version SET version_num = 'a1b2c3d4e5f6'")
        try:
            later = run(OLDER, m["url"], work, "--once")
        finally:
            conn.execute("UPDATE alembic_version SET version_num = %s", (head,))
    assert later.returncode == 0 and "nothing to do" in later.stdout, later.stderr
    # The same report, but the database restored to before the migration (empty): carried again.
    restored = run(OLDER, url_of(postgres, database), work, "--once")
    assert restored.returncode == 0 and "nothing to do" not in restored.stdout, restored.stderr
    assert by_table(report(work))["chat"]["inserted"] == 9
    # Another file than the report's: compared again, not skipped.
    changed = tmp_path / "webui.db"
    shutil.copyfile(OLDER, changed)
    with sqlite3.connect(changed) as db:
        db.execute("UPDATE chat SET title = 'later' WHERE rowid = 1")
    compared = run(changed, url_of(postgres, database), work, "--once", "--dry-run")
    assert "nothing to do" not in compared.stdout and "differing" in compared.stdout, compared.stdout