"""The bill's change between two plans of a stack, for the pull request comment (what Infracost does for Terraform).

    python -m ops.cost_diff BASE_PLAN_JSON HEAD_PLAN_JSON [BASE HEAD ...]   (pairs, one per stack)

Each file is a build/<stack>/plan.json that `make plan` writes. Prints Markdown: per stack, the lines of the estimate
that changed (added, removed or moved) and the monthly total's change at its minimum and maximum. A plan without
line items (from before they were written) is compared by its totals.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional


@dataclass(frozen=True)
class LineChange:
    item: str
    base: Optional[tuple[float, float]]
    """(min, max) $/month, None when the base has no such line."""
    head: Optional[tuple[float, float]]

    @property
    def delta(self) -> tuple[float, float]:
        base, head = self.base or (0.0, 0.0), self.head or (0.0, 0.0)
        return round(head[0] - base[0], 2), round(head[1] - base[1], 2)


@dataclass(frozen=True)
class StackDiff:
    stack: str
    lines: tuple[LineChange, ...]
    base_total: tuple[float, float]
    head_total: tuple[float, float]

    @property
    def delta(self) -> tuple[float, float]:
        return (round(self.head_total[0] - self.base_total[0], 2),
                round(self.head_total[1] - self.base_total[1], 2))


def _lines(plan: dict[str, Any]) -> Optional[dict[str, tuple[float, float]]]:
    if "bill" not in plan:
        return None
    return {line["item"]: (float(line["min"]), float(line["max"])) for line in plan["bill"]}


def diff(base: dict[str, Any], head: dict[str, Any]) -> StackDiff:
    before, after = _lines(base), _lines(head)
    changes: list[LineChange] = []
    if before is not None and after is not None:
        for item in [*before, *(i for i in after if i not in before)]:
            if before.get(item) != after.get(item):
                changes.append(LineChange(item, before.get(item), after.get(item)))

    def total(plan: dict[str, Any]) -> tuple[float, float]:
        cost = plan["monthlyCostUsd"]
        return float(cost["min"]), float(cost["max"])

    return StackDiff(str(head["stack"]), tuple(changes), total(base), total(head))


def _money(value: float, signed: bool = False) -> str:
    text = f"${abs(value):,.2f}"
    if not signed:
        return text
    return f"+{text}" if value > 0 else f"-{text}" if value < 0 else "$0.00"


def _range(values: Optional[tuple[float, float]]) -> str:
    if values is None:
        return "-"
    low, high = values
    return _money(low) if low == high else f"{_money(low)} - {_money(high)}"


def _delta(delta: tuple[float, float]) -> str:
    low, high = delta
    return _money(low, signed=True) if low == high else f"{_money(low, signed=True)} / {_money(high, signed=True)}"


def markdown(diffs: list[StackDiff]) -> str:
    out = ["## Estimated monthly cost of this change", "",
           "List prices from `components/prices.json` (min: autoscaled pools at their minimum; max: at their maximum).",
           ""]
    for d in diffs:
        out.append(f"### {d.stack}: {_delta(d.delta)}/month "
                   f"({_range(d.base_total)} -> {_range(d.head_total)})")
        if d.lines:
            out += ["", "| item | before | after | change |", "|---|---|---|---|"]
            out += [f"| {c.item} | {_range(c.base)} | {_range(c.head)} | {_delta(c.delta)} |" for c in d.lines]
        elif d.delta != (0.0, 0.0):
            out += ["", "(the base plan has no line items: totals only)"]
        else:
            out += ["", "No change to the estimate."]
        out.append("")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or len(argv) % 2:
        print(__doc__, file=sys.stderr)
        return 2
    plans = [json.loads(Path(p).read_text()) for p in argv]
    print(markdown([diff(plans[i], plans[i + 1]) for i in range(0, len(plans), 2)]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
