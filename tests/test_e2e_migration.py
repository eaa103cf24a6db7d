"""The migration scenario's pure parts (e2e/migration.py): what it renders and runs, and how it judges what
the new platform answers against what the old install answered. `make e2e` runs it on the real release."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from components.names import DATA_MIGRATION_NAME
from e2e.migration import OLD_CLAIM, differences, digests, render_with_migration, retrieval_problems
from e2e.rendered import COMPONENT_LABEL, NAME_LABEL, local_paths, workload


def seen_by(chats: dict[str, Any], folders: dict[str, Any]) -> dict[str, Any]:
    return {"chats": chats, "folders": folders}


MESSAGES = {"a1": {"id": "a1", "role": "user", "content": "hello?", "parentId": None, "childrenIds": ["a2"]},
            "a2": {"id": "a2", "role": "assistant", "content": "Hello", "parentId": "a1", "childrenIds": []}}
ADA = {"id": "u-ada", "name": "Ada Admin"}
BEFORE = seen_by({"c1": {"title": "Ada chat 0", "messages": MESSAGES}, "c2": {"title": "Ada chat 1", "messages": {}}},
                 {"f1": {"name": "Ada's work", "chats": ["c1"]}})


def test_the_same_view_has_no_differences() -> None:
    assert differences(BEFORE, BEFORE, ADA) == []


def test_a_missing_chat_an_extra_folder_and_a_changed_message_are_each_named() -> None:
    changed = {"a1": MESSAGES["a1"], "a2": {**MESSAGES["a2"], "content": "Hi", "usage": {}}}
    after = seen_by({"c1": {"title": "Ada chat 0", "messages": changed}},
                    {**BEFORE["folders"], "f2": {"name": "new", "chats": []}})
    assert differences(BEFORE, after, ADA) == ["chat c1 message a2: content, usage changed", "chat c2 missing",
                                               "folder f2 not on the old install"]


def test_a_lost_message_and_a_renamed_chat_are_named() -> None:
    after = seen_by({"c1": {"title": "Ada chat 0", "messages": {"a1": MESSAGES["a1"]}},
                     "c2": {"title": "renamed", "messages": {}}, "c3": {"title": "new", "messages": {}}},
                    BEFORE["folders"])
    assert differences(BEFORE, after, ADA) == ["chat c1 message a2 missing",
                                               "chat c2 title 'Ada chat 1' now 'renamed'",
                                               "chat c3 not on the old install"]


def test_the_author_a_newer_release_adds_to_a_users_message_must_be_the_chats_owner() -> None:
    """Open WebUI 0.12 serves each user message with its author (user_id, user); 0.6 served neither."""
    attributed = {"a1": {**MESSAGES["a1"], "user_id": "u-ada", "user": {"id": "u-ada", "name": "Ada Admin"}},
                  "a2": MESSAGES["a2"]}
    after = seen_by({**BEFORE["chats"], "c1": {"title": "Ada chat 0", "messages": attributed}}, BEFORE["folders"])
    assert differences(BEFORE, after, ADA) == []
    assert differences(BEFORE, after, {"id": "u-bo", "name": "Bo User"}) == ["chat c1 message a1: user, user_id changed"]
    on_the_answer = {**attributed, "a2": {**MESSAGES["a2"], "user_id": "u-ada"}}
    after = seen_by({**BEFORE["chats"], "c1": {"title": "Ada chat 0", "messages": on_the_answer}}, BEFORE["folders"])
    assert differences(BEFORE, after, ADA) == ["chat c1 message a2: user_id changed"]


def test_a_chat_out_of_its_folder_differs() -> None:
    after = seen_by(BEFORE["chats"], {"f1": {"name": "Ada's work", "chats": []}})
    assert differences(BEFORE, after, ADA) == ["folder f1: chats changed"]


QUERY = {"collection_name": "kb-1", "query": "nightly backups", "k": 3,
         "documents": ["Backups run nightly at 02:00.", "Our cluster runs Open WebUI.", "The marker abc."]}


def test_retrieval_must_return_the_same_chunks_in_the_same_order() -> None:
    assert retrieval_problems(QUERY, {"documents": [QUERY["documents"]], "distances": [[0.1, 0.5, 0.7]]}) == []
    reordered = {"documents": [list(reversed(QUERY["documents"]))]}
    assert retrieval_problems(QUERY, reordered) == [
        "kb-1 'nightly backups': 3 chunk(s) before, 3 now, same chunks in another order"]
    assert retrieval_problems(QUERY, {"documents": None}) == [
        "kb-1 'nightly backups': 3 chunk(s) before, 0 now, not the same chunks"]


def test_digests_see_a_changed_byte(tmp_path: Path) -> None:
    (tmp_path / "uploads").mkdir()
    (tmp_path / "uploads" / "a.txt").write_bytes(b"one")
    (tmp_path / "webui.db").write_bytes(b"two")
    before = digests(tmp_path)
    assert set(before) == {"uploads/a.txt", "webui.db"}
    (tmp_path / "webui.db").write_bytes(b"twp")
    assert digests(tmp_path) != before


def test_the_scenario_runs_the_job_the_stack_renders_with_migrate_from(tmp_path: Path) -> None:
    objects = render_with_migration("dev", "open-webui")
    job = workload(objects, "Job", {NAME_LABEL: DATA_MIGRATION_NAME, COMPONENT_LABEL: "data-migration"},
                   {(DATA_MIGRATION_NAME, "DATABASE_URL"): "postgresql://local"})
    [container] = job.containers
    assert container.env["DATABASE_URL"] == "postgresql://local"
    [claim] = [o for o in objects if o["kind"] == "Job" and o["metadata"]["name"] == DATA_MIGRATION_NAME]
    volumes = {v["name"]: v for v in claim["spec"]["template"]["spec"]["volumes"]}
    assert volumes["old-data"]["persistentVolumeClaim"] == {"claimName": OLD_CLAIM, "readOnly": True}
    volumes_here = {name: tmp_path / name for name in ("data", "old-data", "scripts", "scratch")}
    paths = local_paths(container, volumes_here, tmp_path / "image")
    assert paths["/old-data"] == tmp_path / "old-data" and paths["/migrate"] == tmp_path / "scripts"
    assert set(job.config_maps["scripts"]) >= {"migrate_database.py", "migration_common.py", "alembic_upgrade.py", "alembic_revisions.py"}

