"""Carries an Open WebUI SQLite database (webui.db) into PostgreSQL: every table, every row, verified.

    python -m in_cluster.migrate_database --sqlite FILE --database-url URL [--dry-run] [--report FILE] [--once]
                                     [--batch-size N]

--database-url may come from DATABASE_URL instead; neither the URL nor its password is ever printed.

- One schema on both sides, Open WebUI's own. It runs where Open WebUI is installed (the image, as a Job): the
  source is copied to a scratch directory (the original is only read) and the copy brought to the installed
  release's Alembic head by that release's own Alembic. An empty target is brought to the same head the same way;
  a target at another revision is refused. So is a source at a revision the release does not know (newer than it:
  migrate with the newer image) or with no Alembic history at all (older than Open WebUI's Alembic).
- Every table of that schema, read from PostgreSQL's catalog after Alembic, in foreign-key order, each value
  converted as the target column is typed (0/1 to boolean; JSON text to json, whose text PostgreSQL keeps as
  given; epochs stay bigint; SQLite's timestamp text to timestamp), in batches: COPY into a temporary table, then
  INSERT ... ON CONFLICT DO NOTHING, one transaction per batch. A second run adds nothing; a run cut short
  completes on the next; a target row that differs from its source stays as it is and is reported.
- Rows SQLite kept although what they refer to is gone (SQLite does not enforce foreign keys) cannot exist in
  PostgreSQL: they are left out as PostgreSQL's own ON DELETE rule would have left them (CASCADE: the row; SET
  NULL: the reference) and listed in the report.
- The settings the stack owns (STACK_CONFIG: the Ollama connections and the public URL, which the schema Job
  writes from the stack) are not carried; every other config key comes across as the admin left it.
- Verified: per table, the row count and a SHA-256 over each row's canonical form in primary-key order, computed
  the same way on both sides, with the rows that are missing, differ or exist only in the target named.

With --once and --report, a report from an earlier verified run of the same file (same SHA-256) means done while
the target holds Open WebUI's schema, at that run's head or any later one: the Job that runs before every new
image's schema step leaves a database the new Open WebUI already owns alone, and carries the file again into one
restored to before the migration (empty).
Uses one PostgreSQL connection at a time and memory that does not grow with the database (both sides streamed).
Exit status: 0 every table verified; 1 a table did not verify; 2 refused (nothing written).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

import psycopg
from psycopg import sql

try:
    from in_cluster.alembic_revisions import installed, installed_head
    from in_cluster.migration_common import Refused, connect, finish, redact
except ImportError:  # scripts beside it in the data-migration Job's ConfigMap
    from alembic_revisions import installed, installed_head  # type: ignore[no-redef,import-not-found]
    from migration_common import Refused, connect, finish, redact  # type: ignore[no-redef,import-not-found]

APPLICATION_NAME = "openwebui-migrate-database"
VERSION_TABLE = "alembic_version"
STACK_CONFIG = ("ollama.base_urls", "ollama.enable", "webui.url", "ui.enable_signup", "ui.enable_login_form",
                "ui.default_user_role")
"""Config keys the schema Job writes from the stack (in_cluster/schema_job.py): the old install's values
are not carried."""
OPEN_WEBUI_TABLES = {"auth", "user", "chat", "config"}
"""Any of these makes a SQLite file an Open WebUI database."""
SHOWN = 5
"""Keys named per kind of problem in the output (the report lists up to SHOWN_IN_REPORT)."""
SHOWN_IN_REPORT = 100

ALEMBIC_UPGRADE = Path(__file__).with_name("alembic_upgrade.py")
"""The release's Alembic, run by the installed Open WebUI's Python beside this script."""


# Schema -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    name: str
    type: str
    """PostgreSQL's name for the column's type (format_type without its modifier)."""


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    on_delete: str
    """pg_constraint.confdeltype: c cascade, n set null, d set default, a no action, r restrict."""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def key_indexes(self) -> list[int]:
        return [self.names.index(k) for k in self.key]

    @property
    def self_reference(self) -> Optional[ForeignKey]:
        """A single-column reference to the table itself (a tree: groups, knowledge directories)."""
        return next((fk for fk in self.foreign_keys if fk.parent == self.name and len(fk.columns) == 1), None)


def read_schema(conn: psycopg.Connection[Any]) -> dict[str, Table]:
    """Open WebUI's tables as Alembic left them in the target's schema (the search path's first)."""
    columns: dict[str, list[Column]] = {}
    for table, name, type_ in conn.execute(
            "SELECT c.relname, a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid WHERE c.relnamespace = current_schema()::regnamespace "
            "AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum"):
        columns.setdefault(table, []).append(Column(name, type_))
    keys: dict[str, tuple[str, ...]] = {}
    fks: dict[str, list[ForeignKey]] = {}
    for table, contype, cols, parent, parent_cols, on_delete in conn.execute(
            "SELECT c.conrelid::regclass::text, c.contype, "
            "ARRAY(SELECT attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a "
            "      ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i), "
            "c.confrelid::regclass::text, "
            "ARRAY(SELECT attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a "
            "      ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i), c.confdeltype "
            "FROM pg_constraint c WHERE c.connamespace = current_schema()::regnamespace AND c.contype IN ('p', 'f')"):
        table = table.strip('"')
        if contype == "p":
            keys[table] = tuple(cols)
        else:
            fks.setdefault(table, []).append(ForeignKey(tuple(cols), parent.strip('"'), tuple(parent_cols), on_delete))
    return {t: Table(t, tuple(cols), keys.get(t, ()), tuple(fks.get(t, ()))) for t, cols in columns.items()}


def foreign_key_order(tables: dict[str, Table]) -> list[str]:
    """Parents before children (references within a table are ordered row by row instead)."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered or name in visiting:
            return
        visiting.add(name)
        for fk in tables[name].foreign_keys:
            if fk.parent != name and fk.parent in tables:
                visit(fk.parent)
        visiting.discard(name)
        ordered.append(name)

    for name in sorted(tables):
        visit(name)
    return ordered


# Values ---------------------------------------------------------------------------------------------------------

INTEGERS = {"bigint", "integer", "smallint"}
FLOATS = {"double precision", "real", "numeric"}
TEXTS = {"text", "character varying", "character", "json"}
"""json keeps the text it is given, so text and json compare as text (jsonb would not: it is canonicalised)."""


class Unconvertible(ValueError):
    """A SQLite value that the target column cannot hold as it is."""


def to_target(value: Any, type_: str) -> Any:
    """A SQLite value as the target column holds it (what COPY sends and what verification compares)."""
    if value is None:
        return None
    if type_ == "boolean":
        if isinstance(value, str):
            if value.lower() in ("1", "true", "t"):
                return True
            if value.lower() in ("0", "false", "f"):
                return False
            raise Unconvertible(f"{value!r} is not a boolean")
        return bool(value)
    if type_ in INTEGERS:
        if isinstance(value, float) and not value.is_integer():
            raise Unconvertible(f"{value!r} has a fraction, which a {type_} column would lose")
        return int(value)
    if type_ in FLOATS:
        return float(value)
    if type_ == "bytea":
        return bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode()
    if type_ in ("jsonb", "timestamp without time zone", "timestamp with time zone", "date") or type_ in TEXTS:
        return value.decode() if isinstance(value, bytes) else str(value)
    raise Unconvertible(f"no conversion to {type_}")


def canonical(value: Any, type_: str) -> Any:
    """One form for a value read from either side (SQLite's after to_target, PostgreSQL's as psycopg returns it,
    json and jsonb as text): what the checksum hashes."""
    if value is None:
        return None
    if type_ == "jsonb":
        return json.dumps(json.loads(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    if type_.startswith("timestamp"):
        parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        return parsed.isoformat(" ")
    if type_ == "date":
        return (value if isinstance(value, date) else date.fromisoformat(value)).isoformat()
    if type_ in FLOATS:
        return repr(float(value))
    if type_ == "bytea":
        return bytes(value).hex()
    return value


def text_loaders(conn: psycopg.Connection[Any]) -> None:
    """json and jsonb come back as their text: json's is exactly what was stored."""
    for name in ("json", "jsonb"):
        conn.adapters.register_loader(name, psycopg.types.string.TextLoader)


# The source: a private copy at the release's head -------------------------------------------------------------

def copy_source(source: Path, copy: Path) -> None:
    """webui.db and its write-ahead log, byte for byte, then the log folded into the copy: one file."""
    shutil.copyfile(source, copy)
    wal = source.with_name(source.name + "-wal")
    if wal.is_file():
        shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
    with closing(sqlite3.connect(copy)) as db:
        db.execute("PRAGMA journal_mode = DELETE")


def sqlite_tables(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def revision(db: sqlite3.Connection) -> Optional[str]:
    row = db.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
    return str(row[0]) if row else None


def alembic_upgrade(database_url: str, scratch: Path) -> None:
    """The installed Open WebUI's Alembic brings one database to the release's head."""
    env = {**os.environ, "DATABASE_URL": database_url, "DATA_DIR": str(scratch / "data"),
           "WEBUI_SECRET_KEY": os.environ.get("WEBUI_SECRET_KEY") or "unused-by-alembic"}
    env.pop("DATABASE_SCHEMA", None)
    done = subprocess.run([sys.executable, str(ALEMBIC_UPGRADE)], env=env, cwd=scratch, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        raise Refused(f"Open WebUI's Alembic failed (upgrade):\n{redact(tail, database_url)}")


def prepare_source(source: Path, digest: str, work: Path, scratch: Path) -> tuple[Path, str, str]:
    """The copy at the release's head, made once per source file and head and kept in `work`: Open WebUI's older
    migrations make ids and timestamps as they run, so every later run must carry this same copy to match what
    the first run wrote. Returns the copy, the source's revision and the head."""
    copy, state = work / "webui.db", work / "source.json"
    scratch_copy = scratch / "webui.db"
    copy_source(source, scratch_copy)
    with closing(sqlite3.connect(scratch_copy)) as db:
        tables = sqlite_tables(db)
        if not tables & OPEN_WEBUI_TABLES:
            raise Refused(f"{source} holds no Open WebUI tables (found: {', '.join(sorted(tables)) or 'none'})")
        if VERSION_TABLE not in tables or revision(db) is None:
            raise Refused(f"{source} has no Alembic revision: it predates Open WebUI's Alembic history. Start it "
                          "once with Open WebUI 0.6.x on this file (it upgrades it in place; keep a copy), then run "
                          "again")
        before = revision(db)
    assert before is not None
    head = installed_head()
    if before not in installed():
        raise Refused(f"{source} is at Alembic revision {before}, which this Open WebUI (head {head}) does not know: "
                      "it was written by a newer release. Migrate with that release's image (or newer): set the "
                      "stack's image to it")
    made = {"source_sha256": digest, "revision_before": before, "head": head}
    if copy.is_file() and state.is_file() and json.loads(state.read_text()) == made:
        return copy, before, head
    if before != head:
        alembic_upgrade(f"sqlite:///{scratch_copy}", scratch)
    work.mkdir(parents=True, exist_ok=True)
    state.unlink(missing_ok=True)
    shutil.move(scratch_copy, copy)
    state.write_text(json.dumps(made))
    return copy, before, head


# Orphans: rows PostgreSQL could not hold ------------------------------------------------------------------------

def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def drop_orphans(db: sqlite3.Connection, tables: dict[str, Table]) -> dict[str, dict[str, Any]]:
    """Applies each foreign key's ON DELETE rule, in the copy, to the rows whose parent is gone; repeated until
    nothing changes (a child of a removed row is an orphan in its turn). Returns what was done, per table."""
    done: dict[str, dict[str, Any]] = {}
    changed = True
    while changed:
        changed = False
        for table in tables.values():
            for fk in table.foreign_keys:
                if fk.parent not in tables:
                    continue
                gone = (" AND ".join(f"c.{quoted(c)} IS NOT NULL" for c in fk.columns)
                        + f" AND NOT EXISTS (SELECT 1 FROM {quoted(fk.parent)} p WHERE "
                        + " AND ".join(f"p.{quoted(pc)} = c.{quoted(c)}" for c, pc in zip(fk.columns, fk.parent_columns))
                        + ")")
                keys = ", ".join(f"c.{quoted(k)}" for k in table.key) or "c.rowid"
                rows = db.execute(f"SELECT {keys} FROM {quoted(table.name)} c WHERE {gone}").fetchall()
                if not rows:
                    continue
                changed = True
                entry = done.setdefault(table.name, {"removed": 0, "reference_cleared": 0, "keys": []})
                entry["keys"].extend([list(r) for r in rows][:SHOWN_IN_REPORT - len(entry["keys"])])
                if fk.on_delete == "n":
                    db.execute(f"UPDATE {quoted(table.name)} AS c SET "
                               + ", ".join(f"{quoted(col)} = NULL" for col in fk.columns) + f" WHERE {gone}")
                    entry["reference_cleared"] += len(rows)
                else:
                    db.execute(f"DELETE FROM {quoted(table.name)} AS c WHERE {gone}")
                    entry["removed"] += len(rows)
                entry.setdefault("references", [])
                if f"{fk.parent}({', '.join(fk.parent_columns)})" not in entry["references"]:
                    entry["references"].append(f"{fk.parent}({', '.join(fk.parent_columns)})")
    db.commit()
    return done


# Reading and writing --------------------------------------------------------------------------------------------

def excluded(table: Table) -> tuple[str, list[Any]]:
    """The rows never carried: the stack-owned config keys."""
    if table.name == "config" and table.key == ("key",):
        return f"{quoted('key')} NOT IN ({', '.join('?' for _ in STACK_CONFIG)})", list(STACK_CONFIG)
    return "", []


def source_rows(db: sqlite3.Connection, table: Table, insert_order: bool = False) -> Iterator[tuple[Any, ...]]:
    """The copy's rows as the target holds them; in key order, or (insert_order) parents of a tree first."""
    where, params = excluded(table)
    present = {r[1] for r in db.execute(f"PRAGMA table_info({quoted(table.name)})")}
    columns = ", ".join(f"t.{quoted(c)}" if c in present else "NULL" for c in table.names)
    self_ref = table.self_reference if insert_order else None
    if self_ref:
        [col], [parent_col] = self_ref.columns, self_ref.parent_columns
        query = (f"WITH RECURSIVE depth(k, d) AS (SELECT {quoted(parent_col)}, 0 FROM {quoted(table.name)} "
                 f"WHERE {quoted(col)} IS NULL UNION SELECT c.{quoted(parent_col)}, depth.d + 1 FROM "
                 f"{quoted(table.name)} c JOIN depth ON c.{quoted(col)} = depth.k) "
                 f"SELECT {columns} FROM {quoted(table.name)} t LEFT JOIN (SELECT k, max(d) d FROM depth GROUP BY k) "
                 f"o ON o.k = t.{quoted(parent_col)}" + (f" WHERE {where.replace(quoted('key'), 't.' + quoted('key'))}"
                                                         if where else "") + " ORDER BY coalesce(o.d, 0)")
    else:
        query = (f"SELECT {columns} FROM {quoted(table.name)} t" + (f" WHERE {where}" if where else "")
                 + " ORDER BY " + ", ".join(f"t.{quoted(k)}" for k in table.key))
    types = [c.type for c in table.columns]
    cursor = db.execute(query, params)
    while rows := cursor.fetchmany(1000):
        for row in rows:
            yield tuple(to_target(v, t) for v, t in zip(row, types))


def target_rows(conn: psycopg.Connection[Any], table: Table) -> Iterator[tuple[Any, ...]]:
    """The target's rows in the same key order (text keys in byte order, as SQLite sorts them)."""
    where: sql.Composable = sql.SQL("")
    if excluded(table)[0]:
        where = sql.SQL(" WHERE {} <> ALL(%s)").format(sql.Identifier("key"))
    order = sql.SQL(", ").join(
        sql.SQL("{} COLLATE \"C\"" if c.type in TEXTS else "{}").format(sql.Identifier(c.name))
        for k in table.key for c in table.columns if c.name == k)
    query = sql.SQL("SELECT {} FROM {}{} ORDER BY {}").format(
        sql.SQL(", ").join(map(sql.Identifier, table.names)), sql.Identifier(table.name), where, order)
    with conn.cursor(name=f"verify_{table.name}") as cursor:
        cursor.itersize = 2000
        cursor.execute(query, [list(STACK_CONFIG)] if excluded(table)[0] else None)
        yield from cursor


def target_exists(conn: psycopg.Connection[Any], name: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (sql.Identifier(name).as_string(conn),)).fetchone() == (True,)


def insert(conn: psycopg.Connection[Any], table: Table, rows: Iterator[tuple[Any, ...]], batch_size: int,
           on_batch: Callable[[int], None]) -> tuple[int, list[str]]:
    """COPY each batch into a temporary table, then INSERT what is not there yet; a batch PostgreSQL refuses is
    retried row by row so that only the rows it cannot hold stay out, each named with PostgreSQL's reason."""
    inserted, refused = 0, []
    columns = sql.SQL(", ").join(map(sql.Identifier, table.names))
    create = sql.SQL("CREATE TEMP TABLE migrate_batch (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(
        sql.Identifier(table.name))
    copy = sql.SQL("COPY migrate_batch ({}) FROM STDIN").format(columns)
    move = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM migrate_batch ON CONFLICT DO NOTHING").format(
        sql.Identifier(table.name), columns, columns)

    def write(batch: list[tuple[Any, ...]]) -> int:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(create)
            with cur.copy(copy) as out:
                for row in batch:
                    out.write_row(row)
            cur.execute(move)
            return max(cur.rowcount, 0)

    def flush(batch: list[tuple[Any, ...]]) -> None:
        nonlocal inserted
        try:
            inserted += write(batch)
        except psycopg.DataError:
            for single in batch:
                try:
                    inserted += write([single])
                except psycopg.Error as e:
                    refused.append(f"{[single[i] for i in table.key_indexes]}: {str(e).splitlines()[0]}")
        on_batch(inserted)

    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= batch_size:
            flush(batch)
            batch = []
    if batch:
        flush(batch)
    return inserted, refused


# Verification ---------------------------------------------------------------------------------------------------

@dataclass
class TableReport:
    name: str
    source_rows: int = 0
    target_rows: int = 0
    inserted: int = 0
    source_checksum: str = ""
    target_checksum: str = ""
    missing: list[Any] = field(default_factory=list)
    """Keys of source rows the target lacks."""
    differing: list[Any] = field(default_factory=list)
    """Keys of rows whose target content differs from the source's (never overwritten)."""
    target_only: list[Any] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    """Rows PostgreSQL would not take, with its reason."""
    orphans: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return (not self.problems and self.source_rows == self.target_rows
                and self.source_checksum == self.target_checksum)


class Side:
    """One side's rows, canonical, hashed in key order; keys checked to arrive in strictly increasing order."""

    def __init__(self, name: str, table: Table, rows: Iterator[tuple[Any, ...]]) -> None:
        self.name, self.rows, self.types = name, rows, [c.type for c in table.columns]
        self.key_indexes = table.key_indexes
        self.digest, self.count = hashlib.sha256(), 0
        self.last_key: Optional[tuple[Any, ...]] = None

    def next(self) -> Optional[tuple[tuple[Any, ...], str]]:
        row = next(self.rows, None)
        if row is None:
            return None
        values = [canonical(v, t) for v, t in zip(row, self.types)]
        key = tuple(values[i] for i in self.key_indexes)
        if self.last_key is not None and not key > self.last_key:
            raise RuntimeError(f"{self.name} rows arrived out of key order ({self.last_key} then {key}): the key "
                               "columns hold mixed types")
        line = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
        self.digest.update(line.encode("utf-8", "surrogatepass") + b"\n")
        self.count, self.last_key = self.count + 1, key
        return key, line


def compare(table: Table, source: Iterator[tuple[Any, ...]], target: Iterator[tuple[Any, ...]],
            report: TableReport) -> None:
    """Both sides in one pass, merged by key."""
    s, t = Side("source", table, source), Side("target", table, target)
    a, b = s.next(), t.next()
    while a is not None or b is not None:
        if b is None or (a is not None and a[0] < b[0]):
            _note(report.missing, a[0] if a else None)
            a = s.next()
        elif a is None or b[0] < a[0]:
            _note(report.target_only, b[0])
            b = t.next()
        else:
            if a[1] != b[1]:
                _note(report.differing, a[0])
            a, b = s.next(), t.next()
    report.source_rows, report.target_rows = s.count, t.count
    report.source_checksum, report.target_checksum = s.digest.hexdigest(), t.digest.hexdigest()


def _note(keys: list[Any], key: Any) -> None:
    if len(keys) < SHOWN_IN_REPORT:
        keys.append(list(key) if len(key) > 1 else key[0])


# The migration ------------------------------------------------------------------------------------------------

def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    for part in (path, path.with_name(path.name + "-wal")):
        if part.is_file():
            with part.open("rb") as f:
                while block := f.read(1 << 20):
                    digest.update(block)
    return digest.hexdigest()


def target_revision(conn: psycopg.Connection[Any]) -> tuple[Optional[str], int]:
    """The target's Alembic revision (None: no history) and how many tables its schema holds."""
    tables = conn.execute("SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
                          "AND relkind = 'r'").fetchone()
    current = None
    if target_exists(conn, VERSION_TABLE):
        row = conn.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
        current = str(row[0]) if row else None
    return current, int(tables[0]) if tables else 0


def default_work(digest: str) -> Path:
    return Path(tempfile.gettempdir()) / "migrate-database" / digest[:16]


def migrate(source: Path, url: str, batch_size: int, dry_run: bool, work: Optional[Path] = None) -> dict[str, Any]:
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="migrate-database-"))
    try:
        digest = sha256(source)
        result: dict[str, Any] = {"source": str(source), "source_sha256": digest, "dry_run": dry_run}
        copy, result["revision_before"], head = prepare_source(source, digest, work or default_work(digest), scratch)
        result["head"] = head
        with connect(url, APPLICATION_NAME, autocommit=True) as conn:
            current, tables_there = target_revision(conn)
        if current is None and tables_there:
            raise Refused(f"the target database holds {tables_there} table(s) but no Alembic revision: it is not an "
                          "Open WebUI database. Give an empty database, or one Open WebUI (this release) created")
        if current is not None and current != head:
            raise Refused(f"the target database is at Alembic revision {current}, this Open WebUI's head is {head}: "
                          "run the migration with the image that database belongs to, or with an empty database")
        if current is None:
            if dry_run:
                return {**result, **dry_run_on_empty(copy), "seconds": round(time.monotonic() - started, 1)}
            alembic_upgrade(url, scratch)
        with connect(url, APPLICATION_NAME, autocommit=True) as conn:
            text_loaders(conn)
            result.update(carry(copy, conn, batch_size, dry_run))
        result["seconds"] = round(time.monotonic() - started, 1)
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def dry_run_on_empty(copy: Path) -> dict[str, Any]:
    with closing(sqlite3.connect(copy)) as db:
        counts = {t: db.execute(f"SELECT count(*) FROM {quoted(t)}").fetchone()[0]
                  for t in sorted(sqlite_tables(db) - {VERSION_TABLE})}
    return {"verified": False, "target": "empty: a real run brings it to the head first, then inserts every row",
            "tables": [asdict(TableReport(t, source_rows=n, missing=[])) for t, n in counts.items()]}


