"""The offline plan: render and check a stack with no Pulumi CLI, no cloud and no credentials.

    python -m offline_plan.plan [dev|prod]        (the README's `make plan`, `make plan STACK=prod`)

Runs the real program for the stack under the SDK's mock runtime, then prints the resource tree, the connection
budget and the policy pack's verdict (the pack itself, over its gRPC analyzer), and writes
build/<stack>/manifests/*.yaml (each validated against the Kubernetes OpenAPI schema of the cluster's version)
and build/<stack>/plan.json for CI.

Exit status: 0 clean; 1 a mandatory policy failed or a manifest is invalid; 2 the configuration is bad
(the connection budget included).
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import kubernetes_validate
import kubernetes_validate.utils
import yaml

from components.stack_config import ConfigError
from components.cost import estimate
from components.upgrade import image_tag, release_heads, upgrade_kind
from components.stack_config import ROOT
from offline_plan.mock_engine import MockRun, Registration, reveal, run_program, stack_config
from offline_plan.policy_client import PolicyPackServer, Violation, check_stack
from offline_plan.pinned_schemas import is_custom_resource, validate_custom_resource, validate_release

# kubernetes-validate re-reads its schema files on every call, the 1.4 MB shared definitions included; they do not
# change while the plan runs, so each is read once.
kubernetes_validate.utils.schema_contents = functools.cache(kubernetes_validate.utils.schema_contents)

# libyaml's dumper where available: the same YAML as the pure-Python SafeDumper, several times faster.
SAFE_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
REDACTED = "[secret]"
EXIT_POLICY_OR_MANIFEST = 1
EXIT_CONFIG = 2

# The settings worth seeing in the tree, per resource type.
OPERATORS = {"GreaterThan": ">", "GreaterThanOrEqual": ">=", "LessThan": "<", "LessThanOrEqual": "<="}
KEY_SETTINGS: dict[str, Callable[[dict[str, Any]], str]] = {
    "azure-native:resources:ResourceGroup": lambda i: f"location={i.get('location')}",
    "azure-native:dbforpostgresql:Server": lambda i: (
        f"PG{i.get('version')} {i['sku']['name']} ({i['sku']['tier']}), {i['storage']['storageSizeGB']} GiB, "
        f"backups {i['backup']['backupRetentionDays']}d geo={i['backup']['geoRedundantBackup']}, "
        f"HA={i['highAvailability']['mode']}, network="
        f"{'private (VNet)' if i.get('network', {}).get('delegatedSubnetResourceId') else 'public (firewall)'}"),
    "azure-native:dbforpostgresql:Configuration": lambda i: f"{i.get('configurationName')}={i.get('value')}",
    "azure-native:dbforpostgresql:FirewallRule": lambda i: f"{i.get('startIpAddress')}-{i.get('endIpAddress')}",
    "azure-native:dbforpostgresql:Database": lambda i: f"database={i.get('databaseName')}",
    "pulumi-python:dynamic/postgres:Extension": lambda i: f"CREATE EXTENSION {i.get('name')}",
    "azure-native:containerservice:ManagedCluster": lambda i: (
        f"k8s {i.get('kubernetesVersion')}, system pool {i['agentPoolProfiles'][0]['count']} x "
        f"{i['agentPoolProfiles'][0]['vmSize']}, Entra ID + Azure RBAC"
        + (", local accounts off" if i.get("disableLocalAccounts") else ", LOCAL ACCOUNTS ON")
        + (", private API server" if (i.get("apiServerAccessProfile") or {}).get("enablePrivateCluster") else
           f", API server for {', '.join(i['apiServerAccessProfile']['authorizedIPRanges'])}"
           if (i.get("apiServerAccessProfile") or {}).get("authorizedIPRanges") else ", API server open to the internet")),
    "azure-native:monitor:DiagnosticSetting": lambda i: (
        "logs " + ", ".join(str(log.get("category") or log.get("categoryGroup")) for log in i["logs"])
        + " to the audit workspace"),
    "azure-native:operationalinsights:Workspace": lambda i: f"Log Analytics, kept {i['retentionInDays']} days",
    "azure-native:containerservice:AgentPool": lambda i: (
        f"{i.get('vmSize')}, " + (f"autoscale {i.get('minCount')}..{i.get('maxCount')}" if i.get('enableAutoScaling')
                                  else f"{i.get('count')} nodes") + f", taints {i.get('nodeTaints')}"),
    "kubernetes:apps/v1:Deployment": lambda i: (
        f"{i['spec'].get('strategy', {}).get('type', 'RollingUpdate')}, "
        f"image {i['spec']['template']['spec']['containers'][0]['image']}"),
    "kubernetes:batch/v1:Job": lambda i: f"job {i['metadata']['name']}",
    "kubernetes:apps/v1:StatefulSet": lambda i: statefulset(i),
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": lambda i: (
        f"{i['spec']['minReplicas']}..{i['spec']['maxReplicas']} replicas at "
        f"{i['spec']['metrics'][0]['resource']['target']['averageUtilization']}% CPU"),
    "kubernetes:core/v1:PersistentVolumeClaim": lambda i: (
        f"{','.join(i['spec']['accessModes'])} {i['spec']['resources']['requests']['storage']}"),
    "kubernetes:core/v1:PersistentVolume": lambda i: (
        f"{i['spec']['csi']['driver']} {i['spec']['csi']['volumeHandle']}, reclaim "
        f"{i['spec']['persistentVolumeReclaimPolicy']}"),
    "azure-native:storage:StorageAccount": lambda i: (
        f"{i.get('kind')} {i['sku']['name']}, public network {i.get('publicNetworkAccess')}, default "
        f"{i['networkRuleSet']['defaultAction']} (bypass {i['networkRuleSet']['bypass']}), admits "
        + (", ".join(r['iPAddressOrRange'] for r in i['networkRuleSet'].get('ipRules', [])) or "no address")),
    "azure-native:network:PrivateEndpoint": lambda i: (
        "private endpoint for " + ", ".join(g for c in i['privateLinkServiceConnections'] for g in c['groupIds'])),
    "azure-native:recoveryservices:Vault": lambda i: (
        f"public network {i['properties']['publicNetworkAccess']}, immutability "
        f"{i['properties']['securitySettings']['immutabilitySettings']['state']}, soft delete "
        f"{i['properties']['securitySettings']['softDeleteSettings']['softDeleteState']}"),
    "azure-native:authorization:ManagementLockByScope": lambda i: f"{i['level']} ({i['lockName']})",
    "azure-native:storage:FileShare": lambda i: f"share {i.get('shareName')}, {i.get('shareQuota')} GiB",
    "azure-native:recoveryservices:ProtectionPolicy": lambda i: (
        f"{i['properties']['schedulePolicy']['scheduleRunFrequency'].lower()} at "
        f"{i['properties']['schedulePolicy']['scheduleRunTimes'][0][11:16]} {i['properties'].get('timeZone', 'UTC')}, "
        f"kept {i['properties']['retentionPolicy']['dailySchedule']['retentionDuration']['count']} days"),
    "azure-native:recoveryservices:ProtectedItem": lambda i: f"protects {i['properties'].get('friendlyName')}",
    "kubernetes:core/v1:Service": lambda i: f"{i['spec'].get('type', 'ClusterIP')}",
    "azure-native:network:VirtualNetwork": lambda i: f"{', '.join(i['addressSpace']['addressPrefixes'])}",
    "azure-native:network:Subnet": lambda i: (
        f"{i.get('addressPrefix')}"
        + "".join(f", delegated to {d['serviceName']}" for d in i.get("delegations", []))),
    "azure-native:network:PublicIPAddress": lambda i: f"{i['sku']['name']} {i.get('publicIPAllocationMethod')}",
    "azure-native:privatedns:PrivateZone": lambda i: f"{i.get('privateZoneName')}",
    "azure-native:monitor:MetricAlert": lambda i: "; ".join(
        f"{c['metricName']} {OPERATORS.get(c['operator'], c['operator'])} {c['threshold']} ({c['timeAggregation']} "
        f"over {i['windowSize']})" for c in i["criteria"]["allOf"]),
    "azure-native:monitor:ActionGroup": lambda i: (
        "email " + ", ".join(r["emailAddress"] for r in i["emailReceivers"]) if i.get("emailReceivers")
        else "no receivers (alertEmail is empty)"),
    "pulumi-python:dynamic/postgres:Role": lambda i: (
        f"login role {i['role']} in {i['database']}, CONNECTION LIMIT {i['connection_limit']}, not the admin "
        f"{i['user']}"),
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": lambda i: (
        f"pods {i['spec']['podSelector'].get('matchLabels', 'all')}, "
        + (f"from {len(i['spec'].get('ingress', []))} rule(s)" if i['spec'].get('ingress') else "deny all ingress")),
}


def statefulset(i: dict[str, Any]) -> str:
    spec = i["spec"]
    containers = spec["template"]["spec"]["containers"]
    gpus = sum(int(c.get("resources", {}).get("limits", {}).get("nvidia.com/gpu", 0)) for c in containers)
    disks = ", ".join(f"{t['metadata']['name']} {t['spec']['resources']['requests']['storage']}"
                      for t in spec.get("volumeClaimTemplates", []))
    args: list[str] = next((c["command"] for c in containers if "--models" in c.get("command", [])), [])
    models = args[args.index("--models") + 1] if args else "none"
    return (f"{spec.get('replicas', 1)} replicas x {gpus} GPU, image {containers[0]['image']}, models {models}, "
            f"disk per replica: {disks or 'none'}")


def tree(run: MockRun) -> list[str]:
    children: dict[str, list[Registration]] = {}
    for r in run.registrations:
        children.setdefault(r.parent, []).append(r)
    urns = {r.urn for r in run.registrations}
    stack_urns = {r.parent for r in run.registrations if r.parent not in urns}  # the root Stack
    lines: list[str] = []

    def walk(parent: str, depth: int) -> None:
        for r in sorted(children.get(parent, []), key=lambda x: (x.type.startswith("openwebui:"), x.name)):
            describe = KEY_SETTINGS.get(r.type)
            detail = ""
            if describe:
                detail = "  " + describe(_ints(reveal(r.inputs, REDACTED)))
            flags = " [protected]" if r.protect else ""
            lines.append(f"{'  ' * depth}{r.name}  ({r.type}){flags}{detail}")
            walk(r.urn, depth + 1)

    for urn in stack_urns:
        walk(urn, 0)
    return lines


def _ints(value: Any) -> Any:
    """Protobuf Structs carry every number as a float; Kubernetes wants integers where they are whole."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def manifests(run: MockRun) -> list[dict[str, Any]]:
    """The Kubernetes objects the program declares itself (a Helm release's objects are the chart's)."""
    return [_ints(reveal(r.inputs, REDACTED)) for r in run.registrations
            if r.type.startswith("kubernetes:") and r.type != HELM_RELEASE]


