"""The schema Job's program (components/open_webui.py), run once per image tag by the release's own Python before
any replica of it serves: the schema, the settings the stack owns, the first account, the vector store, the shared
embedding model. Every step is safe to repeat: the Job runs again whenever its env changes.

    python schema_job.py

Its env is the replicas' (DATABASE_URL is the admin's: Alembic and the table's owner change need it).
"""

from __future__ import annotations

import asyncio
import os
import secrets


def seed_defaults() -> None:
    """Every replica inserts the config table's missing defaults at start, with no lock: replicas starting together
    collide on its primary key and all but one crash (seen in `make e2e`). Seeded here first, they find nothing to
    add. Importing open_webui.config runs Alembic to head first (ENABLE_DB_MIGRATIONS=true)."""
    from open_webui.config import seed_registered_defaults
    asyncio.run(seed_registered_defaults())


def write_stack_settings() -> None:
    """Open WebUI reads its Ollama connections and its own URL from the database on every request; env only seeds
    them on a first start. Writing them here makes a changed ollamaBaseUrl, Ollama service or hostname reach the
    running app. Sign-in is the stack's too: an admin's toggle in the UI must not reopen sign-up for good."""
    from open_webui.models.config import Config
    urls = [url for url in os.environ.get("OLLAMA_BASE_URLS", "").split(";") if url]
    asyncio.run(Config.upsert({"ollama.base_urls": urls, "ollama.enable": bool(urls),
                               "webui.url": os.environ["WEBUI_URL"],
                               "ui.enable_signup": os.environ["ENABLE_SIGNUP"] == "true",
                               "ui.enable_login_form": os.environ["ENABLE_LOGIN_FORM"] == "true",
                               "ui.default_user_role": os.environ["DEFAULT_USER_ROLE"]}))


async def first_account() -> None:
    """The first account on an empty database is admin, whoever makes it (components/sign_in.py). Every replica
    would make the env's admin at start (main.py), each checking for users first with no lock; here it is made once,
    before any replica serves. A migrated or restored database keeps its own users, and no second admin is made."""
    from open_webui.models.auths import Auths
    from open_webui.models.users import Users
    from open_webui.utils.auth import create_admin_user, get_password_hash
    if await Users.has_users():
        return
    email, name = os.environ["WEBUI_ADMIN_EMAIL"], os.environ["WEBUI_ADMIN_NAME"]
    if os.environ["ENABLE_PASSWORD_AUTH"] == "true":
        made = await create_admin_user(email, os.environ["WEBUI_ADMIN_PASSWORD"], name)
    else:  # Entra ID: a placeholder with no access and a password nobody knows, so no Entra user is the first
        made = await Auths.insert_new_auth(email=email, password=await get_password_hash(secrets.token_urlsafe(32)),
                                           name=name, role="pending")
    if not made:
        raise SystemExit(f"could not make the first account {email}: see the log above")


def create_vector_store() -> None:
    """Every replica also creates the vector store's table and indexes at start (Open WebUI's vector client, on
    import), checking first with no lock: replicas starting together race to create document_chunk and the loser
    crashes (seen in `make e2e`). Created here first, with the app's own client and settings, they find it there.
    Loading the embedding model fills the shared cache the replicas read."""
    import open_webui.retrieval.vector.factory  # noqa: F401  (creates the table on import)
    from sentence_transformers import SentenceTransformer
    SentenceTransformer(os.environ["RAG_EMBEDDING_MODEL"], cache_folder=os.environ["SENTENCE_TRANSFORMERS_HOME"])


def hand_vectors_to_app_role() -> None:
    """The replicas connect as the app role, not the admin; their vector client runs CREATE INDEX IF NOT EXISTS on
    import, which PostgreSQL allows only to the table's owner even when the index exists: the role owns the table
    (components/pg_role.py GRANTS)."""
    import psycopg
    from psycopg import sql
    with psycopg.connect(os.environ["PGVECTOR_DB_URL"], autocommit=True) as conn:
        role = sql.Identifier(os.environ["APP_DATABASE_ROLE"])
        conn.execute(sql.SQL("ALTER TABLE document_chunk OWNER TO {}").format(role))


def main() -> None:
    seed_defaults()
    write_stack_settings()
    asyncio.run(first_account())
    create_vector_store()
    if os.environ.get("VECTOR_DB") == "pgvector":
        hand_vectors_to_app_role()


if __name__ == "__main__":
    main()
