"""What the program depends on in an Open WebUI release, read from the release itself.

Runs with the release's own Python and a replica's env (`make e2e` starts it so):

    python e2e/release_facts.py '<json: {"env": [names], "config_keys": [keys]}>'

and prints one JSON document: the release's version and Alembic head(s), the env names the stack sets that no
module of the release (or the libraries that read them) mentions, the Config keys the schema Job writes that
the release does not define, and the SQLAlchemy engines one worker builds on import, with their pools. Standalone:
it imports nothing of this project (the release's venv does not have it).
"""

from __future__ import annotations

import gc
import importlib.metadata
import json
import sys
from pathlib import Path
from typing import Any

READERS = ("open_webui", "huggingface_hub", "sentence_transformers", "uvicorn")
"""Packages whose source may read an env name the stack sets (HF_HUB_OFFLINE is huggingface_hub's, say)."""


def unread_names(names: list[str]) -> list[str]:
    import importlib.util

    sources = []
    for package in READERS:
        spec = importlib.util.find_spec(package)
        if spec and spec.submodule_search_locations:
            for root in spec.submodule_search_locations:
                sources += [p.read_text(errors="replace") for p in Path(root).rglob("*.py")]
    text = "\n".join(sources)
    return [n for n in names if f"'{n}'" not in text and f'"{n}"' not in text]


def engines() -> list[dict[str, Any]]:
    """Every engine alive after importing the app, as one worker has them (an async engine's inner sync engine
    is part of it, not another)."""
    from sqlalchemy.engine import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

    objects = gc.get_objects()
    async_engines = [o for o in objects if isinstance(o, AsyncEngine)]
    inner = {id(e.sync_engine) for e in async_engines}
    found = [(e.sync_engine, "async") for e in async_engines]
    found += [(o, "sync") for o in objects if isinstance(o, Engine) and id(o) not in inner]
    result = []
    for engine, kind in found:
        pool = engine.pool
        size = pool.size() if hasattr(pool, "size") else None
        overflow = getattr(pool, "_max_overflow", None)
        result.append({"kind": kind, "dialect": engine.url.get_backend_name(), "pool": type(pool).__name__,
                       "size": size, "max_overflow": overflow,
                       "application_name": engine.url.query.get("application_name")})
    return result


def main(argv: list[str]) -> int:
    wanted = json.loads(argv[0])
    import open_webui
    from alembic.script import ScriptDirectory

    package = Path(open_webui.__file__).parent
    heads = sorted(ScriptDirectory(str(package / "migrations")).get_heads())
    import open_webui.main  # noqa: F401  (builds the engines a worker builds, as the app's import does)
    from open_webui.models import config as config_model

    defaults = getattr(getattr(config_model, "Config", None), "DEFAULTS", {})  # the per-key Config of 0.12

    print(json.dumps({
        "version": importlib.metadata.version("open-webui"),  # env.VERSION reads a package.json pip does not ship
        "alembic_heads": heads,
        "unread_env": unread_names(wanted["env"]),
        "unknown_config_keys": [k for k in wanted["config_keys"] if k not in defaults],
        "engines": engines(),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