def column_problems(db: sqlite3.Connection, table: Table) -> list[str]:
    """Open WebUI's migrations leave some legacy tables shaped differently on SQLite and on PostgreSQL (document
    keeps an id column on SQLite): that only matters when a value would be lost or missing."""
    source = {r[1] for r in db.execute(f"PRAGMA table_info({quoted(table.name)})")}
    problems = []
    for column in sorted(source - set(table.names)):
        values = db.execute(f"SELECT count(*) FROM {quoted(table.name)} WHERE {quoted(column)} IS NOT NULL").fetchone()
        if values[0]:
            problems.append(f"column {column} holds {values[0]} value(s) and the target has no such column")
    lacking = sorted(set(table.names) - source)
    if lacking and db.execute(f"SELECT count(*) FROM {quoted(table.name)}").fetchone()[0]:
        problems.append(f"the source has no column {', '.join(lacking)}, which the target has")
    return problems


def progress(table: str) -> Callable[[int], None]:
    return lambda n: print(f"migrate_database: {table}: {n} row(s) inserted so far", flush=True)


def carry(copy: Path, conn: psycopg.Connection[Any], batch_size: int, dry_run: bool) -> dict[str, Any]:
    schema = read_schema(conn)
    with closing(sqlite3.connect(copy)) as db:
        here = sqlite_tables(db)
        tables = {n: t for n, t in schema.items() if n != VERSION_TABLE and n in here}
        orphans = drop_orphans(db, tables)
        reports = []
        for name in foreign_key_order(tables):
            table, report = tables[name], TableReport(name, orphans=orphans.get(name, {}))
            report.problems += column_problems(db, table)
            if not table.key:
                report.problems.append("no primary key in the target: rows cannot be matched")
            if not report.problems:
                try:
                    if not dry_run:
                        report.inserted, report.refused = insert(
                            conn, table, source_rows(db, table, insert_order=True), batch_size, progress(name))
                    with conn.transaction():
                        compare(table, source_rows(db, table), target_rows(conn, table), report)
                except Unconvertible as e:
                    report.problems.append(str(e))
            reports.append(report)
        return {
            "verified": all(r.verified for r in reports),
            "tables": [{**asdict(r), "verified": r.verified} for r in reports],
            "left_in_the_file": sorted(here - set(schema) - {VERSION_TABLE}),
            "target_only_tables": sorted(set(schema) - here - {VERSION_TABLE}),
            "stack_config_left": list(STACK_CONFIG),
        }


