"""Moves an Open WebUI Chroma store into pgvector, as Open WebUI 0.12.4's own document_chunk rows, verified.

    python -m in_cluster.migrate_vectors --chroma DIR --database-url URL [--dimension N] [--halfvec]
                                    [--batch-size N] [--dry-run] [--report FILE]

--database-url may come from DATABASE_URL instead; neither the URL nor its password is ever printed.

- Reads every collection of the Chroma persistent store at DIR (chromadb 1.5.9, what Open WebUI 0.12.4 pins)
  from a private copy: the Chroma client writes to a store it opens, and DIR must stay byte-identical.
- Writes rows the way Open WebUI's pgvector backend does: id, vector fitted to the column's dimension (zero-padded
  or truncated), collection_name, text, vmetadata (JSONB; lists, dicts and datetimes as strings, NUL bytes and
  lone surrogates removed). Creates document_chunk and its indexes as Open WebUI would when they are absent (the
  vector index after the load, which is far faster than maintaining it row by row). Refuses, writing nothing,
  when an existing table's vector type or dimension differs or its text and metadata are pgcrypto-encrypted.
- Each batch is one transaction: COPY (binary) into a temporary table, then INSERT ... ON CONFLICT (id) DO
  NOTHING. A second run adds nothing; a run killed mid-batch loses only that batch's transaction and the next
  run completes it.
- Verifies as it goes: every id present with its text and metadata, a sample of vectors equal as float32, and
  for a few query vectors per collection the exact top-10 neighbours by cosine distance, computed over Chroma's
  vectors while streaming them and by PostgreSQL with its vector index off.

Uses one PostgreSQL connection (the connection budget counts it so) and memory that does not grow with the
store: collections are streamed in batches. Exit status: 0 everything verified; 1 a verification failed;
2 refused (bad arguments or an incompatible table; nothing written).
Needs numpy, psycopg 3 and chromadb only: it runs in the Open WebUI image as a Job (components/data_migration.py).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import re
import shutil
import struct
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import numpy as np
import numpy.typing as npt
import psycopg

try:
    from in_cluster.migration_common import Refused, connect, finish, redact
except ImportError:  # a script beside it in the data-migration Job's ConfigMap
    from migration_common import Refused, connect, finish, redact  # type: ignore[no-redef,import-not-found]

TABLE = "document_chunk"
TOP_K = 10
QUERIES_PER_COLLECTION = 3
VECTOR_SAMPLE_EVERY = 97
"""One vector in this many (and the first of every batch) is read back and compared as float32."""
TIE_TOLERANCE = 1e-6
APPLICATION_NAME = "openwebui-migrate-vectors"
SURROGATES = re.compile("[\ud800-\udfff]")
PG_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)

Floats = npt.NDArray[np.float32]


@dataclass
class CollectionReport:
    name: str
    chroma_rows: int = 0
    postgres_rows: int = 0
    inserted: int = 0
    verified: bool = False
    problems: list[str] = field(default_factory=list)


@dataclass
class Target:
    """What document_chunk is (or will be): its vector type and dimension."""

    dimension: int
    halfvec: bool
    exists: bool

    @property
    def type_name(self) -> str:
        return f"{'halfvec' if self.halfvec else 'vector'}({self.dimension})"

    def stored(self, vectors: Floats) -> Floats:
        """The values the column holds: halfvec keeps half precision."""
        return vectors.astype(np.float16).astype(np.float32) if self.halfvec else vectors


# Open WebUI's own transformations (retrieval/vector/utils.py process_metadata, utils/misc.py sanitize_text_for_db)

def sanitize(text: str) -> str:
    return SURROGATES.sub("", text.replace("\x00", "")) if "\x00" in text or SURROGATES.search(text) else text


def process_metadata(metadata: Optional[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in (metadata or {}).items():
        if value is None:
            continue
        result[key] = sanitize(str(value)) if isinstance(value, (list, dict)) else (
            sanitize(value) if isinstance(value, str) else value)
    return result


def fit(vectors: Floats, dimension: int) -> Floats:
    """As Open WebUI's adjust_vector_length: zero-pad shorter vectors, truncate longer ones."""
    width = vectors.shape[1]
    if width == dimension:
        return vectors
    if width > dimension:
        return np.ascontiguousarray(vectors[:, :dimension])
    return np.pad(vectors, ((0, 0), (0, dimension - width)))


# Chroma -------------------------------------------------------------------------------------------

