"""How every migrator ends (in_cluster/migration_common.py): the same refusals, exit codes, report and redaction."""

import json
from pathlib import Path

import psycopg
import pytest

from in_cluster.migration_common import EXIT_REFUSED, EXIT_VERIFIED, EXIT_VERIFY, Refused, finish
from testing.postgres_server import free_port

URL = "postgresql://admin:s3cret-pass@127.0.0.1:{port}/openwebui"


def refuse(url: str) -> dict:
    raise Refused(f"the table in {url} is not Open WebUI's")


def test_a_refusal_names_the_tool_writes_nothing_and_never_prints_the_url(tmp_path: Path, capsys) -> None:
    url = URL.format(port=5432)
    report = tmp_path / "report.json"
    assert finish("migrate_vectors", lambda: refuse(url), print, report, url) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert err == "migrate_vectors: refused, nothing written: the table in [database url] is not Open WebUI's\n"
    assert not report.exists()


def test_postgresqls_own_error_is_redacted_and_exits_as_unverified(capsys) -> None:
    url = URL.format(port=free_port())  # nothing listens: libpq's real error quotes the connection

    def run() -> dict:
        with psycopg.connect(url, connect_timeout=2):
            return {"verified": True}

    assert finish("migrate_database", run, print, None, url) == EXIT_VERIFY
    err = capsys.readouterr().err
    assert err.startswith("migrate_database: PostgreSQL: ") and "s3cret-pass" not in err


@pytest.mark.parametrize("result, status", [({"verified": True}, EXIT_VERIFIED), ({"verified": False}, EXIT_VERIFY),
                                            ({"verified": False, "dry_run": True}, EXIT_VERIFIED)])
def test_the_report_is_written_and_the_status_follows_verification(tmp_path: Path, result: dict, status: int) -> None:
    shown: list[dict] = []
    report = tmp_path / "deep" / "report.json"
    assert finish("migrate_files", lambda: result, shown.append, report) == status
    assert shown == [result] and json.loads(report.read_text()) == result


def test_work_found_done_keeps_the_earlier_report(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text('{"verified": true, "head": "0bd252b206fb"}')
    assert finish("migrate_database", lambda: None, print, report) == EXIT_VERIFIED
    assert report.read_text() == '{"verified": true, "head": "0bd252b206fb"}'
