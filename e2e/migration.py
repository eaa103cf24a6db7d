"""`make e2e`, the migration scenario: the install this product replaces carried across whole, in the order `pulumi up`
with migrateFrom runs it.

    python -m e2e.migration [--stack dev] [--version 0.12.4] [--old-version 0.6.43] [--keep]

A default old install (old_install.py: SQLite webui.db, Chroma in vector_db/) of the release, filled through its own
API; what each user sees there is recorded through the same API, and it is stopped. Its data directory becomes the
old claim. Then the stack rendered with migrateFrom runs: the data-migration Job's container (database, files,
vectors), the schema Job, three replicas. Checked on the replicas, each user on another one: every old user signs in
with the old password and sees the same chats, messages and folders; the files are served; the same retrieval
queries return the same chunks in the same order; the stack-owned settings end as the stack says while the admin's
banner came across; the old data directory is byte-identical. Exit 0 only when each holds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Mapping, Sequence

from components.names import DATA_MIGRATION_NAME
from e2e import api
from e2e.judge import memory_peak_check, report
from e2e.local_stack import REPLICAS, START_SECONDS, LocalStack
from e2e.old_install import Install, User, fill, signin, start
from e2e.release import ensure
from e2e.rendered import COMPONENT_LABEL, NAME_LABEL, workload
from offline_plan.mock_engine import run_program
from offline_plan.plan import manifests
from ops.verify import Check

OLD_CLAIM = "open-webui-old"


def render_with_migration(stack: str, namespace: str) -> list[dict[str, Any]]:
    """The stack's objects as `make plan` renders them, with migrateFrom naming the old claim."""
    return manifests(run_program(stack, {"migrateFrom": f"{namespace}/{OLD_CLAIM}"}))


def digests(directory: Path) -> dict[str, str]:
    """Every file under `directory` -> its SHA-256."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def seen(url: str, token: str) -> dict[str, Any]:
    """What a signed-in user sees, through the API the web client uses: every chat (folders and pinned included)
    with its messages, every folder with the chats in it."""
    chats = api.ok(api.request(url, "GET", "/api/v1/chats/list?include_folders=true&include_pinned=true",
                               token=token), "chat list")
    folders = api.ok(api.request(url, "GET", "/api/v1/folders/", token=token), "folders")
    return {
        "chats": {c["id"]: {"title": c["title"], "messages": api.ok(api.request(
            url, "GET", f"/api/v1/chats/{c['id']}", token=token), "chat")["chat"]["history"]["messages"]}
            for c in chats},
        "folders": {f["id"]: {"name": f["name"], "chats": sorted(c["id"] for c in api.ok(api.request(
            url, "GET", f"/api/v1/chats/folder/{f['id']}/list", token=token), "folder's chats"))}
            for f in folders},
    }


def _changed(what: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """`what`'s entries missing, added, or changed (naming the fields that changed)."""
    wrong = [f"{what} {key} missing" for key in sorted(old.keys() - new.keys())]
    wrong += [f"{what} {key} not on the old install" for key in sorted(new.keys() - old.keys())]
    for key in sorted(old.keys() & new.keys()):
        if old[key] != new[key]:
            fields = sorted(f for f in old[key].keys() | new[key].keys() if old[key].get(f) != new[key].get(f))
            wrong.append(f"{what} {key}: {', '.join(fields)} changed")
    return wrong


def _as_served_before(old: Mapping[str, Any], new: Mapping[str, Any], author: Mapping[str, str]) -> dict[str, Any]:
    """`new` without the author fields Open WebUI 0.12 adds to a user's message when it serves a chat
    (routers/chats.py, shared_chat_response), where the old release served none and they name the chat's owner."""
    added = {"user_id": author["id"], "user": dict(author)} if new.get("role") == "user" else {}
    return {k: v for k, v in new.items() if not (k in added and k not in old and v == added[k])}


