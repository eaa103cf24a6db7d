"""The Alembic head of each Open WebUI release, read from its PyPI wheel: `python -m ops.release_heads 0.12.3 0.12.4`.

A wheel holds `open_webui/migrations/versions/*.py`, each with its `revision` and `down_revision`; the head is the
revision no other revision revises. Two releases with the same head share a schema: an upgrade between them can roll
(components/upgrade.py). The table is data, `components/releases.json`: this script adds the releases it is given
(`pip download open-webui==<v> --no-deps`, about 100 MB each, cached in ~/.cache/openwebui-wheels) and rewrites it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import zipfile
from pathlib import Path

from in_cluster.alembic_revisions import heads
from components.upgrade import RELEASES_FILE

MIGRATIONS = "open_webui/migrations/versions/"
CACHE = Path.home() / ".cache" / "openwebui-wheels"


def wheel_heads(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        return heads(z.read(n).decode() for n in z.namelist() if n.startswith(MIGRATIONS) and n.endswith(".py"))


def download(version: str) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    found = sorted(CACHE.glob(f"open_webui-{version}-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", f"open-webui=={version}", "--no-deps", "-q",
                        "-d", str(CACHE)], check=True)
        found = sorted(CACHE.glob(f"open_webui-{version}-*.whl"))
    return found[0]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("versions", nargs="+", help="Open WebUI releases, such as 0.12.4")
    args = parser.parse_args(argv)
    table = json.loads(RELEASES_FILE.read_text())
    for version in args.versions:
        found = wheel_heads(download(version))
        if len(found) != 1:
            print(f"{version}: {len(found)} heads {found}: not one schema; left out", file=sys.stderr)
            continue
        table["heads"][f"v{version}"] = found[0]
        print(f"v{version}: {found[0]}")
    table["heads"] = dict(sorted(table["heads"].items(), key=lambda kv: [int(p) for p in kv[0][1:].split(".")]))
    RELEASES_FILE.write_text(json.dumps(table, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
