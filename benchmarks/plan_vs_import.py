"""Benchmark (not a test): the offline plan's wall time against its floor, the bare import of the SDK modules
it uses. Target: at most 1.3x. Run with `make bench`; prints the best of several runs of each."""

import subprocess
import sys
import time

from components.stack_config import ROOT

TARGET = 1.3
RUNS = 3
# The SDK modules the plan uses. The Pulumi SDKs load a module's classes lazily, on first touch, so the floor
# touches every class the program declares.
SDK_IMPORTS = """
import pulumi, pulumi_random, pulumi_policy, psycopg, kubernetes_validate, dill, yaml, jsonschema
from pulumi_azure_native import resources, dbforpostgresql, containerservice, network, privatedns, managedidentity
from pulumi_azure_native import authorization, monitor, recoveryservices, operationalinsights, security
import pulumi_azuread
from pulumi_azure_native import storage as azure_storage
from pulumi_kubernetes import core, apps, batch, autoscaling, policy, meta, networking, helm, apiextensions, rbac
from pulumi_kubernetes import Provider
resources.ResourceGroup, dbforpostgresql.Server, dbforpostgresql.Configuration, dbforpostgresql.FirewallRule
dbforpostgresql.Database, containerservice.ManagedCluster, containerservice.AgentPool
containerservice.list_managed_cluster_user_credentials_output, core.v1.Secret, core.v1.Service, core.v1.Namespace
core.v1.PersistentVolumeClaim, core.v1.PersistentVolume, core.v1.ConfigMap, core.v1.ServiceAccount
apps.v1.Deployment, apps.v1.DaemonSet, apps.v1.StatefulSet, batch.v1.Job, rbac.v1.Role, rbac.v1.RoleBinding
networking.v1.NetworkPolicy, networking.v1.Ingress, helm.v3.Release
azure_storage.StorageAccount, azure_storage.FileShare, azure_storage.list_storage_account_keys_output
recoveryservices.Vault, recoveryservices.ProtectionPolicy, recoveryservices.ProtectionContainer
recoveryservices.ProtectedItem
apiextensions.CustomResource, monitor.ActionGroup, monitor.MetricAlert, monitor.DiagnosticSetting
operationalinsights.Workspace, authorization.RoleAssignment, authorization.get_client_config_output
network.PublicIPAddress, network.VirtualNetwork, network.Subnet, privatedns.PrivateZone, privatedns.VirtualNetworkLink
managedidentity.UserAssignedIdentity, authorization.RoleAssignment, authorization.get_client_config_output
autoscaling.v2.HorizontalPodAutoscaler, policy.v1.PodDisruptionBudget, meta.v1.ObjectMetaArgs
"""


def best_of(command: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    floor = best_of([sys.executable, "-c", SDK_IMPORTS])
    plan = best_of([sys.executable, "-m", "offline_plan.plan", "dev"])
    ratio = plan / floor
    print(f"bare SDK import {floor:.2f}s, offline plan (dev) {plan:.2f}s: {ratio:.2f}x the floor "
          f"(target <= {TARGET}x): {'met' if ratio <= TARGET else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
