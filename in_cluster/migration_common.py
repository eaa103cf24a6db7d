"""What the three migrators share: their connection to the target PostgreSQL, the one rule for what they print about
it, and how each run ends (a refusal, a failed verification or success; the report; the exit status).

Shipped beside in_cluster/migrate_database.py, migrate_files.py and migrate_vectors.py in the data-migration Job's
ConfigMap, so they import it as a sibling script there and as in_cluster.migration_common here. psycopg 3 only (the
Open WebUI image has it).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import psycopg

EXIT_VERIFIED = 0
EXIT_VERIFY = 1
"""Something did not verify (or PostgreSQL failed mid-run): the report says what; a second run resumes."""
EXIT_REFUSED = 2
"""Refused before anything was written."""


class Refused(Exception):
    """The migration cannot run as asked; nothing has been written to the target."""

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


def finish(tool: str, run: Callable[[], Optional[dict[str, Any]]], show: Callable[[dict[str, Any]], None],
           report: Optional[Path] = None, database_url: Optional[str] = None) -> int:
    """Runs a migrator and ends it the one way they all end: a refusal or PostgreSQL's error on stderr with the URL
    redacted, else the result shown and written to `report` as JSON; the exit status says which. A run that finds
    its work done already returns None (and has said so): the earlier report stands."""
    try:
        result = run()
    except Refused as e:
        print(f"{tool}: refused, nothing written: {redact(str(e), database_url)}", file=sys.stderr)
        return EXIT_REFUSED
    except psycopg.Error as e:
        print(f"{tool}: PostgreSQL: {redact(str(e), database_url)}", file=sys.stderr)
        return EXIT_VERIFY
    if result is None:
        return EXIT_VERIFIED
    show(result)
    if report:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    return EXIT_VERIFIED if result["verified"] or result.get("dry_run") else EXIT_VERIFY
