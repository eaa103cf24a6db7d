"""Simulated users on the replicas: load.py runs in the release's venv (its aiohttp), in the background, while the
run samples connections and kills a replica; its records come back as JSON."""

from __future__ import annotations

import json
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from e2e import api
from e2e.judge import summarize

HERE = Path(__file__).resolve().parent
ACCOUNTS = 10
THINK_SECONDS = (1.0, 3.0)


def sign_in_users(urls: Sequence[str], admin_token: str) -> list[str]:
    """The admin adds users; each signs in (on the replicas in turn). Returns the admin's token and theirs."""
    tokens = [admin_token]
    for n in range(1, ACCOUNTS):
        email, password = f"user{n}@e2e.example", secrets.token_urlsafe(12)
        api.ok(api.request(urls[0], "POST", "/api/v1/auths/add",
                           {"name": f"User {n}", "email": email, "password": password, "role": "user"},
                           token=admin_token), "add a user")
        tokens.append(api.ok(api.request(urls[n % len(urls)], "POST", "/api/v1/auths/signin",
                                         {"email": email, "password": password}), "sign in")["token"])
    return tokens


@dataclass
class Load:
    process: subprocess.Popen[bytes]
    out: Path

    @classmethod
    def start(cls, python: Path, work: Path, name: str, urls: Sequence[str], tokens: Sequence[str], users: int,
              seconds: int, query: Mapping[str, Any] | None = None, query_token: str = "") -> "Load":
        """Every user reads the chat list and the models as itself and, with a query, asks the knowledge base
        (the admin's) with query_token."""
        spec = {"replicas": list(urls), "tokens": list(tokens), "users": users, "seconds": seconds,
                "query": query, "query_token": query_token, "think": list(THINK_SECONDS)}
        out = work / f"load-{name}.json"
        with out.open("w") as f:
            process = subprocess.Popen([str(python), str(HERE / "load.py"), json.dumps(spec)], stdout=f,
                                       stderr=subprocess.DEVNULL)
        return cls(process, out)

    def records(self) -> list[list[Any]]:
        self.process.wait(timeout=600)
        records: list[list[Any]] = json.loads(self.out.read_text())["records"]
        return records


def print_load(title: str, records: list[list[Any]], peaks: Mapping[str, int], per_pod: int, capacity: int) -> None:
    s = summarize(records)
    print(f"\n-- {title}")
    print(f"  {'endpoint':<34}{'requests':>9}{'errors':>8}{'p50 s':>8}{'p95 s':>8}")
    for endpoint, (n, errors, p50, p95) in s.by_endpoint.items():
        print(f"  {endpoint:<34}{n:>9}{errors:>8}{p50:>8.3f}{p95:>8.3f}")
    print(f"  {'all':<34}{s.requests:>9}{s.errors:>8}{s.p50:>8.3f}{s.p95:>8.3f}   max {s.max:.3f} s"
          + (f"; errors {s.error_kinds}" if s.error_kinds else ""))
    print(f"  peak PostgreSQL connections per replica {dict(sorted(peaks.items()))} (budget {per_pod} per pod), "
          f"server capacity {capacity}")
