"""Renovate keeps the pins current: its regex managers find every chart and image this repository pins."""

from __future__ import annotations

import json
import re

from components.stack_config import ROOT

CONFIG = json.loads((ROOT / "renovate.json").read_text())


def found(datasource: str) -> dict[str, str]:
    """What the custom manager of a datasource extracts from the repository's files (JS named groups as Python's)."""
    [manager] = [m for m in CONFIG["customManagers"] if m["datasourceTemplate"] == datasource]
    candidates = [*ROOT.glob("*.yaml"), *ROOT.glob("components/*.py")]
    files = [p for p in candidates if any(
        re.search(pattern.strip("/"), str(p.relative_to(ROOT))) for pattern in manager["managerFilePatterns"])]
    deps = {}
    for path in files:
        for pattern in manager["matchStrings"]:
            for m in re.finditer(pattern.replace("(?<", "(?P<"), path.read_text()):
                deps[m.group("depName")] = m.group("currentValue")
    return deps


def test_every_pinned_image_is_found():
    assert found("docker") == {
        "ghcr.io/open-webui/open-webui": "v0.12.4", "nvcr.io/nvidia/k8s-device-plugin": "v0.17.4",
        "redis": "7.4.2-alpine", "ollama/ollama": "0.17.7", "python": "3.13.5-alpine3.22",
        "otel/opentelemetry-collector-contrib": "0.154.0", "nvcr.io/nvidia/k8s/dcgm-exporter": "3.3.5-3.4.1-ubuntu22.04"}


def test_every_pinned_chart_is_found():
    assert found("helm") == {"traefik": "41.3.0", "cert-manager": "v1.21.1"}


def test_the_locks_are_pip_compiles_and_open_webui_is_labelled_for_e2e():
    assert CONFIG["pip-compile"]["managerFilePatterns"] == ["/(^|/)requirements(-dev)?\\.txt$/"]
    assert CONFIG["pip_requirements"]["enabled"] is False  # the locks are not plain requirement files
    [rule] = [r for r in CONFIG["packageRules"] if r.get("matchPackageNames") == ["ghcr.io/open-webui/open-webui"]]
    assert "e2e" in rule["labels"]
