"""PostgresFlexibleServer: Azure Database for PostgreSQL Flexible Server (PG16) holding Open WebUI's data and vectors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional
from urllib.parse import quote, unquote, urlsplit

import pulumi
import pulumi_random as random
from pulumi_azure_native import dbforpostgresql

from components.alerts import AlertTarget, MetricRule, metric_alerts
from components.audit import AuditTarget, audit_logs
from components.connection_budget import PostgresSku
from components.locks import delete_lock
from components.pg_extension import PgExtension
from components.pg_provider import PgConnectionArgs
from components.pg_role import PgMonitorRoleProvider, PgRole

POSTGRES_PORT = 5432
PRELOAD_LIBRARIES = {"pg_cron": "pg_cron", "pgaudit": "pgaudit", "pg_hint_plan": "pg_hint_plan",
                     "pg_prewarm": "pg_prewarm", "timescaledb": "timescaledb", "pg_squeeze": "pg_squeeze"}
"""Extension -> the library Azure must load at server start (shared_preload_libraries) before CREATE EXTENSION
works (Azure's 'Load libraries' page)."""
LIBRARY_ONLY = {"pg_partman_bgw": "pg_partman", "auto_explain": None}
"""Preload libraries with no extension of that name: the extension to list instead, if any."""
PRELOADABLE = ("age", "anon", "auto_explain", "azure_storage", "credcheck", "pg_cron", "pg_failover_slots",
               "pg_hint_plan", "pg_partman_bgw", "pg_prewarm", "pg_squeeze", "pg_stat_statements", "pgaudit",
               "pglogical", "timescaledb")
"""The values Azure accepts in a Flexible Server's shared_preload_libraries (its 'Load libraries' page, PostgreSQL
16): a server can preload no other."""
STORAGE_SIZES_GB = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767)
"""The sizes Azure offers a Flexible Server's (Premium SSD) storage, P4 to P80; it refuses any other at deploy, and
auto-grow moves a server up these same steps."""


def database_url(login: str, password: str, host: str, database: str, port: int = POSTGRES_PORT) -> str:
    """The postgresql:// URL Open WebUI gets (TLS required, as Azure does); `make e2e` builds its local one here too."""
    return f"postgresql://{quote(login, safe='')}:{quote(password, safe='')}@{host}:{port}/{database}?sslmode=require"


STORAGE_ALERT_PERCENT = 80
CPU_ALERT_PERCENT = 80
"""Where its alerts fire (and the database dashboard draws its lines)."""

@dataclass(frozen=True)
class FirewallRange:
    start: str
    end: str

    @property
    def resource_suffix(self) -> str:
        if self.start == self.end == "0.0.0.0":
            return "azure-services"
        return f"{self.start}-{self.end}".replace(".", "-")


@dataclass(frozen=True)
class PostgresRestore:
    """The server is born from another stack's server as it was at a point in time (validated in config.py)."""

    from_stack: str
    point_in_time: str
    """RFC 3339, UTC."""


@dataclass(frozen=True)
class PostgresSettings:
    sku: PostgresSku
    storage_gb: int
    backup_retention_days: int
    geo_redundant_backup: bool
    high_availability: str
    admin_login: str
    app_role: str
    """The login role Open WebUI's replicas connect as (components/pg_role.py), not the admin."""
    database: str
    extensions: tuple[str, ...]
    firewall_rules: tuple[FirewallRange, ...]
    """The deployer's ranges (public network mode); the cluster's egress address is added to them."""
    private: bool
    """VNet-integrated with no public endpoint (postgresNetwork private)."""
    restore: Optional[PostgresRestore] = None
    metrics_role: Optional[str] = None
    """The login role the collector counts connections as (CONNECT only); None without observability."""


@dataclass
class PostgresFlexibleServerArgs:
    settings: PostgresSettings
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    tags: Mapping[str, str]
    protect: bool
    """Protect the server and the database from deletion (prod)."""
    egress_ip_address: pulumi.Input[str]
    """The cluster's outbound address: the firewall admits it in public mode."""
    delegated_subnet_id: Optional[pulumi.Input[str]] = None
    private_dns_zone_id: Optional[pulumi.Input[str]] = None
    dns_zone_link: Optional[pulumi.Resource] = None
    """Private mode: the server is created once its DNS zone is linked to the VNet."""
    app_connection_limit: int = 1
    """The app role's CONNECTION LIMIT: its share of the connection budget (the replicas at the peak and the surge)."""
    metrics_connection_limit: int = 1
    """The metrics role's: its share (the collector's one connection)."""
    alerts: Optional[AlertTarget] = None
    audit: Optional[AuditTarget] = None
    """Where its logs go: connections (log_connections is on by default on Azure), disconnections, errors."""
    connection_alert_threshold: int = 0
    """active_connections above this alerts (ConnectionBudget.alert_threshold: 80% of what apps may use)."""


