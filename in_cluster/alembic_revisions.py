"""A release's Alembic revisions, read from its migration files without running them: importing Open WebUI's
migrations imports Open WebUI, which refuses to load without its secrets and parses its changelog at every import
(seconds). The schema gate reads the image's head here, the database migrator the head and whether it knows a
revision, `make releases` (ops/release_heads.py) the heads of PyPI's wheels.

Shipped beside schema_gate.py and beside the migrators in their ConfigMaps. Standard library only.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import Iterable, Optional


def _revision(source: str) -> tuple[Optional[str], tuple[str, ...]]:
    """(revision, what it revises) from a migration module's top-level assignments."""
    values: dict[str, object] = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in ("revision", "down_revision") and node.value:
                    values[target.id] = ast.literal_eval(node.value)
    revision = values.get("revision")
    down = values.get("down_revision")
    parents = tuple(down) if isinstance(down, (tuple, list)) else (down,) if isinstance(down, str) else ()
    return (str(revision) if revision else None), tuple(str(p) for p in parents)


def revisions(sources: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Each revision of the migration files' sources, with the revisions it revises."""
    found: dict[str, tuple[str, ...]] = {}
    for source in sources:
        revision, parents = _revision(source)
        if revision:
            found[revision] = parents
    return found


def heads(sources: Iterable[str]) -> list[str]:
    """The revisions nothing revises, sorted (one for a release whose migrations are linear)."""
    found = revisions(sources)
    revised = {parent for parents in found.values() for parent in parents}
    return sorted(set(found) - revised)


def installed() -> dict[str, tuple[str, ...]]:
    """The revisions of the Open WebUI this Python imports (the image's, or the tests' build/open-webui)."""
    spec = importlib.util.find_spec("open_webui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("open_webui is not installed in this image")
    versions = Path(list(spec.submodule_search_locations)[0]) / "migrations" / "versions"
    return revisions(path.read_text() for path in versions.glob("*.py"))


def installed_head() -> str:
    """The one Alembic head of the installed Open WebUI."""
    found = installed()
    revised = {parent for parents in found.values() for parent in parents}
    tips = sorted(set(found) - revised)
    if len(tips) != 1:
        raise RuntimeError(f"the installed Open WebUI's migrations have {len(tips)} heads: {tips}")
    return tips[0]
