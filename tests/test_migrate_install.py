"""The data-migration Job's program (in_cluster/migrate_install.py): the migrators in order, for what the old data
directory holds, stopping at the first that fails."""

import subprocess
import sys
from pathlib import Path

from components.stack_config import ROOT
from in_cluster.migrate_install import steps


def old_install(root: Path, sqlite: bool = False, chroma: bool = False) -> Path:
    (root / "uploads").mkdir(parents=True)
    (root / "uploads" / "a.txt").write_text("kept")
    if sqlite:
        (root / "webui.db").write_text("not a database")
    if chroma:
        (root / "vector_db").mkdir()
        (root / "vector_db" / "chroma.sqlite3").write_text("")
    return root


def test_the_database_then_the_files_then_the_vectors_for_what_is_there(tmp_path: Path) -> None:
    full = steps(old_install(tmp_path / "full", sqlite=True, chroma=True), Path("/t"), Path("/r"), 768, True)
    assert [step[0] for step in full] == ["migrate_database.py", "migrate_files.py", "migrate_vectors.py"]
    assert full[0][-1] == "--once" and full[2][-3:] == ["--report", "/r/vectors.json", "--halfvec"]
    assert full[2][3:5] == ["--dimension", "768"]
    assert all((ROOT / "in_cluster" / step[0]).is_file() for step in full)  # shipped beside it, in the ConfigMap
    files_only = steps(old_install(tmp_path / "files"), Path("/t"), Path("/r"), 384, False)
    assert [step[0] for step in files_only] == ["migrate_files.py"]


def run(old: Path, target: Path, reports: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "in_cluster" / "migrate_install.py"), "--old-data", str(old),
                           "--target", str(target), "--reports", str(reports), "--dimension", "384"],
                          capture_output=True, text=True, timeout=120)


def test_files_alone_come_across_and_each_skip_is_said(tmp_path: Path) -> None:
    done = run(old_install(tmp_path / "old"), tmp_path / "new", tmp_path / "reports")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no webui.db in the old data directory" in done.stdout and "no Chroma store" in done.stdout
    assert (tmp_path / "new" / "uploads" / "a.txt").read_text() == "kept"
    assert (tmp_path / "reports" / "files.json").is_file()


def test_the_first_step_that_fails_ends_the_job_with_its_status(tmp_path: Path) -> None:
    done = run(old_install(tmp_path / "old", sqlite=True), tmp_path / "new", tmp_path / "reports")
    assert done.returncode == 2  # migrate_database refuses a webui.db that is no SQLite database, writing nothing
    assert "migrate_install: migrate_database.py exited 2" in done.stdout
    assert not (tmp_path / "new").exists(), "the files step must not run after a failed database step"
