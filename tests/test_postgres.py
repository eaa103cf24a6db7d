"""PostgresFlexibleServer on its own, under the SDK's mock runtime."""

from typing import Any
from urllib.parse import unquote, urlparse

import pulumi

from components.connection_budget import POSTGRES_SKUS
from components.postgres import FirewallRange, PostgresFlexibleServer, PostgresFlexibleServerArgs, PostgresSettings
from offline_plan.mock_engine import SECURE_PLACEHOLDER, is_secret, reveal, run_components


def settings(**changes: Any) -> PostgresSettings:
    base = dict(sku=POSTGRES_SKUS["Standard_B1ms"], storage_gb=32, backup_retention_days=7,
                geo_redundant_backup=False, high_availability="Disabled", admin_login="openwebuiadmin",
                app_role="openwebui_app",
                database="openwebui", extensions=("vector",),
                firewall_rules=(FirewallRange("203.0.113.7", "203.0.113.7"),), private=False)
    return PostgresSettings(**{**base, **changes})


def build(s: PostgresSettings, protect: bool = False, seen: dict[str, Any] | None = None, **network: Any):
    def declare() -> pulumi.Output[Any]:
        server = PostgresFlexibleServer("pg", PostgresFlexibleServerArgs(
            settings=s, resource_group_name="rg", location="westeurope", tags={"app": "t"}, protect=protect,
            egress_ip_address="198.51.100.20", **network))
        if seen is not None:
            seen["server"] = server
        return server.database_url.apply(lambda url: seen.__setitem__("url", url) if seen is not None else None)
    return run_components(declare)


def test_allow_list_follows_the_requested_extensions():
    run = build(settings(extensions=("vector", "uuid-ossp", "pg_trgm")))
    assert reveal(run.named("pg-azure-extensions").inputs)["value"] == "VECTOR,UUID-OSSP,PG_TRGM"
    assert {r.inputs["name"] for r in run.of_type("pulumi-python:dynamic/postgres:Extension")} == \
        {"vector", "uuid-ossp", "pg_trgm"}


def test_firewall_rules_from_settings():
    run = build(settings())
    rules = {r.name: reveal(r.inputs) for r in run.of_type("azure-native:dbforpostgresql:FirewallRule")}
    # the cluster's egress address, then the deployer's ranges; nothing for "all of Azure" unless listed
    assert set(rules) == {"pg-fw-aks-egress", "pg-fw-203-0-113-7-203-0-113-7"}
    assert rules["pg-fw-aks-egress"]["startIpAddress"] == rules["pg-fw-aks-egress"]["endIpAddress"] == "198.51.100.20"
    assert rules["pg-fw-203-0-113-7-203-0-113-7"]["firewallRuleName"] == "fw-203-0-113-7-203-0-113-7"


def test_private_server_is_vnet_integrated_with_no_public_endpoint_and_no_firewall():
    run = build(settings(private=True), delegated_subnet_id="subnet-id", private_dns_zone_id="zone-id")
    server = reveal(run.named("pg-server").inputs)
    assert server["network"] == {"delegatedSubnetResourceId": "subnet-id", "privateDnsZoneArmResourceId": "zone-id",
                                 "publicNetworkAccess": "Disabled"}
    assert not run.of_type("azure-native:dbforpostgresql:FirewallRule")


def test_protect_applies_to_server_and_database_only():
    assert {r.name for r in build(settings(), protect=True).registrations if r.protect} == {"pg-server", "pg-database"}


def test_tls_is_required_and_auth_is_password():
    run = build(settings())
    assert reveal(run.named("pg-require-secure-transport").inputs)["value"] == "ON"
    server = reveal(run.named("pg-server").inputs)
    assert server["authConfig"]["passwordAuth"] == "Enabled"
    assert server["network"]["publicNetworkAccess"] == "Enabled"


def test_admin_password_is_generated_url_safe_and_secret():
    run = build(settings())
    password = reveal(run.named("pg-admin-password").inputs)
    assert password["length"] >= 32 and password["overrideSpecial"] == "-_"
    assert is_secret(run.named("pg-server").inputs["administratorLoginPassword"])


def test_database_url_is_secret_and_well_formed():
    seen: dict[str, Any] = {}
    build(settings(), seen=seen)
    url = urlparse(seen["url"])
    assert (url.scheme, url.username, unquote(url.password or "")) == ("postgresql", "openwebuiadmin", SECURE_PLACEHOLDER)
    assert url.hostname == "pg-server.postgres.database.azure.com" and url.port == 5432
    assert url.path == "/openwebui" and url.query == "sslmode=require"
    assert pulumi.runtime.sync_await._sync_await(seen["server"].database_url.is_secret())
