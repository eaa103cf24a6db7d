"""PromQL checked by Prometheus's own parser and rule engine: promtool (Debian's `prometheus` package, `make test`
installs it) reads each expression as a recording rule, and runs alerting rules and expressions over series a test
writes. And the metric names an expression reads, for the tests that hold them to the catalog
(components/promql.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

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


def alert_tests(rules: Sequence[Mapping[str, Any]],
                tests: Sequence[Mapping[str, Any]]) -> subprocess.CompletedProcess[str]:
    """promtool's unit tests (`promtool test rules`) of alerting rules, as Prometheus's rule files write them
    (alert, expr, for, labels, annotations), over the input series and expected alerts of each test."""
    with tempfile.TemporaryDirectory() as directory:
        rule_file = {"groups": [{"name": "stack", "rules": list(rules)}]}
        (Path(directory) / "rules.yml").write_text(yaml.safe_dump(rule_file))
        (Path(directory) / "tests.yml").write_text(yaml.safe_dump({
            "rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": list(tests)}))
        return subprocess.run([promtool(), "test", "rules", "tests.yml"], cwd=directory, capture_output=True,
                              text=True, timeout=60)


def prometheus_duration(iso: str) -> str:
    """An ISO 8601 duration as Azure's rule groups take it (PT10M) in Prometheus's notation (10m)."""
    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", iso)
    if not match or not any(match.groups()):
        raise ValueError(f"{iso!r} is not a duration of hours, minutes and seconds such as PT10M")
    return "".join(f"{n}{unit}" for n, unit in zip(match.groups(), "hms") if n) or "0s"


def metric_names(expr: str) -> set[str]:
    """The metrics an expression reads: what is left once strings, label matchers, ranges, grouping clauses,
    numbers and the functions are taken out."""
    text = re.sub(r'"[^"]*"', "", expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", text)
    words = re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", re.sub(r"\b\d+(\.\d+)?(e\d+)?\b", " ", text))
    return set(words) - FUNCTIONS