@dataclass
class Batch:
    ids: list[str]
    vectors: Floats
    texts: list[Optional[str]]
    metadatas: list[dict[str, Any]]


@contextlib.contextmanager
def open_chroma(copy: Path) -> Iterator[Any]:
    """A client on the copy, whose caches are dropped on exit: chromadb loads a collection's whole vector index to
    read its vectors and keeps it while the client lives, so one client per collection keeps memory to the
    largest collection's index instead of the whole store's."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(path=str(copy), settings=Settings(anonymized_telemetry=False))
    try:
        yield client
    finally:
        client.clear_system_cache()
        del client
        gc.collect()  # the index goes with the last reference to the client's system, some held in cycles


def read_batches(collection: Any, batch_size: int, dimension: int) -> Iterator[Batch]:
    offset = 0
    while True:
        got = collection.get(limit=batch_size, offset=offset, include=["embeddings", "documents", "metadatas"])
        if not got["ids"]:
            return
        vectors = fit(np.asarray(got["embeddings"], dtype=np.float32), dimension)
        yield Batch(list(got["ids"]), vectors,
                    [sanitize(t) if isinstance(t, str) else None for t in got["documents"]],
                    [process_metadata(m) for m in got["metadatas"]])
        offset += len(got["ids"])


class Neighbours:
    """Exact top-k by cosine distance for a few query vectors, kept while the collection streams past."""

    def __init__(self, queries: Floats) -> None:
        self.queries = queries.astype(np.float64)
        self.norms = np.linalg.norm(self.queries, axis=1)
        self.best: list[list[tuple[float, str]]] = [[] for _ in range(len(queries))]

    def add(self, ids: Sequence[str], vectors: Floats) -> None:
        v = vectors.astype(np.float64)
        norms = np.linalg.norm(v, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            distances = 1.0 - (v @ self.queries.T) / np.outer(norms, self.norms)
        for q in range(len(self.queries)):
            column = distances[:, q]
            keep = np.argsort(column, kind="stable")[:TOP_K]
            merged = self.best[q] + [(float(column[i]), ids[i]) for i in keep if np.isfinite(column[i])]
            self.best[q] = sorted(merged)[:TOP_K]


# PostgreSQL ---------------------------------------------------------------------------------------

def inspect_target(conn: psycopg.Connection[Any], dimension: Optional[int], halfvec: bool) -> Target:
    columns = dict(conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped", (TABLE,)).fetchall())
    if not columns:
        if dimension is None:
            raise Refused(f"{TABLE} does not exist yet, so its dimension must be given: pass --dimension with the "
                          "PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH the new Open WebUI runs with (384 for all-MiniLM-L6-v2).")
        if dimension > 2000 and not halfvec:
            raise Refused(f"--dimension {dimension}: pgvector indexes at most 2000 dimensions as vector; pass --halfvec "
                          "(PGVECTOR_USE_HALFVEC=true in Open WebUI).")
        return Target(dimension, halfvec, exists=False)
    if columns.get("text") == "bytea" or columns.get("vmetadata") == "bytea":
        raise Refused(f"{TABLE} stores text and metadata encrypted (PGVECTOR_PGCRYPTO); this migrator writes them "
                      "in the clear and will not mix the two. Migrate into a database without PGVECTOR_PGCRYPTO.")
    match = re.fullmatch(r"(vector|halfvec)\((\d+)\)", columns.get("vector", ""))
    if not match:
        raise Refused(f"{TABLE}.vector is {columns.get('vector')!r}, not pgvector's vector(N) or halfvec(N).")
    existing = Target(int(match.group(2)), match.group(1) == "halfvec", exists=True)
    wanted = Target(dimension if dimension is not None else existing.dimension, halfvec, exists=True)
    if wanted.type_name != existing.type_name:
        raise Refused(f"{TABLE}.vector is {existing.type_name} but this migration was asked for {wanted.type_name} "
                      f"(--dimension{', --halfvec' if halfvec else ''}); Open WebUI refuses to start on a mismatch. "
                      f"Pass --dimension {existing.dimension}{' --halfvec' if existing.halfvec else ''}, or migrate "
                      "into another database.")
    return existing


def create_table(conn: psycopg.Connection[Any], target: Target) -> None:
    """document_chunk as Open WebUI's SQLAlchemy model creates it (without pgcrypto)."""
    conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id TEXT NOT NULL, vector {target.type_name}, "
                 "collection_name TEXT NOT NULL, text TEXT, vmetadata JSONB, PRIMARY KEY (id))")


