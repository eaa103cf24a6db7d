"""One Alembic step of the installed Open WebUI on one database, for in_cluster/migrate_database.py:

    python alembic_step.py CURRENT_REVISION (check|upgrade)

Prints, as its last line, JSON: the release's head, and "unknown" when the database's revision is not one of the
release's. `upgrade` brings the database to the head first. Run by the installed Open WebUI's Python, in its own
process: its migrations' env.py reads DATABASE_URL once, at import (open_webui.env), so one process serves one
database. An empty CURRENT_REVISION is a database with no revision yet.
"""

from __future__ import annotations

import json
import sys
from importlib.util import find_spec
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError


def step(current: str | None, upgrade: bool) -> dict[str, str]:
    spec = find_spec("open_webui")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("open_webui is not installed beside this Python")
    package = Path(list(spec.submodule_search_locations)[0])
    config = Config(str(package / "alembic.ini"))
    config.set_main_option("script_location", str(package / "migrations"))
    script = ScriptDirectory.from_config(config)
    head = str(script.get_current_head())
    if current:
        try:
            script.get_revision(current)
        except CommandError:
            return {"head": head, "unknown": current}
    if upgrade:
        command.upgrade(config, "head")
    return {"head": head}


if __name__ == "__main__":
    print(json.dumps(step(sys.argv[1] or None, sys.argv[2] == "upgrade")))
