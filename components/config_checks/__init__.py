"""What Azure or Kubernetes would refuse at deploy, refused before anything is declared: each problem names the
config key, what would go wrong, and the fix. One module per concern (postgres, network, edge, sign_in,
observability, cluster, app, ollama, data_migration) reads the typed config (components/stack_config.py) and returns
its problems; components/settings.py reports them all at once."""

from __future__ import annotations

from datetime import datetime

from components.audit import RETENTION_DAYS as AUDIT_RETENTION_DAYS
from components.config_checks.app import check_app
from components.config_checks.cluster import check_cluster, check_namespace
from components.config_checks.data_migration import check_data_migration
from components.config_checks.edge import check_edge
from components.config_checks.network import check_network
from components.config_checks.observability import check_observability
from components.config_checks.ollama import check_ollama
from components.config_checks.postgres import check_postgres, check_restore
from components.config_checks.sign_in import check_sign_in
from components.regions import region_error
from components.stack_config import StackConfig


def problems(c: StackConfig, stack: str, now: datetime, has_client_secret: bool) -> list[str]:
    """Every problem of the stack's config, in the order `make plan` lists them."""
    errors = [problem] if (problem := region_error(c.location)) else []
    errors += check_postgres(c)
    errors += check_restore(c, stack, now)
    errors += check_network(c)
    errors += check_edge(c, stack)
    errors += check_sign_in(c, has_client_secret)
    errors += check_observability(c)
    low, high = AUDIT_RETENTION_DAYS
    if not low <= c.audit_retention_days <= high:
        errors.append(f"auditRetentionDays: {c.audit_retention_days} is outside Log Analytics' {low}..{high} days.")
    if c.monthly_budget_usd < 0:
        errors.append(f"monthlyBudgetUsd: {c.monthly_budget_usd} is negative; 0 means no budget.")
    errors += check_cluster(c, now.date())
    errors += check_app(c)
    errors += check_namespace(c)
    if c.ollama_enabled:
        errors += check_ollama(c)
    if c.migrate_from:
        errors += check_data_migration(c)
    return errors