def differences(before: Mapping[str, Any], after: Mapping[str, Any], author: Mapping[str, str]) -> list[str]:
    """What a user (`author`: id and name) saw on the old install and does not see (or sees otherwise) on the
    new one."""
    wrong = []
    for chat_id, chat in before["chats"].items():
        now = after["chats"].get(chat_id)
        if now is None:
            wrong.append(f"chat {chat_id} missing")
            continue
        wrong += [f"chat {chat_id} title {chat['title']!r} now {now['title']!r}"] if now["title"] != chat["title"] else []
        served = {key: _as_served_before(chat["messages"].get(key, {}), message, author)
                  for key, message in now["messages"].items()}
        wrong += _changed(f"chat {chat_id} message", chat["messages"], served)
    wrong += [f"chat {key} not on the old install" for key in sorted(after["chats"].keys() - before["chats"].keys())]
    return wrong + _changed("folder", before["folders"], after["folders"])


def user_check(user: User, url: str, before: Mapping[str, Any]) -> Check:
    answer = api.request(url, "POST", "/api/v1/auths/signin", {"email": user.email, "password": user.password})
    if answer.status != 200:
        return Check(f"{user.email} signs in with the old password", False, f"{url}: HTTP {answer.status}",
                     "the auth table did not come across (database.json names its rows)")
    wrong = differences(before, seen(url, answer.json()["token"]), {"id": user.id, "name": user.name})
    return Check(f"{user.email} signs in with the old password, sees the same chats and folders", not wrong,
                 "; ".join(wrong) or f"{url}: {len(before['chats'])} chats with their messages, "
                 f"{len(before['folders'])} folder(s) with their chats", "database.json names the rows that differ")


def retrieval_problems(query: Mapping[str, Any], answer: Mapping[str, Any]) -> list[str]:
    """The old install's chunks for a query, in its order, against the new one's."""
    got = answer["documents"][0] if answer.get("documents") else []
    if got == query["documents"]:
        return []
    return [f"{query['collection_name']} {query['query']!r}: {len(query['documents'])} chunk(s) before, "
            f"{len(got)} now" + (", same chunks in another order" if sorted(got) == sorted(query["documents"])
                                 else ", not the same chunks")]


def content_checks(install: Install, urls: Sequence[str]) -> list[Check]:
    admin = install.users[0]
    url = urls[-1]
    token = signin(url, admin)
    wrong_files = []
    for file_id, content in install.files.items():
        served = api.request(url, "GET", f"/api/v1/files/{file_id}/content", token=token)
        if served.status != 200 or served.body != content:
            wrong_files.append(f"{file_id}: HTTP {served.status}, {len(served.body)} bytes (want {len(content)})")
    wrong_queries = []
    for query in install.queries:
        ask = {k: query[k] for k in ("collection_name", "query", "k")}
        wrong_queries += retrieval_problems(query, api.ok(api.request(url, "POST", "/api/v1/retrieval/query/doc", ask,
                                                                      token=token), "query"))
    banners = [b["content"] for b in api.ok(api.request(url, "GET", "/api/v1/configs/banners", token=token),
                                             "banners")]
    return [
        Check("the old files are served", not wrong_files, "; ".join(wrong_files)
              or f"{len(install.files)} file(s), byte for byte", "files.json names the files not copied"),
        Check("the same queries return the same chunks in the same order", not wrong_queries,
              "; ".join(wrong_queries) or f"{len(install.queries)} queries, "
              f"{sum(len(q['documents']) for q in install.queries)} chunks", "vectors.json compares the neighbours"),
        Check("the admin's settings came across", install.banner in banners,
              f"banners {banners}", "database.json: the config table"),
    ]


def old_install(stack: LocalStack, version: str) -> tuple[Install, dict[str, dict[str, Any]]]:
    """The old install, on the directory the new volume will take (so the file paths its database holds are the
    new volume's, as /app/backend/data is on both sides in the cluster), filled, recorded and stopped."""
    release = ensure(version, stack.work / "setup.log")
    process, url = start(stack.processes, release, stack.shared)
    install = fill(url)
    before = {u.email: seen(url, u.token) for u in install.users}
    process.stop()
    return install, before


