"""`make e2e`'s usage sampler on real processes: a process that holds memory, one that burns CPU."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from e2e.usage import UsageSampler, peak_rss_while

MIB = 1024 * 1024


def test_the_peak_of_a_process_that_holds_200_mib_and_exits() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; b = bytearray(200 * 1024 * 1024); time.sleep(1.5)"])
    code, peak = peak_rss_while(child.pid, child.wait)
    assert code == 0 and peak >= 200 * MIB


def test_a_phase_counts_a_process_trees_cpu_and_memory() -> None:
    # the parent's child (as a uvicorn worker would) burns half a second of CPU and exits; the parent stays on
    burn = "import time\\nwhile time.process_time() < 0.5: pass"
    busy = f"import subprocess, sys, time; subprocess.run([sys.executable, '-c', '{burn}']); time.sleep(30)"
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    parent = subprocess.Popen([sys.executable, "-c", busy])
    sampler = UsageSampler(lambda: {"busy": parent.pid, "idle": idle.pid})
    started = time.monotonic()
    with sampler.phase("load"):
        for want_child in (True, False):  # the child started, then waited for
            deadline = time.monotonic() + 20
            while bool(psutil.Process(parent.pid).children()) != want_child and time.monotonic() < deadline:
                time.sleep(0.02)
    wall = time.monotonic() - started
    idle.kill()
    parent.kill()
    usage = sampler.phases["load"]
    assert usage["busy"].cpu_cores * wall >= 0.45  # the exited child's CPU counts
    assert usage["idle"].cpu_cores * wall < 0.1
    assert usage["busy"].peak_rss > 0 and usage["idle"].peak_rss > 0


def test_the_load_is_drawn_by_window(tmp_path) -> None:
    from e2e.load_chart import draw, per_window
    records = [[0.5, 0, "/a", True, 200, 1.0], [1.0, 1, "/a", True, 200, 3.0], [6.0, 2, "/b", True, 200, 2.0]]
    starts, rates, p95s = per_window(records, 10)
    assert starts == [0.0, 5.0] and rates == [0.4, 0.2] and p95s[1] == 2.0
    out = draw("t", records, 10, [(0.0, {"replica 1": 3}), (5.0, {"replica 1": 5})], 8, tmp_path / "load.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
