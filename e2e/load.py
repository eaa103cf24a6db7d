"""Simulated users against the replicas, on loopback only, bounded in count and time (aiohttp, from the release's
venv: standalone, it imports nothing of this project).

    python e2e/load.py '<json spec>'

spec: {"replicas": [base URLs], "tokens": [bearer tokens], "users": N, "seconds": S, "query": {...} or null,
       "query_token": the token the query is made with (the knowledge base's owner), "think": [min, max]}. Each user is signed in (a token of one of the accounts) and loops over what a user's
page does: the chat list, the models, and a knowledge query, with a think time between pages. Requests go to the
replicas in turn, as a Service spreads them. Every request is recorded; prints JSON with each one as
[start offset s, replica index, endpoint, ok, status or error, latency s].
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import sys
import time
from typing import Any

import aiohttp

REQUEST_TIMEOUT = 30.0


async def user(n: int, spec: dict[str, Any], session: aiohttp.ClientSession, replicas: itertools.cycle[int],
               started: float, deadline: float, records: list[list[Any]]) -> None:
    token = spec["tokens"][n % len(spec["tokens"])]
    own = {"Authorization": f"Bearer {token}"}
    rng = random.Random(n)
    page: list[tuple[str, str, Any, dict[str, str]]] = [("GET", "/api/v1/chats/list", None, own),
                                                         ("GET", "/api/models", None, own)]
    if spec.get("query"):
        page.append(("POST", "/api/v1/retrieval/query/doc", spec["query"],
                     {"Authorization": f"Bearer {spec['query_token']}"}))
    await asyncio.sleep(rng.uniform(0, spec["think"][1]))  # users arrive spread out, not in one burst
    while time.monotonic() < deadline:
        for method, path, body, headers in page:
            if time.monotonic() >= deadline:
                return
            replica = next(replicas)
            t0 = time.monotonic()
            try:
                async with session.request(method, spec["replicas"][replica] + path, json=body, headers=headers,
                                           timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as response:
                    await response.read()
                    records.append([round(t0 - started, 3), replica, path, response.status < 400, response.status,
                                    round(time.monotonic() - t0, 4)])
            except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                records.append([round(t0 - started, 3), replica, path, False, type(e).__name__,
                                round(time.monotonic() - t0, 4)])
        await asyncio.sleep(rng.uniform(*spec["think"]))


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    records: list[list[Any]] = []
    replicas = itertools.cycle(range(len(spec["replicas"])))
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.monotonic()
        deadline = started + spec["seconds"]
        await asyncio.wait_for(
            asyncio.gather(*(user(n, spec, session, replicas, started, deadline, records)
                             for n in range(spec["users"]))),
            spec["seconds"] + REQUEST_TIMEOUT + 10)
    return {"records": records, "seconds": spec["seconds"], "users": spec["users"]}


def main(argv: list[str]) -> int:
    print(json.dumps(asyncio.run(run(json.loads(argv[0])))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
