"""The least-privilege policies: the app is not its database's admin, the uploads' storage account is closed to the
internet, the backups' vault is immutable with soft delete always on, and no pod reaches the node's instance
metadata endpoint. Advisory by default; policy/prod.json makes them mandatory."""

from __future__ import annotations

import ipaddress
from typing import Any, Mapping

from pulumi_policy import PolicyConfigSchema, ReportViolation, ResourceValidationArgs, StackValidationArgs

from components.connection_budget import POSTGRES_ROLE_ANNOTATION, POSTGRES_SERVER_ANNOTATION
from resources import (DEPLOYMENT, NETWORK_POLICY, SERVER, STATEFUL_SET, WORKLOADS, is_open_webui, known,
                       metadata, with_defaults)

ROLE = "pulumi-python:dynamic/postgres:Role"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
VAULT = "azure-native:recoveryservices:Vault"
INSTANCE_METADATA = ipaddress.IPv4Network("169.254.169.254/32")

VAULT_SCHEMA = PolicyConfigSchema(properties={
    "requireLockedImmutability": {"type": "boolean", "default": False,
                                  "description": "Immutability must be Locked (irreversible), not only Unlocked."},
})


# app-not-postgres-admin ---------------------------------------------------------------------------

def app_not_postgres_admin(args: StackValidationArgs, report: ReportViolation) -> None:
    """Each Open WebUI workload names the role it connects as, a role the stack makes (PgRole), never its server's
    admin: code run in a replica (a Function, a Tool, an injection) then holds the app's grants, not
    azure_pg_admin's."""
    admins = {r.name: known(lambda: r.props.get("administratorLogin")) for r in args.resources
              if r.resource_type == SERVER}
    made = {str(known(lambda: r.props.get("role"), "")) for r in args.resources if r.resource_type == ROLE}
    for r in args.resources:
        if r.resource_type not in (DEPLOYMENT, STATEFUL_SET) or not known(lambda: is_open_webui(r.props), False):
            continue
        annotations: Mapping[str, Any] = known(lambda: metadata(r.props).get("annotations"), {}) or {}
        role, server = annotations.get(POSTGRES_ROLE_ANNOTATION), annotations.get(POSTGRES_SERVER_ANNOTATION)
        admin = admins.get(str(server)) if server else next(iter(admins.values()), None)
        if role and role != admin and role in made:
            continue
        report(f"{r.name} connects to PostgreSQL as "
               + (f"the server's admin {role!r}" if role and role == admin else
                  f"{role!r}, a role the stack does not make" if role else "a role it does not name")
               + ": anything run in a replica could create roles, read every database and drop the app's. Connect "
                 f"as a role of its own (components/pg_role.py: postgresAppRole) and name it in the "
                 f"{POSTGRES_ROLE_ANNOTATION} annotation.", r.urn)


# storage-not-public -------------------------------------------------------------------------------

def storage_not_public(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != STORAGE_ACCOUNT:
        return
    rules = known(lambda: args.props.get("networkRuleSet"), {}) or {}
    public = known(lambda: args.props.get("publicNetworkAccess"), "Enabled")
    if public != "Disabled" and rules.get("defaultAction") != "Deny":
        report("the storage account takes traffic from anywhere on the internet: whoever holds its key reads or "
               "wipes every file and, with them, the share's snapshots. Set networkRuleSet.defaultAction Deny "
               "(bypass AzureServices, so Azure Backup still reaches it) and admit the cluster only, or disable "
               "public network access behind a private endpoint.", None)


# backup-immutable ---------------------------------------------------------------------------------

def backup_immutable(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != VAULT:
        return
    config = with_defaults(VAULT_SCHEMA, args.get_config())
    security = (known(lambda: args.props.get("properties"), {}) or {}).get("securitySettings") or {}
    immutability = (security.get("immutabilitySettings") or {}).get("state", "Disabled")
    soft_delete = (security.get("softDeleteSettings") or {}).get("softDeleteState", "Enabled")
    wanted = ("Locked",) if config["requireLockedImmutability"] else ("Unlocked", "Locked")
    if immutability not in wanted:
        report(f"the vault's immutability is {immutability}: an intruder with the deploy identity could shorten "
               f"retention and let every recovery point expire. Set securitySettings.immutabilitySettings.state "
               f"{' or '.join(wanted)} (Locked cannot be undone).", None)
    if soft_delete != "AlwaysON":
        report(f"the vault's soft delete is {soft_delete}: it can be switched off and the backups then deleted at "
               "once. Set securitySettings.softDeleteSettings.softDeleteState AlwaysON.", None)


# no-instance-metadata -----------------------------------------------------------------------------

def _covers(cidr: str) -> bool:
    network = ipaddress.ip_network(cidr, strict=False)
    return isinstance(network, ipaddress.IPv4Network) and INSTANCE_METADATA.subnet_of(network)


def _blocks_metadata(policy: Mapping[str, Any]) -> bool:
    """An egress policy for every pod of its namespace that lets no rule reach the metadata endpoint."""
    spec = policy.get("spec") or {}
    selector = spec.get("podSelector") or {}
    if selector.get("matchLabels") or selector.get("matchExpressions") or "Egress" not in (
            spec.get("policyTypes") or []):
        return False
    for rule in spec.get("egress") or []:
        peers = rule.get("to") or []
        if not peers:
            return False  # a rule with no peers allows everything
        for peer in peers:
            block = peer.get("ipBlock")
            if block and _covers(block["cidr"]) and not any(_covers(e) for e in block.get("except") or []):
                return False
    return True


def no_instance_metadata(args: StackValidationArgs, report: ReportViolation) -> None:
    namespaces = {str(known(lambda: metadata(r.props).get("namespace"), "")) for r in args.resources
                  if r.resource_type in WORKLOADS}
    guarded = {str(known(lambda: metadata(r.props).get("namespace"), "")) for r in args.resources
               if r.resource_type == NETWORK_POLICY and known(lambda: _blocks_metadata(r.props), False)}
    for namespace in sorted(n for n in namespaces - guarded if n and not n.startswith("kube-")):
        report(f"pods in namespace '{namespace}' can reach the node's instance metadata endpoint "
               f"({INSTANCE_METADATA.network_address}), where Azure hands out the node identity's tokens. Add an "
               "egress NetworkPolicy for every pod (podSelector: {}) allowing 0.0.0.0/0 except 169.254.169.254/32 "
               "and the cluster's pods.", None)