# Output -------------------------------------------------------------------------------------------------------

def print_result(result: dict[str, Any]) -> None:
    print(f"migrate_database: {result['source']} at {result['revision_before']}, carried at head {result['head']}"
          + (" (dry run: nothing written)" if result["dry_run"] else ""))
    if "target" in result:
        print(f"migrate_database: target {result['target']}")
    print(f"{'table':<28} {'source':>9} {'target':>9} {'inserted':>9}  checksum      result")
    for t in result["tables"]:
        state = "verified" if t.get("verified") else "NOT VERIFIED"
        print(f"{t['name']:<28} {t['source_rows']:>9} {t['target_rows']:>9} {t['inserted']:>9}  "
              f"{t['target_checksum'][:12] or '-':<12}  {state}")
        for kind in ("missing", "differing", "target_only"):
            if t[kind]:
                print(f"    {len(t[kind])}{'+' if len(t[kind]) == SHOWN_IN_REPORT else ''} {kind.replace('_', ' ')} "
                      f"(kept as the target has them): {t[kind][:SHOWN]}" if kind != "missing" else
                      f"    {len(t[kind])} missing in the target: {t[kind][:SHOWN]}")
        for line in t["refused"][:SHOWN] + t["problems"]:
            print(f"    {line}")
        if t["orphans"]:
            o = t["orphans"]
            print(f"    left out: {o['removed']} row(s), reference cleared in {o['reference_cleared']}: they refer to "
                  f"{', '.join(o['references'])} rows gone in the source too (keys {o['keys'][:SHOWN]})")
    if result.get("left_in_the_file"):
        print(f"migrate_database: not part of Open WebUI's schema, left in the file: {result['left_in_the_file']}")
    if "stack_config_left" in result:
        print(f"migrate_database: config keys the stack sets, not carried: {', '.join(result['stack_config_left'])}")
    print(f"migrate_database: {'every table verified' if result['verified'] else 'NOT every table verified'} "
          f"in {result.get('seconds', 0)} s")


