"""Observability: who administers the stack's Grafana, and the collector's image."""

from __future__ import annotations

from components.config_checks.sign_in import GUID
from components.stack_config import StackConfig
from components.upgrade import unpinned


def check_observability(c: StackConfig) -> list[str]:
    errors = []
    for key, example in (("otelCollectorImage", "otel/opentelemetry-collector-contrib:0.154.0"),
                         ("dcgmExporterImage", "nvcr.io/nvidia/k8s/dcgm-exporter:3.3.5-3.4.1-ubuntu22.04")):
        if unpinned(c.value(key)):
            errors.append(f"{key}: {c.value(key)!r} has no pinned tag; a moving tag changes what the dashboards read "
                          f"without a deploy. Use a release tag such as {example}.")
    if c.grafana_admin_group and not GUID.match(c.grafana_admin_group):
        errors.append(f"grafanaAdminGroup: {c.grafana_admin_group!r} is not a group's object ID (a GUID); leave it "
                      "empty for whoever runs `pulumi up`.")
    return errors