def run_data_migration(stack: LocalStack, old: Path) -> list[Check]:
    job = workload(stack.objects, "Job", {NAME_LABEL: DATA_MIGRATION_NAME, COMPONENT_LABEL: "data-migration"},
                   stack.secrets)
    stack.mount_config_maps(job)
    stack.volumes["old-data"], stack.volumes["scratch"] = old, stack.work / "scratch"
    stack.volumes["scratch"].mkdir()
    started = time.monotonic()
    failed = stack.run_containers(job.name, job.containers)
    if failed:
        return [failed]
    # The schema Job's container has the same name: its peak is its own.
    peak = stack.job_peak_rss.pop(job.containers[0].name)
    reports = {step: json.loads((stack.shared / ".migration" / f"{step}.json").read_text())
               for step in ("database", "files", "vectors")}
    tables = reports["database"]["tables"]
    done = Check(f"data-migration Job {job.name}", True,
                 f"exited 0 in {time.monotonic() - started:.0f}s: {len(tables)} tables, "
                 f"{sum(t['inserted'] for t in tables)} rows, every one verified; "
                 f"{reports['files']['copied']} file(s) copied; "
                 f"{reports['vectors']['inserted']} vectors", "")
    return [done, memory_peak_check(f"data-migration Job {job.containers[0].name}", peak, job.containers[0].resources)]


def scenario(stack: LocalStack, version: str) -> list[Check]:
    print(f"   old install: Open WebUI {version} on its defaults (SQLite, Chroma), filled through its API ...",
          flush=True)
    install, before = old_install(stack, version)
    old = stack.work / "old-data"  # the old claim
    stack.shared.rename(old)
    stack.shared.mkdir()
    untouched = digests(old)
    stack.objects = render_with_migration(stack.name, stack.config.namespace)
    stack.secrets[(DATA_MIGRATION_NAME, "DATABASE_URL")] = stack.pg.url
    print("   data-migration Job (database, files, vectors) ...", flush=True)
    checks = run_data_migration(stack, old)
    if not checks[0].ok:
        return checks
    print("   schema Job ...", flush=True)
    checks += stack.run_job()
    if not stack.job_keys:
        return checks
    with stack.pg.superuser() as conn:
        admins = sorted(str(e) for (e,) in conn.execute('SELECT email FROM "user" WHERE role = %s', ("admin",)))
    old_admins = [install.users[0].email]  # the old install's first sign-up (old_install.fill)
    checks.append(Check("the carried users are kept: no second admin made", admins == old_admins,
                        f"admins {', '.join(admins)} (the old install's: {', '.join(old_admins)}; the stack's "
                        f"adminEmail {stack.admin[0]} not made)",
                        "the schema Job makes the first account only on an empty database (first_account)"))
    stack.start_replicas()
    print(f"   {REPLICAS} replicas starting on {', '.join(stack.urls)} ...", flush=True)
    checks += stack.wait_ready(range(REPLICAS), time.monotonic() + START_SECONDS)
    if not all(c.ok for c in checks):
        return checks
    checks += [user_check(user, stack.urls[i % REPLICAS], before[user.email]) for i, user in enumerate(install.users)]
    checks += content_checks(install, stack.urls)
    checks.append(Check("the old data directory is untouched", digests(old) == untouched,
                        f"{len(untouched)} files, byte-identical", "a step wrote to the old claim"))
    return checks


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--version", help="the new platform's release (default: the stack's image)")
    parser.add_argument("--old-version", help="the old install's release (default: the new platform's)")
    parser.add_argument("--keep", action="store_true", help="keep the run directory (logs, data) afterwards")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="openwebui-e2e-migration-"))
    work.chmod(0o755)
    stack = LocalStack(args.stack, args.version, None, work)
    version = args.old_version or stack.version
    print(f"== make e2e, migration: a default Open WebUI {version} carried onto stack '{args.stack}' (Open WebUI "
          f"{stack.version}), run directory {work}")
    try:
        with ExitStack() as exit_stack:
            stack.start_services(exit_stack)
            checks = scenario(stack, version)
        return report(checks, "migration checklist")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
