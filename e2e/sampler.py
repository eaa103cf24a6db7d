"""Samples who holds PostgreSQL connections while the run goes on: per application_name from pg_stat_activity (as
`make verify` counts them), and per process from the process's own sockets to the server (replicas share one
application_name, as pods of a Deployment do)."""

from __future__ import annotations

import threading
import time
from typing import Callable, Mapping

import psutil
import psycopg

INTERVAL = 0.25


class ConnectionSampler:
    def __init__(self, connect: Callable[[], psycopg.Connection[tuple[object, ...]]], server_port: int,
                 processes: Callable[[], Mapping[str, int]]) -> None:
        self._connect, self._port, self._processes = connect, server_port, processes
        self.by_application: dict[str, int] = {}
        self.by_process: dict[str, int] = {}
        self.timeline: list[tuple[float, dict[str, int]]] = []
        """(time.monotonic(), each process's connections then), every sample."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "ConnectionSampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        with self._connect() as conn:
            while not self._stop.wait(INTERVAL):
                rows = conn.execute("SELECT application_name, count(*) FROM pg_stat_activity "
                                    "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() "
                                    "GROUP BY 1").fetchall()
                for name, n in rows:
                    key = str(name or "(unnamed)")
                    self.by_application[key] = max(self.by_application.get(key, 0), int(str(n)))
                held = {name: self._held(pid) for name, pid in self._processes().items()}
                self.timeline.append((time.monotonic(), held))
                for name, n in held.items():
                    self.by_process[name] = max(self.by_process.get(name, 0), n)

    def _held(self, pid: int) -> int:
        """The process's (and its children's: uvicorn workers) established sockets to the server."""
        try:
            parent = psutil.Process(pid)
            family = [parent, *parent.children(recursive=True)]
            return sum(1 for p in family for c in p.net_connections(kind="tcp")
                       if c.raddr and c.raddr.port == self._port and c.status == psutil.CONN_ESTABLISHED)
        except psutil.Error:
            return 0
