"""The data-directory copy (in_cluster/migrate_files.py): what moves, checksums, idempotence, the SQLite stop."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from in_cluster import migrate_files
from components.stack_config import ROOT


def old_data_dir(root: Path, sqlite: bool = False) -> Path:
    """An old Open WebUI DATA_DIR: uploads, a Chroma store, the caches the new deployment rebuilds."""
    (root / "uploads").mkdir(parents=True)
    (root / "uploads" / "1f0e_Bericht März.pdf").write_bytes(bytes(range(256)) * 4000)
    (root / "uploads" / "2a9c_notes.txt").write_text("Grüße\n")
    (root / "vector_db" / "a7f4").mkdir(parents=True)
    (root / "vector_db" / "chroma.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\x01" * 5000)
    (root / "vector_db" / "a7f4" / "data_level0.bin").write_bytes(b"\x02" * 3000)
    (root / "cache" / "embedding" / "models").mkdir(parents=True)
    (root / "cache" / "embedding" / "models" / "model.safetensors").write_bytes(b"\x03" * 9000)
    (root / "audit.log").write_text("started\n")
    if sqlite:
        (root / "webui.db").write_bytes(b"SQLite format 3\x00" + b"\x04" * 4000)
    return root


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "in_cluster.migrate_files", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_everything_but_the_caches_moves_verified(tmp_path: Path) -> None:
    old = old_data_dir(tmp_path / "old")
    before = digests(old)
    result = run("--source", str(old), "--target", str(tmp_path / "new"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert digests(old) == before  # only read
    assert digests(tmp_path / "new") == {k: v for k, v in before.items() if not k.startswith("cache/")}
    assert "5 file(s) copied" in result.stdout and "verified by SHA-256" in result.stdout
    assert "not copied (rebuilt): cache" in result.stdout
    assert not list((tmp_path / "new").rglob("*.partial"))


def test_a_second_run_copies_nothing(tmp_path: Path) -> None:
    old = old_data_dir(tmp_path / "old")
    run("--source", str(old), "--target", str(tmp_path / "new"))
    again = run("--source", str(old), "--target", str(tmp_path / "new"))
    assert again.returncode == 0 and "0 file(s) copied (0 bytes), 5 already there" in again.stdout


def test_a_damaged_or_partial_target_file_is_copied_again(tmp_path: Path) -> None:
    old = old_data_dir(tmp_path / "old")
    run("--source", str(old), "--target", str(tmp_path / "new"))
    (tmp_path / "new" / "uploads" / "2a9c_notes.txt").write_text("Gr")  # cut short
    result = run("--source", str(old), "--target", str(tmp_path / "new"))
    assert "1 file(s) copied" in result.stdout
    assert (tmp_path / "new" / "uploads" / "2a9c_notes.txt").read_text() == "Grüße\n"


def test_a_copy_whose_checksum_differs_is_not_put_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = old_data_dir(tmp_path / "old")
    real = migrate_files.sha256
    calls = {"n": 0}

    def flaky(path: Path) -> str:  # the second checksum of the first copy (the copy's own) comes out different
        calls["n"] += 1
        return "0" * 64 if calls["n"] == 2 else real(path)

    monkeypatch.setattr(migrate_files, "sha256", flaky)
    report = migrate_files.migrate(old, tmp_path / "new")
    assert len(report.failures) == 1 and "checksum of the copy" in report.failures[0]
    assert report.copied == 4
    assert not list((tmp_path / "new").rglob("*.partial"))


def test_the_sqlite_database_is_left_to_migrate_database(tmp_path: Path) -> None:
    old = old_data_dir(tmp_path / "old", sqlite=True)
    (old / "webui.db-wal").write_bytes(b"log")
    result = run("--source", str(old), "--target", str(tmp_path / "new"))
    assert result.returncode == 0, result.stdout
    assert "not copied (carried into PostgreSQL by migrate_database): webui.db, webui.db-wal" in result.stdout
    assert not (tmp_path / "new" / "webui.db").exists() and not (tmp_path / "new" / "webui.db-wal").exists()
    assert (tmp_path / "new" / "uploads").is_dir()


def test_a_missing_source_is_refused_as_every_migrator_refuses(tmp_path: Path) -> None:
    result = run("--source", str(tmp_path / "absent"), "--target", str(tmp_path / "new"), "--report",
                 str(tmp_path / "report.json"))
    assert result.returncode == 2
    assert result.stderr == f"migrate_files: refused, nothing written: --source {tmp_path / 'absent'} is not a directory\n"
    assert not (tmp_path / "new").exists() and not (tmp_path / "report.json").exists()
