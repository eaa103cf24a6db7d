"""The install this product replaces: one Open WebUI on its defaults (SQLite webui.db, Chroma in vector_db/), filled
through its own API the way people use it, and what was put in, to check on the other side.

    python -m e2e.old_install --version 0.6.43 --fixture tests/fixtures/webui-0.6.43.db

writes a fixture for in_cluster/migrate_database.py's tests (the file as that release left it); `make e2e` calls
start()/fill() for its migration scenario. The release comes from `make e2e`'s cached set-up (release.py).
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e import api
from e2e.release import IMAGE_MODEL_CACHE, MODEL_REPO, Release, ensure
from e2e.services import Process, Processes
from testing.postgres_server import free_port

START_SECONDS = 600
USERS = (("Ada Admin", "ada@old.example"), ("Bo User", "bo@old.example"), ("Cy User", "cy@old.example"))
"""The first signs up (Open WebUI makes the first user admin); the admin adds the others."""
DOCUMENT = """Our cluster runs Open WebUI with Chroma on one disk. The disk is a ReadWriteOnce volume, so only one pod \
can mount it, and the database is a SQLite file beside the vector store. Scaling out means moving both: the database \
to PostgreSQL, the vectors to pgvector, the files to a share every replica mounts.

The migration marker {marker} must come back from pgvector after the move. It sits in its own paragraph so that a \
search for it finds this chunk first, and the chunks about backups and models after it, in an order that only the \
same vectors, compared the same way, reproduce.

Backups of the data directory run nightly at 02:00 and are kept for thirty days. A restore is rehearsed every \
quarter: the newest backup is restored into a scratch namespace, an admin signs in, opens three chats and runs a \
search against the knowledge base, and the time it took is written down.

The models come from the GPU pool: two T4 nodes, each holding two small models in memory. Users pick llama3 for \
chat and a smaller model for titles and tags, so that background tasks never wait behind a long answer.

Support questions go to the platform channel. Outages are announced in a banner at the top of the page, which \
the admin sets in the settings, and in the status page, which lists the planned maintenance windows for the year.

Accounts are created by the admin; nobody signs themselves up. Passwords are at least twelve characters long, \
and a user who leaves the team is deactivated the same day, their chats kept for the audit.

Uploads are limited to fifty megabytes a file. Scanned PDFs go through the document extractor first; spreadsheets \
are exported to CSV, because a table split into chunks by characters loses its header and answers get worse.

The budget for the platform is reviewed every month. The database and the file share are the fixed part; the GPU \
nodes are most of the bill, which is why the Ollama pool scales down to one node at night and at weekends.

New team members read this page first, then the runbook for incidents, then the page about prompts: which ones \
the team shares, how to name them, and why a prompt that reads the clipboard must say so in its title.

