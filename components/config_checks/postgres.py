"""PostgreSQL: the server's SKU, HA, backups, storage, names, extensions and their preloaded libraries, firewall, and a
restore's source and time."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta, timezone

from components.connection_budget import POSTGRES_SKUS
from components.pg_extension import PgExtensionProvider
from components.pg_role import PgRoleProvider
from components.postgres import LIBRARY_ONLY, PRELOAD_LIBRARIES, PRELOADABLE, STORAGE_SIZES_GB, FirewallRange
from components.stack_config import StackConfig


HA_MODES = ("Disabled", "SameZone", "ZoneRedundant")


def firewall_range(rule: str) -> FirewallRange:
    start, _, end = rule.partition("-")
    return FirewallRange(start.strip(), (end or start).strip())


def check_postgres(c: StackConfig) -> list[str]:
    errors = []
    sku = POSTGRES_SKUS.get(c.postgres_sku)
    if sku is None:
        errors.append(f"postgresSku: {c.postgres_sku!r} is not a SKU this program knows the connection limit of; "
                      f"use one of {', '.join(POSTGRES_SKUS)}.")
    if c.postgres_high_availability not in HA_MODES:
        errors.append(f"postgresHighAvailability: {c.postgres_high_availability!r} must be one of {', '.join(HA_MODES)}.")
    elif sku and sku.tier == "Burstable" and c.postgres_high_availability != "Disabled":
        errors.append(f"postgresHighAvailability: Azure offers no high availability on the Burstable tier "
                      f"({sku.name}); choose a GeneralPurpose postgresSku or set it to Disabled.")
    if not 7 <= c.postgres_backup_retention_days <= 35:
        errors.append(f"postgresBackupRetentionDays: {c.postgres_backup_retention_days} is outside Azure's 7..35 days.")
    if c.postgres_storage_gb not in STORAGE_SIZES_GB:
        larger = [size for size in STORAGE_SIZES_GB if size > c.postgres_storage_gb]
        errors.append(f"postgresStorageGb: {c.postgres_storage_gb} GiB is not a size Azure offers a Flexible Server "
                      f"({', '.join(map(str, STORAGE_SIZES_GB))} GiB) and would be refused at deploy"
                      + (f"; the next size up is {larger[0]}." if larger else "."))
    if not re.match(r"^[a-z_][a-z0-9_]{0,62}$", c.postgres_database):
        errors.append(f"postgresDatabase: {c.postgres_database!r} must be a lower-case identifier such as 'openwebui'.")
    if not re.match(r"^[a-z][a-z0-9_]{0,62}$", c.postgres_admin_login) or c.postgres_admin_login in (
            "admin", "administrator", "root", "postgres", "azure_superuser", "azure_pg_admin", "guest", "public"):
        errors.append(f"postgresAdminLogin: {c.postgres_admin_login!r} is not allowed by Azure; use a lower-case "
                      "name that is not reserved (admin, root, postgres, ...), e.g. 'openwebuiadmin'.")
    if not re.match(PgRoleProvider.ROLE_PATTERN, c.postgres_app_role) or c.postgres_app_role in (
            c.postgres_admin_login, "postgres", "public") or c.postgres_app_role.startswith(("pg_", "azure")):
        errors.append(f"postgresAppRole: {c.postgres_app_role!r} must be a lower-case identifier of its own, neither "
                      "the admin login nor a reserved name (pg_*, azure*, postgres, public), e.g. 'openwebui_app'; "
                      "the replicas would otherwise connect with the admin's rights.")
    if c.observability_enabled and (not re.match(PgRoleProvider.ROLE_PATTERN, c.postgres_metrics_role) or
                                    c.postgres_metrics_role in (c.postgres_admin_login, c.postgres_app_role, "postgres",
                                                                "public")
                                    or c.postgres_metrics_role.startswith(("pg_", "azure"))):
        errors.append(f"postgresMetricsRole: {c.postgres_metrics_role!r} must be a lower-case identifier of its own, "
                      "neither the admin login, the app role nor a reserved name (pg_*, azure*, postgres, public), "
                      "e.g. 'openwebui_metrics'; the collector would otherwise count connections with their rights.")
    for ext in c.postgres_extensions:
        if not re.match(PgExtensionProvider.NAME_PATTERN, ext):
            errors.append(f"postgresExtensions: {ext!r} is not an extension name (lower case, e.g. 'vector').")
    errors += _check_preload(c.postgres_extensions, c.postgres_preloaded_libraries)
    errors += [f"postgresPreloadedLibraries: {library!r} is not a library Azure can preload (its "
               f"shared_preload_libraries takes {', '.join(PRELOADABLE)}); a server cannot have loaded it."
               for library in c.postgres_preloaded_libraries if library not in PRELOADABLE]
    if c.vector_db == "pgvector" and "vector" not in c.postgres_extensions:
        errors.append("postgresExtensions: must include 'vector' while vectorDb is pgvector, or Open WebUI "
                      "cannot create its document_chunk table.")
    for rule in c.postgres_firewall_rules:
        try:
            r = firewall_range(rule)
            start, end = ipaddress.IPv4Address(r.start), ipaddress.IPv4Address(r.end)
        except ValueError:
            errors.append(f"postgresFirewallRules: {rule!r} is not an IPv4 range 'start-end' (or one address).")
            continue
        if start > end:
            errors.append(f"postgresFirewallRules: {rule!r} starts after it ends.")
        elif int(end) - int(start) >= 2 ** 24:
            errors.append(f"postgresFirewallRules: {rule!r} opens the server to a large part of the internet "
                          "(0.0.0.0-255.255.255.255 is the whole of it); allow only the addresses that need it "
                          "(the cluster's egress address is admitted already).")
    return errors


def check_restore(c: StackConfig, stack: str, now: datetime) -> list[str]:
    """postgresRestoreFrom/postgresRestorePointInTime: another stack of this project, a time within its backups.
    The restored server holds the source's data directory, roles included: its admin login is the source's."""
    source, when = c.postgres_restore_from, c.postgres_restore_point_in_time
    if not source and not when:
        return []
    if not source or not when:
        return ["postgresRestoreFrom/postgresRestorePointInTime: set both (the stack to restore from and the UTC "
                "time to restore to), or neither."]
    if source == stack:
        return [f"postgresRestoreFrom: {source!r} is this stack: a restore makes a new server, so restoring a stack "
                "into itself would replace the very server it restores from. Restore into a new stack "
                f"(`pulumi stack init {stack}-restore`), check it with `make verify`, then move users to it "
                "(docs/operations.md, 'Backups and restores')."]
    try:
        source_config = StackConfig.of_stack(source)
    except FileNotFoundError:
        return [f"postgresRestoreFrom: no stack {source!r} in this project (no Pulumi.{source}.yaml); name the stack "
                "whose server to restore, such as prod."]
    errors: list[str] = []
    try:
        point = datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return errors + [f"postgresRestorePointInTime: {when!r} is not a UTC time as RFC 3339, such as "
                         f"{(now - timedelta(hours=1)):%Y-%m-%dT%H:%M:00Z}."]
    retention = source_config.postgres_backup_retention_days
    earliest = now - timedelta(days=retention)
    if point > now:
        errors.append(f"postgresRestorePointInTime: {when} is in the future; the latest is now ({now:%Y-%m-%dT%H:%M:%SZ}).")
    elif point < earliest:
        errors.append(f"postgresRestorePointInTime: {when} is older than {source}'s {retention} days of backups "
                      f"(postgresBackupRetentionDays): the earliest is {earliest:%Y-%m-%dT%H:%M:00Z}.")
    if source_config.postgres_admin_login != c.postgres_admin_login:
        errors.append(f"postgresAdminLogin: the restored server keeps {source}'s roles, so its admin login is "
                      f"{source_config.postgres_admin_login!r}; set postgresAdminLogin to it.")
    if source_config.location != c.location:
        errors.append(f"location: a point-in-time restore stays in the source's region; {source} is in "
                      f"{source_config.location}, set location to it.")
    return errors


def _check_preload(extensions: tuple[str, ...], preloaded: tuple[str, ...]) -> list[str]:
    errors = []
    for ext in extensions:
        if ext in LIBRARY_ONLY:
            instead = LIBRARY_ONLY[ext]
            errors.append(f"postgresExtensions: {ext!r} is a library loaded at server start, not an extension; "
                          + (f"list {instead!r} here and {ext!r} in postgresPreloadedLibraries." if instead else
                             "it needs no CREATE EXTENSION: remove it, and load it through shared_preload_libraries."))
        elif ext in PRELOAD_LIBRARIES and PRELOAD_LIBRARIES[ext] not in preloaded:
            library = PRELOAD_LIBRARIES[ext]
            errors.append(f"postgresExtensions: {ext!r} needs its library {library!r} loaded at server start, or "
                          f"CREATE EXTENSION fails after the server exists. Add {library!r} to the server's "
                          f"shared_preload_libraries (a static parameter: `az postgres flexible-server parameter set "
                          f"--name shared_preload_libraries --value <current>,{library}`, then `az postgres "
                          f"flexible-server restart`), then list it in postgresPreloadedLibraries.")
    return errors
