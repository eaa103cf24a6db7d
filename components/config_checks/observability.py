"""Observability: who administers the stack's Grafana."""

from __future__ import annotations

from components.config_checks.sign_in import GUID
from components.stack_config import StackConfig


def check_grafana_admins(c: StackConfig) -> list[str]:
    if not c.grafana_admin_group or GUID.match(c.grafana_admin_group):
        return []
    return [f"grafanaAdminGroup: {c.grafana_admin_group!r} is not a group's object ID (a GUID); leave it empty for "
            "whoever runs `pulumi up`."]