def create_indexes(conn: psycopg.Connection[Any], target: Target) -> list[str]:
    """Open WebUI's indexes (PgvectorClient.__init__), with its env variables and defaults; returns what it did."""
    method = os.environ.get("PGVECTOR_INDEX_METHOD") or ("hnsw" if target.halfvec else "ivfflat")
    opclass = "halfvec_cosine_ops" if target.halfvec else "vector_cosine_ops"
    lists = int(os.environ.get("PGVECTOR_IVFFLAT_LISTS", "100"))
    options = (f"WITH (m = {int(os.environ.get('PGVECTOR_HNSW_M', '16'))}, "
               f"ef_construction = {int(os.environ.get('PGVECTOR_HNSW_EF_CONSTRUCTION', '64'))})"
               if method == "hnsw" else f"WITH (lists = {lists})")
    done = []
    rows = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {TABLE} LIMIT %s) AS sample", (50 * lists,)).fetchone()
    if method == "hnsw" or (rows and rows[0] >= 50 * lists):
        conn.execute(f"CREATE INDEX IF NOT EXISTS idx_document_chunk_vector ON {TABLE} USING {method} "
                     f"(vector {opclass}) {options}")
        done.append(f"idx_document_chunk_vector ({method})")
    conn.execute(f"CREATE INDEX IF NOT EXISTS idx_document_chunk_text_search ON {TABLE} "
                 "USING GIN (to_tsvector('simple', coalesce(text, '')))")
    conn.execute(f"CREATE INDEX IF NOT EXISTS idx_document_chunk_collection_name ON {TABLE} (collection_name)")
    conn.commit()
    return done + ["idx_document_chunk_text_search", "idx_document_chunk_collection_name"]


def copy_stream(batch: Batch, collection: str, target: Target) -> bytes:
    """The batch in PostgreSQL's binary COPY format: pgvector's own binary layout for the vector column."""
    vectors = batch.vectors.astype(">f2" if target.halfvec else ">f4")
    vector_header = struct.pack(">hh", target.dimension, 0)
    name = collection.encode()
    out = bytearray(PG_COPY_HEADER)

    def put(value: Optional[bytes]) -> None:
        if value is None:
            out.extend(struct.pack(">i", -1))
        else:
            out.extend(struct.pack(">i", len(value)))
            out.extend(value)

    for i, chunk_id in enumerate(batch.ids):
        out.extend(struct.pack(">h", 5))
        put(chunk_id.encode())
        put(vector_header + vectors[i].tobytes())
        put(name)
        text = batch.texts[i]
        put(text.encode() if text is not None else None)
        put(b"\x01" + json.dumps(batch.metadatas[i], ensure_ascii=False).encode())  # jsonb binary: version 1
    out.extend(struct.pack(">h", -1))
    return bytes(out)


