"""Benchmark (not a test): in_cluster/migrate_database.py on generated webui.db files of 25,000 and 100,000 chats
(about 90 and 370 MiB) into the embedded PostgreSQL, verification included, with Open WebUI 0.12.4's own Alembic
(build/open-webui). Target: 100,000 chats in at most 60 s on 2 cores, and peak memory flat in the database's size
(the two runs' peaks within 25% of each other).

Each file is the 0.12.4 fixture (a real install, at the head) with chats added as the web client saves them: a
two-message history in the chat's JSON and its two chat_message rows: about 3.8 KB a chat in 0.12.4's schema,
which keeps every message twice and indexes the two tables 17 ways.

    make bench-database
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from itertools import islice
from pathlib import Path
from typing import Any, Iterator

import psycopg

from components.stack_config import ROOT
from testing.postgres_server import SUPERUSER, SUPERUSER_PASSWORD, start_postgres

TARGET_SECONDS = 60
SIZES = (25_000, 100_000)
FIXTURE = ROOT / "tests" / "fixtures" / "webui-0.12.4.db"
OPEN_WEBUI = ROOT / "build" / "open-webui"
ANSWER = ("Size the pool from the server's limit: replicas times (pool + overflow) must stay below max_connections "
          "minus what Azure reserves.")


def chats(user_id: str, count: int) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    now = int(time.time())
    for n in range(count):
        chat_id, question, answer = (secrets.token_hex(16) for _ in range(3))
        at = now - count + n
        messages: list[dict[str, Any]] = [
            {"id": question, "parentId": None, "childrenIds": [answer], "role": "user",
             "content": f"Question {n}: how should the pool be sized?", "timestamp": at},
            {"id": answer, "parentId": question, "childrenIds": [], "role": "assistant", "content": ANSWER,
             "model": "llama3:8b", "done": True, "timestamp": at},
        ]
        chat = {"title": f"Chat {n}", "models": ["llama3:8b"], "messages": messages,
                "history": {"currentId": answer, "messages": {m["id"]: m for m in messages}}}
        yield ((chat_id, user_id, f"Chat {n}", at, at, None, False, json.dumps(chat), False, "{}", None, at),
               [(question, chat_id, user_id, "user", None, json.dumps(messages[0]["content"]), None, None, True, at,
                 at),
                (answer, chat_id, user_id, "assistant", question, json.dumps(ANSWER), "llama3:8b", None, True, at,
                 at)])


def generate(path: Path, count: int) -> None:
    shutil.copyfile(FIXTURE, path)
    with closing(sqlite3.connect(path)) as db:
        user_id = db.execute("SELECT id FROM user ORDER BY created_at LIMIT 1").fetchone()[0]
        rows = chats(user_id, count)
        while batch := list(islice(rows, 5000)):
            db.executemany("INSERT INTO chat (id, user_id, title, created_at, updated_at, share_id, archived, chat, "
                           "pinned, meta, folder_id, last_read_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           [c for c, _ in batch])
            db.executemany("INSERT INTO chat_message (id, chat_id, user_id, role, parent_id, content, model_id, "
                           "files, done, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           [m for _, ms in batch for m in ms])
            db.commit()


def run(source: Path, url: str, work: Path) -> tuple[dict[str, Any], float, int]:
    """One migration in a child process: its report, wall time and peak RSS in MiB (of the migrator and the
    Alembic it starts, whichever is larger: wait4 reports the largest of a process tree)."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "in_cluster.migrate_database", "--sqlite", str(source),
                                "--database-url", url, "--work", str(work), "--report", str(work / "report.json")],
                               cwd=ROOT, env={**os.environ, "PYTHONPATH": f"{OPEN_WEBUI}:{ROOT}"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"the migrator failed (status {status}): {process.stderr.read() if process.stderr else ''}")
    report: dict[str, Any] = json.loads((work / "report.json").read_text())
    return report, elapsed, usage.ru_maxrss // 1024


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--generate":
        generate(Path(sys.argv[2]), int(sys.argv[3]))
        return 0
    if not (OPEN_WEBUI / ".installed").exists():
        raise SystemExit("the Open WebUI wheel is not installed: make build/open-webui/.installed")
    server = start_postgres()
    scratch = Path(tempfile.mkdtemp(prefix="bench-database-"))
    results = []
    try:
        for size in SIZES:
            source = scratch / f"webui-{size}.db"
            started = time.perf_counter()
            # In a child process: Linux carries a parent's peak RSS into the children it starts.
            subprocess.run([sys.executable, "-m", "benchmarks.migrate_database", "--generate", str(source),
                            str(size)], cwd=ROOT, check=True)
            print(f"generated a webui.db of {size:,} chats, {source.stat().st_size / 2**20:.0f} MiB, in "
                  f"{time.perf_counter() - started:.0f} s")
            database = f"bench_{size}"
            with psycopg.connect(server.conninfo(), autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {database}")
            url = (f"postgresql://{SUPERUSER}:{SUPERUSER_PASSWORD}@{server.host}:{server.port}/{database}"
                   "?sslmode=disable")
            report, elapsed, peak = run(source, url, scratch / f"work-{size}")
            tables = {t["name"]: t for t in report["tables"]}
            assert report["verified"] and tables["chat"]["inserted"] == size + 9, tables["chat"]
            rows = sum(t["inserted"] for t in tables.values())
            results.append((size, elapsed, peak))
            print(f"migrated {size:,} chats ({rows:,} rows), verified, in {elapsed:.1f} s; peak RSS {peak} MiB")
            source.unlink()
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    (small, _, small_peak), (large, seconds, large_peak) = results
    print(f"\n{large:,} chats in {seconds:.1f} s (target <= {TARGET_SECONDS} s): "
          f"{'met' if seconds <= TARGET_SECONDS else 'NOT met'}")
    print(f"peak memory {small_peak} MiB at {small:,} chats, {large_peak} MiB at {large:,} chats: "
          f"{'flat' if large_peak <= 1.25 * small_peak else 'NOT flat'}")
    return 0


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    sys.exit(main())
