"""The vector migrator against a real Chroma store (chromadb 1.5.9) and the embedded PostgreSQL with pgvector."""

from __future__ import annotations

import contextlib
import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import psycopg
import pytest

import chroma_store
from in_cluster import migrate_vectors
from testing.postgres_server import SUPERUSER, SUPERUSER_PASSWORD, RunningPostgres
from components.stack_config import ROOT

ROWS = 3000
COLLECTIONS = chroma_store.open_webui_collections(ROWS)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("chroma") / "vector_db"
    chroma_store.build(path, COLLECTIONS)
    return path


@pytest.fixture
def vector_db(postgres: RunningPostgres, database: str) -> Iterator[str]:
    """A fresh database with the vector extension (as PgExtension leaves it), as a URL."""
    with psycopg.connect(postgres.conninfo(dbname=database), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION vector")
    yield f"postgresql://{SUPERUSER}:{SUPERUSER_PASSWORD}@{postgres.host}:{postgres.port}/{database}?sslmode=disable"


def migrate(store: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """The migrator's command line in this process (chromadb imported once per worker, not per run), its exit
    status and output; the tests that kill it or set its environment start it as the Job does."""
    argv = ["--chroma", str(store), "--database-url", url, "--batch-size", "400", *extra]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = migrate_vectors.main(argv)
    return subprocess.CompletedProcess(argv, status, out.getvalue(), err.getvalue())


def query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def chroma_vectors(store: Path, scratch: Path) -> dict[str, np.ndarray]:
    """Every vector as Chroma returns it, read from a copy (opening a store writes to it)."""
    import shutil

    import chromadb
    from chromadb.config import Settings

    copy = scratch / "copy"
    shutil.copytree(store, copy)
    client = chromadb.PersistentClient(path=str(copy), settings=Settings(anonymized_telemetry=False))
    vectors = {}
    for collection in client.list_collections():
        got = client.get_collection(collection.name, embedding_function=None).get(include=["embeddings"])
        vectors.update(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32)))
    return vectors


def expected_rows() -> dict[str, tuple[str, chroma_store.Chunk]]:
    return {chunk.id: (name, chunk) for seed, (name, count) in enumerate(COLLECTIONS.items())
            for chunk in chroma_store.chunks(name, count, seed)}


