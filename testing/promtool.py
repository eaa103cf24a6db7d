"""PromQL checked by Prometheus's own parser: promtool (Debian's `prometheus` package, `make test` installs it) reads
each expression as a recording rule. And the metric names an expression reads, for the tests that hold them to the
catalog (components/promql.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Mapping

import yaml

FUNCTIONS = {"sum", "max", "min", "avg", "count", "rate", "increase", "histogram_quantile", "by", "without", "and",
             "or", "unless", "on", "ignoring"}
"""The PromQL functions, aggregations and keywords the stack's expressions use: any other word names a metric."""


def promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        raise RuntimeError("promtool is not installed: `make test` installs Debian's prometheus package (or run "
                           "`sudo apt-get install prometheus`)")
    return found


def check(expressions: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """promtool's verdict on each expression (name -> PromQL), as one rule group of recording rules."""
    rules = {"groups": [{"name": "check", "rules": [
        {"record": f"check:{re.sub(r'[^a-zA-Z0-9_]', '_', name)}:{n}", "expr": expr}
        for n, (name, expr) in enumerate(expressions.items())]}]}
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "rules.yml"
        path.write_text(yaml.safe_dump(rules))
        return subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=60)


def metric_names(expr: str) -> set[str]:
    """The metrics an expression reads: what is left once strings, label matchers, ranges, grouping clauses,
    numbers and the functions are taken out."""
    text = re.sub(r'"[^"]*"', "", expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", text)
    words = re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", re.sub(r"\b\d+(\.\d+)?(e\d+)?\b", " ", text))
    return set(words) - FUNCTIONS