When Open WebUI is upgraded, the schema may move. The upgrade is planned for a Tuesday morning, announced a week \
before in the banner, rehearsed on the staging stack the day before, and the backup taken just before it starts.
"""
OLD_OLLAMA = "http://ollama.old-namespace.svc:11434"
"""What the old admin set for Ollama: a stack-owned key, which must end as the new stack says."""


@dataclass
class User:
    name: str
    email: str
    password: str
    token: str = ""
    id: str = ""
    chats: dict[str, str] = field(default_factory=dict)
    """chat id -> title."""
    folders: dict[str, str] = field(default_factory=dict)
    """folder id -> name."""


@dataclass
class Install:
    """What fill() put in, as the old install answered it."""

    users: list[User]
    files: dict[str, bytes] = field(default_factory=dict)
    """file id -> its content."""
    knowledge_id: str = ""
    queries: list[dict[str, Any]] = field(default_factory=list)
    """Retrieval queries and the chunks (documents, in order) the old install returned for each."""
    model_id: str = ""
    prompt_command: str = ""
    banner: str = ""


def environment(release: Release, data: Path, port: int) -> dict[str, str]:
    """A default single-container install: no DATABASE_URL (SQLite in DATA_DIR), the default vector store (Chroma
    in DATA_DIR/vector_db), the default embedding model (offline, from the release's model cache)."""
    models = str(release.image_root / IMAGE_MODEL_CACHE)
    return {"PATH": "/usr/bin:/bin", "HOME": str(data.parent), "DATA_DIR": str(data), "PORT": str(port),
            "WEBUI_SECRET_KEY": "old-install-secret", "FRONTEND_BUILD_DIR": str(release.image_root / "app" / "build"),
            "HF_HUB_OFFLINE": "1", "HF_HOME": models, "SENTENCE_TRANSFORMERS_HOME": models,
            "RAG_EMBEDDING_MODEL": MODEL_REPO, "SCARF_NO_ANALYTICS": "true", "DO_NOT_TRACK": "true",
            "ANONYMIZED_TELEMETRY": "false", "ENABLE_OLLAMA_API": "false"}


def start(processes: Processes, release: Release, data: Path) -> tuple[Process, str]:
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = processes.start(f"old-{release.version}", [
        str(release.python), "-m", "uvicorn", "open_webui.main:app", "--host", "127.0.0.1", "--port", str(port)],
        environment(release, data, port), release.image_root / "app" / "backend")
    url = f"http://127.0.0.1:{port}"
    if not api.wait_for(url, "/health", time.monotonic() + START_SECONDS, process.alive):
        raise RuntimeError(f"Open WebUI {release.version} on SQLite did not start:\n{process.tail()}")
    return process, url


def fill(url: str) -> Install:
    """Users with passwords, their folders and chats with messages and tags, settings, a knowledge base with a
    file, a custom model, a prompt, a banner and the old Ollama connection."""
    users = [User(name, email, secrets.token_urlsafe(12)) for name, email in USERS]
    admin = users[0]
    api.ok(api.request(url, "POST", "/api/v1/auths/signup",
                       {"name": admin.name, "email": admin.email, "password": admin.password}), "sign up")
    for user in users:
        if user is not admin:
            api.ok(api.request(url, "POST", "/api/v1/auths/add", {"name": user.name, "email": user.email,
                                                                  "password": user.password, "role": "user"},
                               token=admin.token or signin(url, admin)), f"add {user.email}")
        signin(url, user)
    install = Install(users)
    for user in users:
        folder = api.ok(api.request(url, "POST", "/api/v1/folders/", {"name": f"{user.name.split()[0]}'s work"},
                                    token=user.token), "folder")
        user.folders[folder["id"]] = folder["name"]
        for n in range(3):
            chat = api.ok(api.request(url, "POST", "/api/v1/chats/new", {"chat": _chat(f"{user.name} chat {n}")},
                                      token=user.token), "chat")
            user.chats[chat["id"]] = chat["title"]
            if n == 0:
                api.ok(api.request(url, "POST", f"/api/v1/chats/{chat['id']}/folder", {"folder_id": folder["id"]},
                                   token=user.token), "chat into folder")
            api.ok(api.request(url, "POST", f"/api/v1/chats/{chat['id']}/tags", {"name": f"tag-{n}"},
                               token=user.token), "tag")
        api.ok(api.request(url, "POST", "/api/v1/users/user/settings/update",
                           {"ui": {"theme": "dark", "chatBubble": user is admin, "models": ["old-model"]}},
                           token=user.token), "settings")

    marker = secrets.token_hex(6)
    content = DOCUMENT.format(marker=marker).encode()
    uploaded = api.ok(api.upload(url, admin.token, "old-notes.txt", content), "upload")
    install.files[uploaded["id"]] = content
    kb = api.ok(api.request(url, "POST", "/api/v1/knowledge/create", {"name": "Old notes", "description": "kept"},
                            token=admin.token), "knowledge")
    install.knowledge_id = kb["id"]
    api.ok(api.request(url, "POST", f"/api/v1/knowledge/{kb['id']}/file/add", {"file_id": uploaded["id"]},
                       token=admin.token), "knowledge file")
    for text, collection in ((f"the migration marker {marker}", kb["id"]), ("nightly backups", f"file-{uploaded['id']}")):
        query = {"collection_name": collection, "query": text, "k": 3}
        found = api.ok(api.request(url, "POST", "/api/v1/retrieval/query/doc", query, token=admin.token), "query")
        install.queries.append({**query, "documents": found["documents"][0]})

    install.model_id = "old-assistant"
    api.ok(api.request(url, "POST", "/api/v1/models/create", {
        "id": install.model_id, "base_model_id": "llama3:8b", "name": "Old assistant",
        "meta": {"description": "the team's assistant", "profile_image_url": "/static/favicon.png"},
        "params": {"system": "Answer briefly.", "temperature": 0.2}}, token=admin.token), "model")
    install.prompt_command = "/summarise"
    api.ok(api.request(url, "POST", "/api/v1/prompts/create", {
        "command": install.prompt_command, "title": "Summarise", "name": "Summarise",
        "content": "Summarise this: {{CLIPBOARD}}"}, token=admin.token), "prompt")
    install.banner = f"Moved to AKS {marker}"
    api.ok(api.request(url, "POST", "/api/v1/configs/banners", {"banners": [{
        "id": "move", "type": "info", "title": "", "content": install.banner, "dismissible": True,
        "timestamp": int(time.time())}]}, token=admin.token), "banner")
    api.ok(api.request(url, "POST", "/ollama/config/update", {
        "ENABLE_OLLAMA_API": True, "OLLAMA_BASE_URLS": [OLD_OLLAMA], "OLLAMA_API_CONFIGS": {}},
        token=admin.token), "ollama connection")
    return install


def signin(url: str, user: User) -> str:
    """Signs `user` in on `url`: keeps and returns the token."""
    signed = api.ok(api.request(url, "POST", "/api/v1/auths/signin", {"email": user.email, "password": user.password}),
                    f"sign in {user.email}")
    user.token, user.id = signed["token"], signed["id"]
    return user.token


def _chat(title: str) -> dict[str, Any]:
    """A chat as the web client saves it: the messages list and the history tree."""
    first, second = secrets.token_hex(8), secrets.token_hex(8)
    messages: list[dict[str, Any]] = [
        {"id": first, "parentId": None, "childrenIds": [second], "role": "user", "content": f"{title}: hello?",
         "timestamp": int(time.time())},
        {"id": second, "parentId": first, "childrenIds": [], "role": "assistant", "content": "Hello, how can I help?",
         "model": "llama3:8b", "done": True, "timestamp": int(time.time())},
    ]
    return {"title": title, "models": ["llama3:8b"], "messages": messages,
            "history": {"currentId": second, "messages": {m["id"]: m for m in messages}}}


def make_fixture(version: str, fixture: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="old-install-"))
    processes = Processes(work)
    try:
        release = ensure(version, work / "setup.log")
        process, url = start(processes, release, work / "data")
        install = fill(url)
        processes.stop_all()
        fixture.parent.mkdir(parents=True, exist_ok=True)
        fixture.unlink(missing_ok=True)
        with closing(sqlite3.connect(work / "data" / "webui.db")) as source, closing(sqlite3.connect(fixture)) as copy:
            source.backup(copy)  # the write-ahead log folded in
            copy.execute("PRAGMA journal_mode = DELETE")  # one file, which reading leaves as it is
        print(f"{fixture}: Open WebUI {version}, {len(install.users)} users, "
              f"{sum(len(u.chats) for u in install.users)} chats, {fixture.stat().st_size} bytes")
    finally:
        processes.stop_all()
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", required=True, help="the Open WebUI release to run (PyPI version)")
    parser.add_argument("--fixture", type=Path, required=True, help="write its webui.db here")
    args = parser.parse_args(argv)
    make_fixture(args.version, args.fixture)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
