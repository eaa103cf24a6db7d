"""What the processes of the run use, as a pod's cgroup would count it: resident memory (the process and its
children: uvicorn workers) and CPU time, sampled per phase (at rest, under load), so the stack's requests and
limits can be checked against the real app."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

import psutil

INTERVAL = 0.5


@dataclass(frozen=True)
class Usage:
    """One process tree over one phase."""

    peak_rss: int
    """Bytes."""
    cpu_cores: float
    """Mean CPU over the phase, in cores (CPU seconds / wall seconds)."""


def _tree(pid: int) -> list[psutil.Process]:
    parent = psutil.Process(pid)
    return [parent, *parent.children(recursive=True)]


def _rss(pid: int) -> int:
    try:
        return sum(p.memory_info().rss for p in _tree(pid))
    except psutil.Error:
        return 0


def _cpu_seconds(pid: int) -> float:
    """CPU time of the live tree, and of the children its processes have waited for (a worker that was restarted)."""
    try:
        return sum(t.user + t.system + t.children_user + t.children_system for t in (p.cpu_times() for p in _tree(pid)))
    except psutil.Error:
        return 0.0


class UsageSampler:
    """Samples the named processes (name -> pid, asked anew at every sample) for as long as a phase lasts."""

    def __init__(self, processes: Callable[[], Mapping[str, int]]) -> None:
        self._processes = processes
        self.phases: dict[str, dict[str, Usage]] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        peaks: dict[str, int] = {}
        stop = threading.Event()

        def sample() -> None:
            while True:
                for process, pid in self._processes().items():
                    peaks[process] = max(peaks.get(process, 0), _rss(pid))
                if stop.wait(INTERVAL):
                    return

        pids = dict(self._processes())
        cpu = {process: _cpu_seconds(pid) for process, pid in pids.items()}
        started = time.monotonic()
        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=10)
            wall = max(time.monotonic() - started, 1e-9)
            self.phases[name] = {
                process: Usage(peaks.get(process, 0), max(_cpu_seconds(pid) - cpu.get(process, 0.0), 0.0) / wall)
                for process, pid in pids.items()}


def peak_rss_while(popen_pid: int, wait: Callable[[], int]) -> tuple[int, int]:
    """Runs wait() (a process's wait) while sampling that process's resident memory: (exit code, peak bytes)."""
    sampler = UsageSampler(lambda: {"job": popen_pid})
    with sampler.phase("job"):
        code = wait()
    return code, sampler.phases["job"]["job"].peak_rss
