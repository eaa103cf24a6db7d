"""What an `image` change does to the running Open WebUI: roll, or stop for a schema migration.

Open WebUI's schema is its Alembic head, per release (releases.json, generated from the PyPI wheels by
ops/release_heads.py). A new image whose head is the running one's rolls: new pods start beside the old ones, and
the old stop only once the new serve. A new head must never have two releases serving on one schema: the old pods
stop before Alembic runs, and the new start after it. A release missing from the table is treated as a schema
change: the safe side. Imports nothing from Pulumi, so the plan and the tests read it too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

RELEASES_FILE = Path(__file__).with_name("releases.json")
ROLLING = "rolling"
RECREATE = "recreate"


def image_tag(image: str) -> str:
    """The tag of an image reference ('' when untagged); a registry port is not a tag."""
    name = image.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else ""


UNPINNED_TAGS = ("", "latest", "main", "dev", "cuda", "ollama")
"""Tags that move: an image under one is not the release the stack was checked against."""


def unpinned(image: str) -> bool:
    return "@sha256:" not in image and image_tag(image) in UNPINNED_TAGS


def release_heads(path: Path = RELEASES_FILE) -> dict[str, str]:
    """Image tag (v0.12.4) -> its Alembic head."""
    return dict(json.loads(path.read_text())["heads"])


@dataclass(frozen=True)
class Upgrade:
    kind: str
    """ROLLING or RECREATE."""
    reason: str


def upgrade_kind(running: Optional[str], target: str, heads: Mapping[str, str]) -> Upgrade:
    """running: the image tag the stack deployed last (None on its first deploy)."""
    if running is None:
        return Upgrade(RECREATE, f"first deploy of {target}: nothing serves yet, the schema Job runs before any pod")
    if running == target:
        return Upgrade(ROLLING, f"{target} is already running: a change of settings rolls")
    missing = [t for t in (running, target) if t not in heads]
    if missing:
        return Upgrade(RECREATE, f"{' and '.join(missing)} not in components/releases.json, so whether the schema "
                                 "changes is unknown: stop, migrate, start (add it with `make releases "
                                 f"VERSIONS={' '.join(t.lstrip('v') for t in missing)}` to roll when it can)")
    if heads[running] == heads[target]:
        return Upgrade(ROLLING, f"{running} -> {target}: same Alembic head {heads[target]}, no schema change")
    return Upgrade(RECREATE, f"{running} -> {target}: Alembic head {heads[running]} -> {heads[target]}, a schema "
                             "change: the old pods stop before Alembic runs, the new start after it")
