"""Benchmark (not a test): the vector migrator on generated Chroma stores of 25,000 and 100,000 chunks of 384
dimensions into the embedded PostgreSQL, verification included. Target: at least 5,000 rows/s at 100,000, and
peak memory flat in the store's size (the two runs' peaks within 25% of each other).

The stores hold collections of 5,000 chunks (a knowledge base's worth), 5 and 20 of them: the migrator's own
memory is one batch, but chromadb loads a collection's whole vector index to read it, so what can be flat in the
store's size is everything but the largest collection's index (about 1.6 KiB per 384-dimension chunk).

    make bench-migrate
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from components.stack_config import ROOT

from testing.postgres_server import SUPERUSER, SUPERUSER_PASSWORD, start_postgres  # noqa: E402

TARGET_ROWS_PER_SECOND = 5000
SIZES = (25_000, 100_000)
COLLECTION_SIZE = 5_000


def build_store(store: Path, size: int) -> None:
    """In a child process: Linux carries a parent's peak RSS into the children it starts (ru_maxrss survives
    fork and exec), so a benchmark process that had built the store in itself would inflate the migrator's."""
    collections = {f"kb-{i}": COLLECTION_SIZE for i in range(size // COLLECTION_SIZE)}
    subprocess.run([sys.executable, "-c", f"import chroma_store, pathlib; chroma_store.build(pathlib.Path("
                    f"{str(store)!r}), {collections!r})"], cwd=ROOT / "tests", check=True, capture_output=True)


def run(store: Path, url: str, report: Path) -> tuple[dict[str, object], float, int]:
    """One migration in a child process: its report, wall time and peak RSS in MiB."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "in_cluster.migrate_vectors", "--chroma", str(store),
                                "--database-url", url, "--dimension", "384", "--report", str(report)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = __import__("os").wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"the migrator failed (status {status})")
    return json.loads(report.read_text()), elapsed, usage.ru_maxrss // 1024


def main() -> int:
    server = start_postgres()
    scratch = Path(tempfile.mkdtemp(prefix="bench-migrate-"))
    results = []
    try:
        for size in SIZES:
            store = scratch / f"store-{size}"
            started = time.perf_counter()
            build_store(store, size)
            print(f"built a Chroma store of {size:,} chunks in {time.perf_counter() - started:.0f} s")
            database = f"bench_{size}"
            with psycopg.connect(server.conninfo(), autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {database}")
            with psycopg.connect(server.conninfo(dbname=database), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION vector")
            url = (f"postgresql://{SUPERUSER}:{SUPERUSER_PASSWORD}@{server.host}:{server.port}/{database}"
                   "?sslmode=disable")
            report, elapsed, peak = run(store, url, scratch / f"report-{size}.json")
            assert report["verified"] and report["inserted"] == size
            results.append((size, size / elapsed, peak))
            print(f"migrated {size:,} rows, verified, in {elapsed:.1f} s: {size / elapsed:,.0f} rows/s; "
                  f"peak RSS {peak} MiB")
            shutil.rmtree(store)
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    (small, _, small_peak), (large, rate, large_peak) = results
    print(f"\n{large:,} rows at {rate:,.0f} rows/s (target >= {TARGET_ROWS_PER_SECOND:,}): "
          f"{'met' if rate >= TARGET_ROWS_PER_SECOND else 'NOT met'}")
    print(f"peak memory {small_peak} MiB at {small:,} rows, {large_peak} MiB at {large:,} rows: "
          f"{'flat' if large_peak <= 1.25 * small_peak else 'NOT flat'}")
    return 0


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    sys.exit(main())
