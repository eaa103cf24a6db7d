"""The installed Open WebUI's Alembic, bringing one database (DATABASE_URL) to the release's head, for
in_cluster/migrate_database.py:

    python alembic_upgrade.py

Run by the installed Open WebUI's Python, in its own process: its migrations' env.py reads DATABASE_URL once, at
import (open_webui.env), so one process serves one database.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from alembic import command
from alembic.config import Config


def upgrade() -> None:
    spec = find_spec("open_webui")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("open_webui is not installed beside this Python")
    package = Path(list(spec.submodule_search_locations)[0])
    config = Config(str(package / "alembic.ini"))
    config.set_main_option("script_location", str(package / "migrations"))
    command.upgrade(config, "head")


if __name__ == "__main__":
    upgrade()