def test_migrates_every_collection_losslessly(store: Path, vector_db: str, tmp_path: Path) -> None:
    before = chroma_store.tree_digest(store)
    result = migrate(store, vector_db, "--dimension", "384", "--report", str(tmp_path / "report.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert chroma_store.tree_digest(store) == before  # the source is byte-identical

    report = json.loads((tmp_path / "report.json").read_text())
    assert report["verified"] is True and report["inserted"] == ROWS
    assert {c["name"]: (c["chroma_rows"], c["postgres_rows"], c["verified"]) for c in report["collections"]} == {
        name: (count, count, True) for name, count in COLLECTIONS.items()}
    assert "knowledge-bases" in result.stdout and "yes" in result.stdout

    # Independently of the tool's own checks: every row as Open WebUI would have written it.
    expected = expected_rows()
    in_chroma = chroma_vectors(store, tmp_path)
    rows = query(vector_db, "SELECT id, collection_name, text, vmetadata, vector_send(vector) FROM document_chunk")
    assert len(rows) == ROWS and {r[0] for r in rows} == set(expected)
    for chunk_id, collection, text, metadata, vector in rows:
        name, chunk = expected[chunk_id]
        assert (collection, text) == (name, chunk.text)
        assert metadata == {**chunk.metadata, "headings": "['Einführung', 'Ergebnis']"}  # lists as Open WebUI stores them
        stored = np.frombuffer(bytes(vector)[4:], ">f4")
        # Equal as float32 to what Chroma holds. Chroma's cosine space keeps vectors normalised and hands them back
        # scaled, within a few ulps of what was added: that is the source of truth here.
        assert np.array_equal(stored, in_chroma[chunk_id])
        assert np.allclose(stored, chunk.vector, rtol=1e-6, atol=1e-6)

    # nearest neighbours by cosine distance: PostgreSQL (exact scan) and numpy over the source vectors agree
    name = next(iter(COLLECTIONS))
    chunks = [c for n, c in expected.values() if n == name]
    probe = chunks[7].vector
    matrix = np.stack([c.vector for c in chunks]).astype(np.float64)
    cosine = 1 - matrix @ probe / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(probe))
    top = [chunks[i].id for i in np.argsort(cosine)[:10]]
    literal = "[" + ",".join(repr(float(x)) for x in probe) + "]"
    got = query(vector_db, "SELECT id FROM document_chunk WHERE collection_name = %s ORDER BY vector <=> %s::vector "
                           "LIMIT 10", name, literal)
    assert [r[0] for r in got] == top


def test_table_and_indexes_are_open_webuis(store: Path, vector_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGVECTOR_INDEX_METHOD", "hnsw")
    assert migrate(store, vector_db, "--dimension", "384").returncode == 0
    columns = dict(query(vector_db, "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
                                    "attrelid = 'document_chunk'::regclass AND attnum > 0 AND NOT attisdropped"))
    assert columns == {"id": "text", "vector": "vector(384)", "collection_name": "text", "text": "text",
                       "vmetadata": "jsonb"}
    indexes = dict(query(vector_db, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'document_chunk'"))
    assert "USING hnsw (vector vector_cosine_ops) WITH (m='16', ef_construction='64')" in indexes["idx_document_chunk_vector"]
    assert "to_tsvector('simple'::regconfig, COALESCE(text, ''::text))" in indexes["idx_document_chunk_text_search"]
    assert "(collection_name)" in indexes["idx_document_chunk_collection_name"]


def test_a_second_run_adds_nothing(store: Path, vector_db: str, tmp_path: Path) -> None:
    assert migrate(store, vector_db, "--dimension", "384").returncode == 0
    again = migrate(store, vector_db, "--report", str(tmp_path / "again.json"))  # dimension from the table now
    assert again.returncode == 0, again.stdout + again.stderr
    report = json.loads((tmp_path / "again.json").read_text())
    assert report["inserted"] == 0 and report["verified"] is True
    assert query(vector_db, "SELECT count(*) FROM document_chunk") == [(ROWS,)]


def test_a_run_killed_mid_way_completes_on_the_next(store: Path, vector_db: str) -> None:
    # Slow each batch down on the server so that the kill lands mid-migration.
    with psycopg.connect(vector_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE document_chunk (id TEXT NOT NULL, vector vector(384), collection_name TEXT NOT "
                     "NULL, text TEXT, vmetadata JSONB, PRIMARY KEY (id))")
        conn.execute("CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.3); "
                     "RETURN NULL; END $$")
        conn.execute("CREATE TRIGGER slow AFTER INSERT ON document_chunk FOR EACH STATEMENT EXECUTE FUNCTION slow()")
    process = subprocess.Popen([sys.executable, "-m", "in_cluster.migrate_vectors", "--chroma", str(store),
                                "--database-url", vector_db, "--batch-size", "200"], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while query(vector_db, "SELECT count(*) FROM document_chunk")[0][0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    partial = query(vector_db, "SELECT count(*) FROM document_chunk")[0][0]
    assert 0 < partial < ROWS
    assert partial % 200 == 0 or partial in _collection_prefix_sums()  # whole batches only: each is a transaction

    with psycopg.connect(vector_db, autocommit=True) as conn:
        conn.execute("DROP TRIGGER slow ON document_chunk")
    result = migrate(store, vector_db)
    assert result.returncode == 0, result.stdout + result.stderr
    assert query(vector_db, "SELECT count(*) FROM document_chunk") == [(ROWS,)]


def _collection_prefix_sums() -> set[int]:
    """Counts that end a collection (its last batch may be short), plus whole batches of the next."""
    sums, total = set(), 0
    for count in [COLLECTIONS[name] for name in sorted(COLLECTIONS)]:
        sums |= {total + k * 200 for k in range(count // 200 + 1)}
        total += count
        sums.add(total)
    return sums


@pytest.mark.parametrize("existing,args,says", [
    ("vector(768)", ["--dimension", "384"], "document_chunk.vector is vector(768) but this migration was asked for vector(384)"),
    ("halfvec(384)", ["--dimension", "384"], "halfvec(384) but this migration was asked for vector(384)"),
    ("vector(384)", ["--dimension", "384", "--halfvec"], "vector(384) but this migration was asked for halfvec(384)"),
])
def test_a_mismatched_table_is_refused_and_nothing_written(store: Path, vector_db: str, existing: str,
                                                           args: list[str], says: str) -> None:
    with psycopg.connect(vector_db, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE document_chunk (id TEXT PRIMARY KEY, vector {existing}, collection_name TEXT NOT "
                     "NULL, text TEXT, vmetadata JSONB)")
    result = migrate(store, vector_db, *args)
    assert result.returncode == 2
    assert "refused, nothing written" in result.stderr and says in result.stderr
    assert query(vector_db, "SELECT count(*) FROM document_chunk") == [(0,)]


def test_an_encrypted_table_is_refused(store: Path, vector_db: str) -> None:
    with psycopg.connect(vector_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE document_chunk (id TEXT PRIMARY KEY, vector vector(384), collection_name TEXT NOT "
                     "NULL, text BYTEA, vmetadata BYTEA)")
    result = migrate(store, vector_db, "--dimension", "384")
    assert result.returncode == 2 and "PGVECTOR_PGCRYPTO" in result.stderr
    assert query(vector_db, "SELECT count(*) FROM document_chunk") == [(0,)]


def test_no_table_and_no_dimension_is_refused(store: Path, vector_db: str) -> None:
    result = migrate(store, vector_db)
    assert result.returncode == 2 and "pass --dimension" in result.stderr
    assert query(vector_db, "SELECT to_regclass('document_chunk')") == [(None,)]


def test_dry_run_writes_nothing(store: Path, vector_db: str) -> None:
    result = migrate(store, vector_db, "--dimension", "384", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "dry run" in result.stdout and f"{ROWS} rows" in result.stdout
    assert query(vector_db, "SELECT to_regclass('document_chunk')") == [(None,)]


def test_vectors_are_fitted_as_open_webui_fits_them(store: Path, vector_db: str) -> None:
    # 384-dimension vectors into a 512 column: zero-padded, like PgvectorClient.adjust_vector_length
    assert migrate(store, vector_db, "--dimension", "512").returncode == 0
    [(vector,)] = query(vector_db, "SELECT vector_send(vector) FROM document_chunk LIMIT 1")
    values = np.frombuffer(bytes(vector)[4:], ">f4")
    assert len(values) == 512 and not values[384:].any() and values[:384].any()


def test_halfvec_column(store: Path, vector_db: str) -> None:
    result = migrate(store, vector_db, "--dimension", "384", "--halfvec")
    assert result.returncode == 0, result.stdout + result.stderr
    assert query(vector_db, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                            "'document_chunk'::regclass AND attname = 'vector'") == [("halfvec(384)",)]


def test_the_url_and_its_password_are_never_printed(store: Path, vector_db: str) -> None:
    wrong = vector_db.replace(SUPERUSER_PASSWORD, "Sekr3t-n0t-this")
    result = migrate(store, wrong, "--dimension", "384")
    assert result.returncode == 1 and "password authentication failed" in result.stderr
    assert "Sekr3t-n0t-this" not in result.stdout + result.stderr
    assert wrong not in result.stdout + result.stderr


def test_database_url_may_come_from_the_environment(store: Path, vector_db: str) -> None:
    result = subprocess.run([sys.executable, "-m", "in_cluster.migrate_vectors", "--chroma", str(store), "--dimension", "384",
                             "--dry-run"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**__import__("os").environ, "DATABASE_URL": vector_db})
    assert result.returncode == 0, result.stderr
