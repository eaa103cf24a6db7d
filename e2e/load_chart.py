"""The picture of `make e2e`'s load: requests per second, the p95 latency, and each replica's PostgreSQL connections
against the connection budget's figure per pod, on one time axis. docs/proven.md shows the last run's."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")  # no display here: draw to a file
import matplotlib.pyplot as plt  # noqa: E402

from e2e.judge import percentile  # noqa: E402

CHART = Path(__file__).resolve().parent.parent / "docs" / "proven-load.png"
WINDOW_SECONDS = 5


def per_window(records: Sequence[Sequence[Any]], seconds: float) -> tuple[list[float], list[float], list[float]]:
    """Window starts, requests per second and p95 latency (s) in each WINDOW_SECONDS window; records as the load
    writes them ([offset s, replica, endpoint, ok, status, latency s])."""
    starts, rates, p95s = [], [], []
    t = 0.0
    while t < seconds:
        inside = [float(r[5]) for r in records if t <= float(r[0]) < t + WINDOW_SECONDS]
        starts.append(t)
        rates.append(len(inside) / WINDOW_SECONDS)
        p95s.append(percentile(inside, 95))
        t += WINDOW_SECONDS
    return starts, rates, p95s


def draw(title: str, records: Sequence[Sequence[Any]], seconds: float,
         connections: Sequence[tuple[float, dict[str, int]]], per_pod: int, out: Path = CHART) -> Path:
    """connections: (seconds since the load began, connections per replica) samples."""
    starts, rates, p95s = per_window(records, seconds)
    figure, (top, middle, bottom) = plt.subplots(3, 1, sharex=True, figsize=(9, 7.5))
    figure.suptitle(title)
    edges = [*starts, seconds]  # each window's value holds until the next window (the last: until the end)
    top.step(edges, [*rates, rates[-1]], where="post")
    top.set_ylabel("requests / s")
    middle.step(edges, [*p95s, p95s[-1]], where="post", color="tab:orange")
    middle.set_ylabel("p95 latency (s)")
    for replica in sorted({name for _, held in connections for name in held}):
        bottom.plot([t for t, _ in connections], [held.get(replica, 0) for _, held in connections], label=replica)
    bottom.axhline(per_pod, color="tab:red", linestyle="--", label=f"budget per pod ({per_pod})")
    bottom.set_ylabel("PostgreSQL connections")
    bottom.set_xlabel("seconds since the load began")
    bottom.set_ylim(top=per_pod + 2)
    bottom.legend(loc="lower right", fontsize="small")
    for axis in (top, middle, bottom):
        axis.grid(alpha=0.3)
        axis.set_xlim(0, seconds)
        axis.set_ylim(bottom=0)  # a change is read against zero, not against the smallest value
    figure.tight_layout()
    figure.savefig(out, dpi=80)
    plt.close(figure)
    return out
