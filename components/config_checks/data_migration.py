"""The data-migration Job: the old install's claim."""

from __future__ import annotations

import re

from components.names import DATA_CLAIM_NAME
from components.stack_config import StackConfig


def check_data_migration(c: StackConfig) -> list[str]:
    namespace, _, claim = c.migrate_from.partition("/")
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", namespace) or not re.fullmatch(
            r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", claim):
        return [f"migrateFrom: {c.migrate_from!r} is not '<namespace>/<claim>', e.g. 'open-webui/open-webui-old'."]
    errors = []
    if namespace != c.namespace:
        errors.append(f"migrateFrom: the claim is in namespace {namespace!r} but the data-migration Job runs in "
                      f"{c.namespace!r}, and a pod can mount only claims of its own namespace. Bind the old disk "
                      f"to a claim in {c.namespace!r} (docs/upgrades-and-migrations.md, 'Migrating an existing Open WebUI') and name that.")
    if claim == DATA_CLAIM_NAME:
        errors.append(f"migrateFrom: {claim!r} is this stack's own data claim; name the old deployment's claim.")
    if c.vector_db != "pgvector":
        errors.append("migrateFrom: moves Chroma vectors into pgvector, so vectorDb must be pgvector.")
    return errors
