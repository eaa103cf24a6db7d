"""Observability: who administers the stack's Grafana, and the collector's image."""

from __future__ import annotations

from components.config_checks.sign_in import GUID
from components.stack_config import StackConfig
from components.upgrade import unpinned


def check_observability(c: StackConfig) -> list[str]:
    errors = []
    if unpinned(c.otel_collector_image):
        errors.append(f"otelCollectorImage: {c.otel_collector_image!r} has no pinned tag; a moving tag changes how "
                      "metrics are named under the dashboards without a deploy. Use a release tag such as "
                      "otel/opentelemetry-collector-contrib:0.154.0.")
    if c.grafana_admin_group and not GUID.match(c.grafana_admin_group):
        errors.append(f"grafanaAdminGroup: {c.grafana_admin_group!r} is not a group's object ID (a GUID); leave it "
                      "empty for whoever runs `pulumi up`.")
    return errors
