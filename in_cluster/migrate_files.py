"""Copies an old Open WebUI data directory onto the shared volume, every file verified by SHA-256.

    python -m in_cluster.migrate_files --source OLD_DATA_DIR --target NEW_DATA_DIR [--report FILE]

What moves: everything Open WebUI keeps in its data directory (uploads/, the Chroma store vector_db/, and any
other file or folder), except cache/ (embedding models, tiktoken, whisper...: rebuilt by the new deployment) and
the SQLite main database webui.db with its journal files (carried into PostgreSQL by in_cluster/migrate_database.py,
which the data-migration Job runs first; the new Open WebUI would never read them).
The source is only read. A file already at the target with the same checksum is left alone, so a second run
copies nothing and a run cut short completes on the next. Each copy goes to a temporary name and is renamed
into place only once its checksum matches the source's.

Exit status: 0 every file verified; 1 a copy failed verification or could not be made.
Standard library only: it runs in the Open WebUI image as a Job (see components/data_migration.py).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

try:
    from in_cluster.migration_common import Refused, finish
except ImportError:  # a script beside it in the data-migration Job's ConfigMap
    from migration_common import Refused, finish  # type: ignore[no-redef,import-not-found]

REBUILT = ("cache",)
"""Top-level folders not copied: the new deployment rebuilds them."""
SQLITE_FILES = ("webui.db", "webui.db-wal", "webui.db-shm", "webui.db-journal")
"""Top-level files not copied: the SQLite main database, which in_cluster/migrate_database.py carries into PostgreSQL."""
CHUNK = 1 << 20


@dataclass
class FilesReport:
    copied: int = 0
    already_there: int = 0
    bytes_copied: int = 0
    skipped_rebuilt: list[str] = field(default_factory=list)
    skipped_database: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def files(source: Path) -> Iterator[Path]:
    """Every regular file under source, relative to it, except the rebuilt folders and the SQLite database.
    Symlinks are not followed."""
    for root, dirs, names in os.walk(source):
        here = Path(root).relative_to(source)
        if here == Path("."):
            dirs[:] = [d for d in dirs if d not in REBUILT]
            names = [n for n in names if n not in SQLITE_FILES]
        dirs.sort()
        for name in sorted(names):
            if (Path(root) / name).is_file():
                yield here / name


def copy_verified(src: Path, dst: Path) -> int:
    """Copies src to dst through a temporary name; returns the bytes copied. Raises if checksums differ."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    partial = dst.with_name(f".{dst.name}.partial")
    shutil.copyfile(src, partial)
    expected, got = sha256(src), sha256(partial)
    if expected != got:
        partial.unlink()
        raise OSError(f"{src}: checksum of the copy {got[:12]} differs from the source's {expected[:12]}")
    shutil.copystat(src, partial)
    partial.replace(dst)
    return src.stat().st_size


def migrate(source: Path, target: Path) -> FilesReport:
    report = FilesReport(skipped_rebuilt=[d for d in REBUILT if (source / d).exists()],
                         skipped_database=[f for f in SQLITE_FILES if (source / f).is_file()])
    for relative in files(source):
        src, dst = source / relative, target / relative
        try:
            if dst.is_file() and dst.stat().st_size == src.stat().st_size and sha256(dst) == sha256(src):
                report.already_there += 1
                continue
            report.bytes_copied += copy_verified(src, dst)
            report.copied += 1
        except OSError as e:
            report.failures.append(f"{relative}: {e}")
    return report


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="the old data directory (read only)")
    parser.add_argument("--target", type=Path, required=True, help="the shared volume's data directory")
    parser.add_argument("--report", type=Path, help="write the result as JSON here")
    args = parser.parse_args(argv)
    return finish("migrate_files", lambda: run(args.source, args.target), show, args.report)


def run(source: Path, target: Path) -> dict[str, Any]:
    if not source.is_dir():
        raise Refused(f"--source {source} is not a directory")
    report = migrate(source, target)
    return {**asdict(report), "verified": report.ok}


def show(result: dict[str, Any]) -> None:
    print(f"migrate_files: {result['copied']} file(s) copied ({result['bytes_copied']} bytes), "
          f"{result['already_there']} already there, all verified by SHA-256; not copied (rebuilt): "
          f"{', '.join(result['skipped_rebuilt']) or 'none'}"
          + (f"; not copied (carried into PostgreSQL by migrate_database): {', '.join(result['skipped_database'])}"
             if result["skipped_database"] else ""))
    for failure in result["failures"]:
        print(f"migrate_files: FAILED {failure}")

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
