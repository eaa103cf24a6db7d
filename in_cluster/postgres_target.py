"""The migration tools' connection to the target PostgreSQL, and the one rule for what they print about it.

Shipped beside in_cluster/migrate_vectors.py and in_cluster/migrate_database.py in the data-migration Job's ConfigMap, so both
import it as a sibling script there and as in_cluster.postgres_target here. psycopg 3 only (the Open WebUI image has it).
"""

from __future__ import annotations

import re
from typing import Any, Optional

import psycopg

DRIVER = re.compile(r"^postgresql\+\w+://")
"""A SQLAlchemy URL names its driver (postgresql+psycopg2://); libpq takes the plain scheme."""


def libpq_url(url: str) -> str:
    return DRIVER.sub("postgresql://", url)


def connect(url: str, application_name: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """The URL's own application_name wins (the stack's Secret sets the Job's, which the connection budget counts)."""
    url = libpq_url(url)
    if "application_name" not in psycopg.conninfo.conninfo_to_dict(url):
        url = psycopg.conninfo.make_conninfo(url, application_name=application_name)
    return psycopg.connect(url, **kwargs)


def redact(message: str, url: Optional[str]) -> str:
    """Removes the URL and its password from a message (psycopg's errors quote connection details)."""
    if not url:
        return message
    try:
        password = psycopg.conninfo.conninfo_to_dict(libpq_url(url)).get("password")
    except psycopg.Error:
        password = None
    message = message.replace(url, "[database url]")
    return message.replace(str(password), "[password]") if password else message