class PostgresFlexibleServer(pulumi.ComponentResource):
    """The server, its settings, firewall rules, the Open WebUI database and its extensions.

    Server parameters are applied one after another: Azure answers ServerIsBusy to parallel changes.
    """

    fqdn: pulumi.Output[str]
    server_id: pulumi.Output[str]
    """What another stack restores from (postgresRestoreFrom names this stack; it reads the stack's output)."""
    server_name: pulumi.Output[str]
    """The server's Azure name (its metrics' resource)."""
    database_name: pulumi.Output[str]
    database_url: pulumi.Output[str]
    """postgresql:// URL of the admin (secret): the schema Job (Alembic), the data-migration Job, `make verify`."""
    app_database_url: pulumi.Output[str]
    """postgresql:// URL of the app role (secret): Open WebUI's replicas, DATABASE_URL and PGVECTOR_DB_URL."""
    metrics_database_url: Optional[pulumi.Output[str]]
    """postgresql:// URL of the metrics role (secret), when the settings name one: the OpenTelemetry Collector."""
    extensions: list[PgExtension]
    server_resource_name: str
    """The logical name of the Server resource: workloads name it in their openwebui.io/postgres-server annotation."""

    def __init__(self, name: str, args: PostgresFlexibleServerArgs,
                 opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:postgres:PostgresFlexibleServer", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        protected = pulumi.ResourceOptions(parent=self, protect=args.protect)

        restore = s.restore
        source_server_id: Optional[pulumi.Output[str]] = None
        if restore:
            # The restored data directory keeps the source's roles: the admin's password is the source's.
            source = pulumi.StackReference(
                f"{name}-restore-source",
                stack_name=f"{pulumi.get_organization()}/{pulumi.get_project()}/{restore.from_stack}", opts=child)
            source_server_id = source.require_output("postgresServerId").apply(str)
            admin_password: pulumi.Output[str] = pulumi.Output.secret(
                source.require_output("databaseUrl").apply(lambda url: unquote(urlsplit(str(url)).password or "")))
        else:
            password = random.RandomPassword(f"{name}-admin-password", random.RandomPasswordArgs(
                length=32, special=True, override_special="-_", min_upper=2, min_lower=2, min_numeric=2,
                min_special=2), opts=child)
            # RandomPassword.result is already secret; saying so here keeps it secret wherever it flows.
            admin_password = pulumi.Output.secret(password.result)

        self.server_resource_name = f"{name}-server"
        server = dbforpostgresql.Server(
            self.server_resource_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            version=dbforpostgresql.PostgresMajorVersion.POSTGRES_MAJOR_VERSION_16,
            sku=dbforpostgresql.SkuArgs(name=s.sku.name, tier=s.sku.tier),
            storage=dbforpostgresql.StorageArgs(storage_size_gb=s.storage_gb,
                                                auto_grow=dbforpostgresql.StorageAutoGrow.ENABLED),
            backup=dbforpostgresql.BackupArgs(
                backup_retention_days=s.backup_retention_days,
                geo_redundant_backup=(dbforpostgresql.GeographicallyRedundantBackup.ENABLED if s.geo_redundant_backup
                                      else dbforpostgresql.GeographicallyRedundantBackup.DISABLED)),
            high_availability=dbforpostgresql.HighAvailabilityArgs(mode=s.high_availability),
            network=dbforpostgresql.NetworkArgs(
                delegated_subnet_resource_id=args.delegated_subnet_id,
                private_dns_zone_arm_resource_id=args.private_dns_zone_id,
                public_network_access=dbforpostgresql.ServerPublicNetworkAccessState.DISABLED) if s.private else
            dbforpostgresql.NetworkArgs(public_network_access=dbforpostgresql.ServerPublicNetworkAccessState.ENABLED),
            auth_config=dbforpostgresql.AuthConfigArgs(
                password_auth=dbforpostgresql.PasswordBasedAuth.ENABLED,
                active_directory_auth=dbforpostgresql.MicrosoftEntraAuth.DISABLED),
            administrator_login=s.admin_login,
            administrator_login_password=admin_password,
            create_mode=dbforpostgresql.CreateMode.POINT_IN_TIME_RESTORE if restore else None,
            source_server_resource_id=source_server_id,
            point_in_time_utc=restore.point_in_time if restore else None,
            tags=dict(args.tags),
            # Public access and VNet integration are chosen at creation: a change of mode is a new server, and
            # `pulumi preview` shows it as a replacement (which prod's protect refuses) rather than an update
            # Azure would reject half-way. See docs/network-and-edge.md, 'Network'.
            # How the server was born matters only when it is created: adding or removing a restore later must
            # never replace a server holding data (docs/operations.md, 'Backups and restores').
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, replace_on_changes=["network"],
                                        ignore_changes=["createMode", "sourceServerResourceId", "pointInTimeUTC"],
                                        additional_secret_outputs=["administrator_login_password"],
                                        depends_on=[args.dns_zone_link] if args.dns_zone_link else None))

        # azure.extensions is the WHOLE allow list: this value replaces whatever was there.
        parameters = {
            "azure.extensions": ",".join(e.upper() for e in s.extensions),
            "require_secure_transport": "ON",
        }
        previous: list[pulumi.Resource] = []
        configurations: dict[str, dbforpostgresql.Configuration] = {}
        for parameter, value in parameters.items():
            configurations[parameter] = dbforpostgresql.Configuration(
                f"{name}-{parameter.replace('.', '-').replace('_', '-')}",
                configuration_name=parameter, value=value, source="user-override",
                server_name=server.name, resource_group_name=args.resource_group_name,
                opts=pulumi.ResourceOptions(parent=self, depends_on=previous))
            previous = [configurations[parameter]]

        firewall_rules = [] if s.private else [
            dbforpostgresql.FirewallRule(
                f"{name}-fw-{suffix}", firewall_rule_name=f"fw-{suffix}", start_ip_address=start, end_ip_address=end,
                server_name=server.name, resource_group_name=args.resource_group_name, opts=child)
            for suffix, start, end in [("aks-egress", args.egress_ip_address, args.egress_ip_address)]
            + [(rule.resource_suffix, rule.start, rule.end) for rule in s.firewall_rules]
        ]

        audit_logs(f"{name}-server", server.id, ["PostgreSQLLogs"], args.audit, self)
        delete_lock(f"{name}-server", server.id, args.protect, self,
                    "Open WebUI's PostgreSQL server (users, chats, vectors)")
        database = dbforpostgresql.Database(
            f"{name}-database", database_name=s.database, charset="UTF8", collation="en_US.utf8",
            server_name=server.name, resource_group_name=args.resource_group_name, opts=protected)

        connection = PgConnectionArgs(host=server.fully_qualified_domain_name, database=database.name,
                                      user=s.admin_login, password=admin_password, port=POSTGRES_PORT)
        self.extensions = [
            PgExtension(f"{name}-extension-{extension}", connection, name=extension,
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[
                            configurations["azure.extensions"], database, *firewall_rules]))
            for extension in s.extensions
        ]

        if args.alerts:
            metric_alerts(name, server.id, "Microsoft.DBforPostgreSQL/flexibleServers", [
                MetricRule("connections", "active_connections", "GreaterThan", args.connection_alert_threshold,
                           "Maximum", "Connections near the budget's capacity: at capacity new connections are refused "
                                      "(remaining connection slots are reserved / too many clients)."),
                MetricRule("storage", "storage_percent", "GreaterThan", STORAGE_ALERT_PERCENT, "Average",
                           f"Storage over {STORAGE_ALERT_PERCENT}%: a full server goes read-only. Raise "
                           "postgresStorageGb."),
                MetricRule("cpu", "cpu_percent", "GreaterThan", CPU_ALERT_PERCENT, "Average",
                           f"CPU over {CPU_ALERT_PERCENT}% for 15 minutes: queries slow down (Burstable runs out of "
                           "credits)."),
            ], args.alerts, parent=self)

        self.fqdn = server.fully_qualified_domain_name
        self.server_id = server.id
        self.server_name = server.name
        self.database_name = database.name

        # The URL is handed out only once the extensions exist: whatever connects with it (the schema Job
        # that creates document_chunk's vector column) waits for them through the data flow.
        installed = [extension.installed_version for extension in self.extensions]
        self.database_url = pulumi.Output.secret(pulumi.Output.all(
            server.fully_qualified_domain_name, database.name, admin_password, *installed).apply(
            lambda parts: database_url(s.admin_login, parts[2], parts[0], parts[1])))
        app_password = random.RandomPassword(f"{name}-app-password", length=32, special=False, opts=child)
        app = PgRole(f"{name}-app-role", connection, role=s.app_role, role_password=app_password.result,
                     connection_limit=args.app_connection_limit,
                     opts=pulumi.ResourceOptions(parent=self, depends_on=[database, *self.extensions, *firewall_rules]))
        self.app_database_url = pulumi.Output.secret(pulumi.Output.all(
            server.fully_qualified_domain_name, database.name, app_password.result, app.role, *installed).apply(
            lambda parts: database_url(parts[3], parts[2], parts[0], parts[1])))
        self.metrics_database_url = None
        if s.metrics_role:
            metrics_password = random.RandomPassword(f"{name}-metrics-password", length=32, special=False, opts=child)
            metrics = PgRole(f"{name}-metrics-role", connection, role=s.metrics_role,
                             role_password=metrics_password.result, connection_limit=args.metrics_connection_limit,
                             provider=PgMonitorRoleProvider(),
                             opts=pulumi.ResourceOptions(parent=self, depends_on=[database, *firewall_rules]))
            self.metrics_database_url = pulumi.Output.secret(pulumi.Output.all(
                server.fully_qualified_domain_name, database.name, metrics_password.result, metrics.role).apply(
                lambda parts: database_url(parts[3], parts[2], parts[0], parts[1])))
        self.register_outputs({"fqdn": self.fqdn, "database_name": self.database_name,
                               "database_url": self.database_url, "app_database_url": self.app_database_url})