def releases(run: MockRun) -> list[dict[str, Any]]:
    return [_ints(reveal(r.inputs, REDACTED)) for r in sorted(run.of_type(HELM_RELEASE), key=lambda r: r.urn)]


def write_manifests(objects: list[dict[str, Any]], directory: Path, kubernetes_version: str) -> list[str]:
    """Writes one file per object; returns the validation errors (empty when every manifest is valid)."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    errors = []
    for obj in objects:
        meta = obj.get("metadata", {})
        stem = "-".join(x for x in (obj["kind"].lower(), meta.get("namespace"), meta.get("name")) if x)
        (directory / f"{re.sub(r'[^a-z0-9.-]+', '-', stem)}.yaml").write_text(yaml.dump(obj, Dumper=SAFE_DUMPER, sort_keys=False))
        if is_custom_resource(obj):
            errors += validate_custom_resource(obj)
            continue
        try:
            kubernetes_validate.validate(obj, kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as e:
            errors.append(f"{obj['kind']}/{meta.get('name')}: {e.message} at {'.'.join(map(str, e.path))}")
    return errors


def committed_image_tag(stack: str) -> Optional[str]:
    """The stack's image tag as git HEAD has it (its Pulumi.<stack>.yaml over Pulumi.yaml): what a change replaces."""
    def show(path: str) -> Any:
        found = subprocess.run(["git", "show", f"HEAD:{path}"], cwd=ROOT, capture_output=True, text=True)
        return yaml.safe_load(found.stdout) if found.returncode == 0 else None

    project, own = show("Pulumi.yaml"), show(f"Pulumi.{stack}.yaml")
    if project is None:
        return None
    image = ((own or {}).get("config") or {}).get(f"{project['name']}:image", project["config"]["image"]["default"])
    return f"{image_tag(str(image))}" or None


