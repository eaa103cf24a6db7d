"""The release table's generator on a wheel's migrations folder, and what the table says about upgrades."""

from __future__ import annotations

import zipfile
from pathlib import Path

from components.upgrade import RECREATE, ROLLING, release_heads, upgrade_kind
from ops.release_heads import MIGRATIONS, wheel_heads

MIGRATION = '''"""{doc}

Revision ID: {revision}
Revises: {down}
"""
from alembic import op

revision = {revision!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    op.execute("SELECT 1")
'''


def wheel(tmp_path: Path, revisions: dict[str, object]) -> Path:
    """A wheel shaped as Open WebUI's: open_webui/migrations/versions/<rev>_x.py, beside other modules."""
    path = tmp_path / "open_webui-9.9.9-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("open_webui/main.py", "revision = 'not-a-migration'\n")
        z.writestr(f"{MIGRATIONS}__init__.py", "")
        for revision, down in revisions.items():
            z.writestr(f"{MIGRATIONS}{revision}_step.py", MIGRATION.format(doc="step", revision=revision, down=down))
    return path


def test_the_head_of_a_linear_history(tmp_path):
    assert wheel_heads(wheel(tmp_path, {"aaa": None, "bbb": "aaa", "ccc": "bbb"})) == ["ccc"]


def test_a_merge_revision_is_the_one_head_and_an_unmerged_branch_shows_two(tmp_path):
    assert wheel_heads(wheel(tmp_path, {"a": None, "b": "a", "c": "a", "m": ("b", "c")})) == ["m"]
    (tmp_path / "two").mkdir()
    assert wheel_heads(wheel(tmp_path / "two", {"a": None, "b": "a", "c": "a"})) == ["b", "c"]


def test_the_table_read_from_the_real_wheels():
    heads = release_heads()
    assert heads["v0.12.4"] == heads["v0.12.3"] == heads["v0.12.1"] == "0bd252b206fb"
    assert heads["v0.11.4"] == "d4c1a8e37b62" and heads["v0.12.0"] == "b8f2c6d91a04"


def test_an_upgrade_rolls_only_when_the_schema_holds():
    heads = release_heads()
    same = upgrade_kind("v0.12.3", "v0.12.4", heads)
    assert same.kind == ROLLING and "same Alembic head 0bd252b206fb" in same.reason
    moved = upgrade_kind("v0.11.4", "v0.12.4", heads)
    assert moved.kind == RECREATE and "d4c1a8e37b62 -> 0bd252b206fb" in moved.reason
    unknown = upgrade_kind("v0.12.4", "v0.13.0", heads)
    assert unknown.kind == RECREATE and "make releases VERSIONS=0.13.0" in unknown.reason
    assert upgrade_kind(None, "v0.12.4", heads).kind == RECREATE
    assert upgrade_kind("v0.12.4", "v0.12.4", heads).kind == ROLLING


def test_make_plan_says_which_kind_an_image_change_makes():
    from offline_plan.plan import committed_image_tag, upgrade_lines
    rolling = upgrade_lines("v0.12.4", "v0.12.3", "FROM")
    assert rolling == ["  image v0.12.4: Alembic head 0bd252b206fb",
                       "  from v0.12.3 (FROM): ROLLING: v0.12.3 -> v0.12.4: same Alembic head 0bd252b206fb, no schema "
                       "change"]
    assert "RECREATE: v0.11.4 -> v0.12.4: Alembic head d4c1a8e37b62 -> 0bd252b206fb" in upgrade_lines(
        "v0.12.4", "v0.11.4", "FROM")[1]
    assert "no image change against the image at git HEAD" in upgrade_lines("v0.12.4", "v0.12.4",
                                                                             "the image at git HEAD")[1]
    assert committed_image_tag("dev") == "v0.12.4"  # Pulumi.yaml's default, as committed
