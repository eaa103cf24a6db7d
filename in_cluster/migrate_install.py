"""The data-migration Job's program: an old Open WebUI's install carried across, in the order that keeps it whole.

    python migrate_install.py --old-data OLD_DATA_DIR --target DATA_DIR --reports DIR --dimension N [--halfvec]

1. its SQLite database into PostgreSQL (migrate_database.py), when the old data directory has one; with --once, so a
   later image's Job leaves a database carried before, the app's since, alone;
2. its files onto the shared volume (migrate_files.py);
3. its Chroma vectors into pgvector (migrate_vectors.py), when it has a Chroma store.

Each step runs in its own process, as it would alone (memory goes back between them), and writes its report under
--reports; the first that fails ends the Job with its exit status. Every step resumes where it stopped, so the
Job's retry finishes the work.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SQLITE_DATABASE = "webui.db"
CHROMA_STORE = "vector_db"


def steps(old_data: Path, target: Path, reports: Path, dimension: int, halfvec: bool) -> list[list[str]]:
    """The migrators to run for what the old data directory holds, in order."""
    found: list[list[str]] = []
    if (old_data / SQLITE_DATABASE).is_file():
        found.append(["migrate_database.py", "--sqlite", str(old_data / SQLITE_DATABASE), "--work",
                      str(reports / "database"), "--report", str(reports / "database.json"), "--once"])
    else:
        print("migrate_install: no webui.db in the old data directory: its database was not SQLite", flush=True)
    found.append(["migrate_files.py", "--source", str(old_data), "--target", str(target),
                  "--report", str(reports / "files.json")])
    if (old_data / CHROMA_STORE / "chroma.sqlite3").is_file():
        found.append(["migrate_vectors.py", "--chroma", str(old_data / CHROMA_STORE), "--dimension", str(dimension),
                      "--report", str(reports / "vectors.json"), *(["--halfvec"] if halfvec else [])])
    else:
        print("migrate_install: no Chroma store in the old data directory: no vectors to migrate", flush=True)
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--old-data", type=Path, required=True, help="the old install's data directory (read only)")
    parser.add_argument("--target", type=Path, required=True, help="the shared volume's data directory")
    parser.add_argument("--reports", type=Path, required=True, help="where each step writes its report")
    parser.add_argument("--dimension", type=int, required=True, help="the stack's pgvectorMaxVectorLength")
    parser.add_argument("--halfvec", action="store_true", help="the stack's pgvectorUseHalfvec")
    args = parser.parse_args(argv)
    args.reports.mkdir(parents=True, exist_ok=True)
    for script, *step_args in steps(args.old_data, args.target, args.reports, args.dimension, args.halfvec):
        status = subprocess.run([sys.executable, str(HERE / script), *step_args]).returncode
        if status != 0:
            print(f"migrate_install: {script} exited {status}; the Job's retry resumes where it stopped", flush=True)
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