def write_batch(conn: psycopg.Connection[Any], batch: Batch, collection: str, target: Target) -> int:
    """One transaction: COPY into the session's staging table, then insert what is not there yet."""
    with conn.transaction():
        with conn.cursor().copy(
                "COPY migrate_chunk (id, vector, collection_name, text, vmetadata) FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.write(copy_stream(batch, collection, target))
        inserted = conn.execute(f"INSERT INTO {TABLE} (id, vector, collection_name, text, vmetadata) "
                                "SELECT id, vector, collection_name, text, vmetadata FROM migrate_chunk "
                                "ON CONFLICT (id) DO NOTHING").rowcount
    return max(inserted, 0)


def verify_batch(conn: psycopg.Connection[Any], batch: Batch, collection: str, target: Target) -> list[str]:
    send = "halfvec_send" if target.halfvec else "vector_send"
    sampled = set(range(0, len(batch.ids), VECTOR_SAMPLE_EVERY))
    rows = {r[0]: r[1:] for r in conn.execute(
        f"SELECT id, collection_name, text, vmetadata, CASE WHEN id = ANY(%s) THEN {send}(vector) END "
        f"FROM {TABLE} WHERE id = ANY(%s)", ([batch.ids[i] for i in sampled], batch.ids)).fetchall()}
    conn.commit()
    problems = []
    for i, chunk_id in enumerate(batch.ids):
        row = rows.get(chunk_id)
        if row is None:
            problems.append(f"{chunk_id}: missing")
            continue
        stored_collection, text, metadata, vector = row
        if stored_collection != collection:
            problems.append(f"{chunk_id}: in collection {stored_collection!r} already (ids are global)")
        elif text != batch.texts[i]:
            problems.append(f"{chunk_id}: text differs")
        elif metadata != batch.metadatas[i]:
            problems.append(f"{chunk_id}: metadata differs")
        elif i in sampled:
            stored = np.frombuffer(bytes(vector)[4:], dtype=">f2" if target.halfvec else ">f4").astype(np.float32)
            if not np.array_equal(stored, target.stored(batch.vectors[i:i + 1])[0]):
                problems.append(f"{chunk_id}: vector differs")
    return problems


def verify_neighbours(conn: psycopg.Connection[Any], neighbours: Neighbours, collection: str,
                      target: Target) -> list[str]:
    problems = []
    for q, query in enumerate(neighbours.queries):
        literal = "[" + ",".join(repr(float(x)) for x in query) + "]"
        with conn.transaction():
            conn.execute("SET LOCAL enable_indexscan = off")  # exact: the ANN index would answer approximately
            got = conn.execute(
                f"SELECT id, vector <=> %s::{target.type_name} AS d FROM {TABLE} WHERE collection_name = %s "
                "ORDER BY d, id LIMIT %s", (literal, collection, TOP_K)).fetchall()
        expected = neighbours.best[q]
        same = [r[0] for r in got] == [e[1] for e in expected]
        ties = len(got) == len(expected) and all(abs(float(r[1]) - e[0]) <= TIE_TOLERANCE for r, e in zip(got, expected))
        if not same and not ties:
            problems.append(f"query {q}: top-{TOP_K} by cosine distance differ (Chroma {[e[1] for e in expected]}, "
                            f"PostgreSQL {[r[0] for r in got]})")
    return problems


# The run ------------------------------------------------------------------------------------------

class Progress:
    def __init__(self, total: int) -> None:
        self.total, self.done, self.started, self.shown = max(total, 1), 0, time.monotonic(), -1
        self.tty = sys.stderr.isatty()

    def advance(self, rows: int) -> None:
        self.done += rows
        fraction = self.done / self.total
        rate = self.done / max(time.monotonic() - self.started, 1e-9)
        bar = "#" * int(30 * fraction) + "." * (30 - int(30 * fraction))
        line = f"[{bar}] {self.done:,}/{self.total:,} rows  {rate:,.0f} rows/s"
        if self.tty:
            print(f"\r{line}", end="", file=sys.stderr, flush=True)
        elif int(fraction * 10) != self.shown:
            self.shown = int(fraction * 10)
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty:
            print(file=sys.stderr)


def migrate(chroma_dir: Path, url: str, dimension: Optional[int], halfvec: bool, batch_size: int,
            dry_run: bool) -> dict[str, Any]:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chroma-copy-") as scratch:
        copy = Path(scratch) / "store"
        shutil.copytree(chroma_dir, copy)
        with open_chroma(copy) as client:
            names = [c.name for c in client.list_collections()]
        counts = {}
        for name in names:  # counting loads a collection's index too: one client at a time
            with open_chroma(copy) as client:
                counts[name] = client.get_collection(name, embedding_function=None).count()
        reports = [CollectionReport(name, chroma_rows=counts[name]) for name in sorted(counts)]
        with connect(url, APPLICATION_NAME) as conn:
            target = inspect_target(conn, dimension, halfvec)
            if dry_run:
                conn.rollback()
                return summary(reports, target, started, dry_run=True, indexes=[])
            if not target.exists:
                create_table(conn, target)
            conn.execute(f"CREATE TEMP TABLE migrate_chunk (LIKE {TABLE}) ON COMMIT DELETE ROWS")
            conn.commit()
            progress = Progress(sum(counts.values()))
            for report in reports:
                with open_chroma(copy) as client:
                    migrate_collection(conn, client.get_collection(report.name, embedding_function=None), report,
                                       target, batch_size, progress)
            progress.close()
            indexes = create_indexes(conn, target)
    return summary(reports, target, started, dry_run=False, indexes=indexes)


def migrate_collection(conn: psycopg.Connection[Any], collection: Any, report: CollectionReport, target: Target,
                       batch_size: int, progress: Progress) -> None:
    neighbours: Optional[Neighbours] = None
    for batch in read_batches(collection, batch_size, target.dimension):
        stored = target.stored(batch.vectors)
        if neighbours is None:
            neighbours = Neighbours(stored[:QUERIES_PER_COLLECTION])
        neighbours.add(batch.ids, stored)
        report.inserted += write_batch(conn, batch, report.name, target)
        report.problems += verify_batch(conn, batch, report.name, target)
        progress.advance(len(batch.ids))
    if neighbours is not None:
        report.problems += verify_neighbours(conn, neighbours, report.name, target)
    row = conn.execute(f"SELECT count(*) FROM {TABLE} WHERE collection_name = %s", (report.name,)).fetchone()
    conn.commit()
    report.postgres_rows = int(row[0]) if row else 0
    if report.postgres_rows != report.chroma_rows:
        report.problems.append(f"{report.chroma_rows} rows in Chroma, {report.postgres_rows} in PostgreSQL")
    report.verified = not report.problems


def summary(reports: list[CollectionReport], target: Target, started: float, dry_run: bool,
            indexes: list[str]) -> dict[str, Any]:
    elapsed = time.monotonic() - started
    rows = sum(r.chroma_rows for r in reports)
    return {"dry_run": dry_run, "table": TABLE, "vector_type": target.type_name, "table_existed": target.exists,
            "collections": [asdict(r) for r in reports], "rows": rows,
            "inserted": sum(r.inserted for r in reports), "seconds": round(elapsed, 3),
            "rows_per_second": round(rows / elapsed, 1) if elapsed else None, "indexes": indexes,
            "verified": not dry_run and all(r.verified for r in reports)}


def print_table(result: dict[str, Any]) -> None:
    width = max([len("collection")] + [len(c["name"]) for c in result["collections"]]) + 2
    print(f"{'collection':<{width}}{'chroma':>10}{'postgres':>10}{'inserted':>10}  verified")
    for c in result["collections"]:
        verified = "dry run" if result["dry_run"] else ("yes" if c["verified"] else "NO")
        print(f"{c['name']:<{width}}{c['chroma_rows']:>10}{c['postgres_rows']:>10}{c['inserted']:>10}  {verified}")
        for problem in c["problems"][:5]:
            print(f"    {problem}")
        if len(c["problems"]) > 5:
            print(f"    ... and {len(c['problems']) - 5} more")
    print(f"{result['rows']} rows in {len(result['collections'])} collections into {result['table']} "
          f"({result['vector_type']}); inserted {result['inserted']}; {result['seconds']} s, "
          f"{result['rows_per_second']} rows/s" + (f"; indexes: {', '.join(result['indexes'])}" if result["indexes"] else ""))


def limit_malloc_arenas() -> None:
    """glibc gives each thread that allocates its own malloc arena, and chromadb's reader threads leave them
    fragmented: resident memory then creeps up collection after collection. Two arenas keep it flat (the same
    as MALLOC_ARENA_MAX=2, set from inside because the Job's command cannot count on the variable)."""
    import ctypes
    import ctypes.util

    libc = ctypes.util.find_library("c")
    if sys.platform.startswith("linux") and libc:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(libc).mallopt(-8, 2)  # M_ARENA_MAX


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m in_cluster.migrate_vectors", description=__doc__.splitlines()[0])
    parser.add_argument("--chroma", type=Path, required=True, help="the Chroma store (Open WebUI's DATA_DIR/vector_db)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="postgresql:// URL of the target database (default: $DATABASE_URL)")
    parser.add_argument("--dimension", type=int, help="vector dimension; default: the existing table's")
    parser.add_argument("--halfvec", action="store_true", help="halfvec column (PGVECTOR_USE_HALFVEC=true)")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--dry-run", action="store_true", help="read and check everything, write nothing")
    parser.add_argument("--report", type=Path, help="write the result as JSON here")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("--database-url or DATABASE_URL is required")
    if args.batch_size < 1 or (args.dimension is not None and args.dimension < 1):
        parser.error("--batch-size and --dimension must be positive")
    limit_malloc_arenas()
    return finish("migrate_vectors", lambda: run(args), print_table, args.report, args.database_url)


def run(args: argparse.Namespace) -> dict[str, Any]:
    if not (args.chroma / "chroma.sqlite3").is_file():
        raise Refused(f"{args.chroma} is not a Chroma persistent store (no chroma.sqlite3)")
    return migrate(args.chroma, args.database_url, args.dimension, args.halfvec, args.batch_size, args.dry_run)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