def already_done(report: Path, source: Path, url: str) -> Optional[dict[str, Any]]:
    """The earlier verified run of this same file, if the target still holds what it carried: a database with an
    Open WebUI revision, that run's head or a later image's (one restored to before the run, empty, is carried
    again)."""
    try:
        earlier: dict[str, Any] = json.loads(report.read_text())
    except (OSError, ValueError):
        return None
    verified = earlier.get("verified") and not earlier.get("dry_run")
    if not verified or earlier.get("source_sha256") != sha256(source):
        return None
    with connect(url, APPLICATION_NAME, autocommit=True) as conn:
        current, _ = target_revision(conn)
    return earlier if current is not None else None


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m in_cluster.migrate_database", description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", type=Path, required=True, help="the old install's webui.db (only read)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="postgresql:// URL of the target database (default: $DATABASE_URL)")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--dry-run", action="store_true", help="read and compare everything, write nothing")
    parser.add_argument("--report", type=Path, help="write the result as JSON here")
    parser.add_argument("--work", type=Path, help="where the copy at the head is kept between runs (default: "
                        "the temporary directory's migrate-database/<source checksum>)")
    parser.add_argument("--once", action="store_true",
                        help="with --report: done if that report is a verified run of this same file")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("--database-url or DATABASE_URL is required")
    if args.batch_size < 1:
        parser.error("--batch-size must be positive")
    if args.once and not args.report:
        parser.error("--once needs --report")
    return finish("migrate_database", lambda: run(args), print_result, args.report, args.database_url)


def run(args: argparse.Namespace) -> Optional[dict[str, Any]]:
    if not args.sqlite.is_file():
        raise Refused(f"--sqlite {args.sqlite} is not a file")
    if args.once and (earlier := already_done(args.report, args.sqlite, args.database_url)):
        print(f"migrate_database: {args.sqlite} was carried across and verified before ({args.report}, head "
              f"{earlier['head']}); the database is Open WebUI's since: nothing to do")
        return None
    return migrate(args.sqlite, args.database_url, args.batch_size, args.dry_run, args.work)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