def upgrade_lines(target: str, running: Optional[str], source: str) -> list[str]:
    heads = release_heads()
    lines = [f"  image {target}: Alembic head {heads.get(target, 'unknown (not in components/releases.json)')}"]
    if running is None or running == target:
        lines.append(f"  no image change against {source}; `make plan FROM=<tag>` says what an upgrade from a tag does")
    else:
        upgrade = upgrade_kind(running, target, heads)
        lines.append(f"  from {running} ({source}): {upgrade.kind.upper()}: {upgrade.reason}")
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("stack", nargs="?", default="dev")
    parser.add_argument("--from", dest="running", help="the running image tag (default: the stack's at git HEAD)")
    args = parser.parse_args(argv)
    with PolicyPackServer() as pack:  # starts now, on the other core, while the program runs
        return plan(args.stack, pack, args.running)


def plan(stack: str, pack: PolicyPackServer, running: Optional[str] = None) -> int:
    out = ROOT / "build" / stack
    print(f"== offline plan for stack '{stack}' (no credentials: the SDK's mock runtime)")
    try:
        run = run_program(stack)
    except (ConfigError, FileNotFoundError) as e:  # a bad value, or no Pulumi.<stack>.yaml at all
        print(f"\nFAILED: the configuration of stack '{stack}' is invalid.\n{e}")
        return EXIT_CONFIG

    print(f"\n-- resources ({len(run.registrations)})")
    print("\n".join(tree(run)))

    target = run.outputs["openWebUI"]["imageTag"]
    print("\n-- upgrade: what this image does to the running Open WebUI (docs/upgrades-and-migrations.md, 'Upgrades')")
    print("\n".join(upgrade_lines(target, running or committed_image_tag(stack),
                                   "FROM" if running else "the image at git HEAD")))

    budget = run.outputs["connectionBudget"]
    print("\n-- capacity at the peak: each of the family checked before anything is declared (config validation), "
          "and again by the policy pack")
    for check in run.outputs["capacity"]:
        print(f"  {check['title']}: {'fits' if check['within'] else 'DOES NOT FIT'}")
        print("\n".join(f"    {line}" for line in check["arithmetic"].splitlines()))
    print("  the server enforces its share: " + ", ".join(
        f"role {role} CONNECTION LIMIT {limit}" for role, limit in budget["roleLimits"].items())
          + " (the replicas at the peak and the surge); the admin runs only the schema Job, the data-migration Job and "
            "the extensions")

    print(f"\n-- edge\n  users open {run.outputs['url']} (HTTP redirects there; certificate from Let's Encrypt "
          f"{run.outputs['acmeIssuer']})")
    print(f"\n-- sign-in\n  {run.outputs['signIn']}")

    # by URN: the SDK registers resources in whatever order their inputs resolve, and the PR's cost table diffs lines
    bill = estimate((r.name, r.type, _ints(reveal(r.inputs, REDACTED)))
                    for r in sorted(run.registrations, key=lambda r: r.urn))
    print(f"\n-- estimated monthly cost (an ESTIMATE from components/prices.json: list prices, {bill.region}, "
          f"{bill.date})")
    print("\n".join(bill.table()))

    if run.outputs.get("ollamaModels"):
        print(f"\n-- Ollama: models on every replica: {', '.join(run.outputs['ollamaModels'])}")

    violations: list[Violation] = check_stack(pack, stack, run.registrations)
    print(f"\n-- policy pack (policy/, config policy/{stack}.json): {len(violations)} violation(s)")
    for v in violations:
        print(f"  [{v.enforcement}] {v.policy}: {v.message}")

    config, _ = stack_config(stack)
    version = f"{config['openwebui-aks:aksKubernetesVersion']}.0"
    objects = manifests(run)
    manifest_errors = write_manifests(objects, out / "manifests", version)
    charts = releases(run)
    for release in charts:
        manifest_errors += validate_release(release)
    print(f"\n-- {len(objects)} Kubernetes manifests in {out.relative_to(ROOT)}/manifests, checked against the "
          f"Kubernetes {version} OpenAPI schema (custom resources against their CRD's), and {len(charts)} Helm "
          f"releases' values against their charts' schemas: {'all valid' if not manifest_errors else 'INVALID'}")
    for release in charts:
        print(f"  helm {release['name']} {release['chart']} {release['version']} from "
              f"{release['repositoryOpts']['repo']} in namespace {release['namespace']}")
    for error in manifest_errors:
        print(f"  {error}")

    summary = {
        "stack": stack,
        "resources": [{"type": r.type, "name": r.name, "parent": r.parent, "protect": r.protect}
                      for r in run.registrations],
        "budget": budget,
        "violations": [{"policy": v.policy, "enforcement": v.enforcement, "message": v.message, "urn": v.urn}
                       for v in violations],
        "manifestErrors": manifest_errors,
        "url": run.outputs["url"],
        "signIn": run.outputs["signIn"],
        "openWebUI": run.outputs["openWebUI"],
        "monthlyCostUsd": {"min": bill.low, "max": bill.high},
        "bill": [{"item": line.item, "min": line.low, "max": line.high, "arithmetic": line.arithmetic}
                 for line in bill.lines],
    }
    (out / "plan.json").write_text(json.dumps(summary, indent=2))

    mandatory = [v for v in violations if v.mandatory]
    if mandatory or manifest_errors:
        print(f"\nFAILED: {len(mandatory)} mandatory policy violation(s), {len(manifest_errors)} invalid manifest(s).")
        return EXIT_POLICY_OR_MANIFEST
    print(f"\nOK: stack '{stack}' renders, fits its capacity (connections, GPUs, nodes) and passes the policy pack.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
