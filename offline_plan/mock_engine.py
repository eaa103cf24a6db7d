"""Runs this Pulumi program with no engine, no cloud and no credentials: the SDK's own mock runtime.

The stack's config is what `pulumi` would hand the program: the defaults of Pulumi.yaml's config schema,
overlaid by Pulumi.<stack>.yaml (secure values become placeholders, which are secret and never printed).
Every resource registration is recorded as the engine would see it (type, name, parent, provider, protect,
dependencies, inputs with secrets still marked), by a subclass of the SDK's MockMonitor.
"""

from __future__ import annotations

import base64
import runpy
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.settings import reset_options
from pulumi.runtime.sync_await import _sync_await

from components.stack_config import ROOT, config_string, engine_config, project, project_name

SECURE_PLACEHOLDER = "placeholder-secure-value"
UNKNOWN_OUTPUT = "(known after deployment)"
MOCK_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: aks, cluster: {server: "https://aks.invalid:443"}}]
contexts: [{name: aks, context: {cluster: aks, user: clusterUser}}]
current-context: aks
users:
- name: clusterUser
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubelogin
      args: [get-token, --environment, AzurePublicCloud, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630,
             --client-id, 80faf920-1908-4b52-b5ef-a8e7bedfc67a, --tenant-id, mock-tenant, --login, devicecode]
      provideClusterInfo: false
"""
"""What AKS answers listManagedClusterUserCredentials(format=exec) for an Entra-integrated cluster: no credential."""


def stack_config(stack: str, overrides: Optional[dict[str, Any]] = None) -> tuple[dict[str, str], list[str]]:
    """The config map the engine would pass for `stack` (values as strings, arrays as JSON), and its secret keys."""
    try:
        values = engine_config(stack)
    except FileNotFoundError:
        raise FileNotFoundError(f"no stack file Pulumi.{stack}.yaml: create it or choose STACK=dev or STACK=prod") \
            from None
    name = project_name()
    secret_keys = [f"{name}:{k}" for k, v in project().get("config", {}).items() if v.get("secret")]
    for key, value in values.items():
        if isinstance(value, dict) and "secure" in value:
            values[key] = SECURE_PLACEHOLDER
            secret_keys.append(key)
    values.update({f"{name}:{key}": value for key, value in (overrides or {}).items()})
    return {k: config_string(v) for k, v in values.items()}, secret_keys


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    provider: str
    protect: bool
    custom: bool
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    inputs: dict[str, Any]
    """Inputs as registered, secrets still wrapped (see is_secret / reveal)."""
    outputs: dict[str, Any] = field(default_factory=dict)
    custom_timeouts: dict[str, str] = field(default_factory=dict)


def is_secret(value: Any) -> bool:
    return rpc.is_rpc_secret(value)


def reveal(value: Any, secret_as: Optional[str] = None) -> Any:
    """Unwraps secret markers. With secret_as, every value inside a secret is replaced by that text, leaf by
    leaf, so that a redacted object keeps its shape (a Secret's stringData stays a map of strings)."""
    if is_secret(value):
        inner = reveal(rpc.unwrap_rpc_secret(value))
        return inner if secret_as is None else _leaves(inner, secret_as)
    if isinstance(value, dict):
        return {k: reveal(v, secret_as) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v, secret_as) for v in value]
    return value


def _leaves(value: Any, text: str) -> Any:
    if isinstance(value, dict):
        return {k: _leaves(v, text) for k, v in value.items()}
    if isinstance(value, list):
        return [_leaves(v, text) for v in value]
    return text


AZURE_NAME_INPUTS = {
    "azure-native:dbforpostgresql:Database": "databaseName",
    "azure-native:dbforpostgresql:Configuration": "configurationName",
    "azure-native:dbforpostgresql:FirewallRule": "firewallRuleName",
    "azure-native:containerservice:AgentPool": "agentPoolName",
    "azure-native:privatedns:PrivateZone": "privateZoneName",
    "azure-native:storage:FileShare": "shareName",
    "azure-native:recoveryservices:ProtectionContainer": "containerName",
    "azure-native:recoveryservices:ProtectedItem": "protectedItemName",
    "azure-native:recoveryservices:ProtectionPolicy": "policyName",
    "azure-native:dashboard:Grafana": "workspaceName",
}
MOCK_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
MOCK_EGRESS_ADDRESS = "203.0.113.10"
"""A documentation address (RFC 5737) standing in for the static egress IP Azure allocates."""


class ProgramMocks(pulumi.runtime.Mocks):
    """What the providers would answer during a preview: names, the server FQDN, a placeholder kubeconfig."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[Optional[str], dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ.startswith("azure-native:"):
            # Azure names a resource by its own name input, or autonames it from the logical name.
            state["name"] = state.get(AZURE_NAME_INPUTS.get(args.typ, ""), args.name)
        if args.typ == "azure-native:dbforpostgresql:Server":
            state["fullyQualifiedDomainName"] = f"{args.name}.postgres.database.azure.com"
        if args.typ.startswith("kubernetes:") and isinstance(state.get("metadata"), dict):
            state["metadata"] = {"name": args.name, **state["metadata"]}
        if args.typ == "azure-native:containerservice:ManagedCluster" and isinstance(state.get("identity"), dict):
            # The API takes user-assigned identities as a list of ids and answers with a map keyed by id.
            identity = state["identity"]
            state["identity"] = {**identity, "userAssignedIdentities": {
                i: {"principalId": f"{i}-principal"} for i in identity.get("userAssignedIdentities") or []}}
        if args.typ == "azure-native:dashboard:Grafana":
            state["properties"] = {**state.get("properties", {}),
                                   "endpoint": f"https://{state['name']}.grafana.azure.com"}
        if args.typ == "azure-native:network:PublicIPAddress":
            state["ipAddress"] = MOCK_EGRESS_ADDRESS
        if args.typ == "azure-native:managedidentity:UserAssignedIdentity":
            state.update(principalId=f"{args.name}-principal", clientId=f"{args.name}-client")
        if args.typ == "pulumi-python:dynamic/postgres:Extension":
            state.update(installed_version="0.8.0", installed_schema="public")
        if args.typ == "pulumi:pulumi:StackReference":
            # the source stack of a restore (postgresRestoreFrom): what its outputs carry
            source = str(state.get("name", args.name)).rsplit("/", 1)[-1]
            state["outputs"] = {
                "postgresServerId": f"/subscriptions/{MOCK_SUBSCRIPTION}/resourceGroups/{source}/providers/"
                                    f"Microsoft.DBforPostgreSQL/flexibleServers/{source}-postgres-server",
                "databaseUrl": f"postgresql://openwebuiadmin:{SECURE_PLACEHOLDER}@{source}.postgres.database.azure.com"
                               ":5432/openwebui?sslmode=require"}
            state["secretOutputNames"] = ["databaseUrl"]
        if args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = SECURE_PLACEHOLDER
        if args.typ == "azuread:index/application:Application":
            state.update(clientId=f"{args.name}-client-id", objectId=f"{args.name}-object-id")
        if args.typ == "azuread:index/servicePrincipal:ServicePrincipal":
            state["objectId"] = f"{args.name}-object-id"
        if args.typ == "azuread:index/applicationPassword:ApplicationPassword":
            # what Entra answers: the secret once, at creation, and the key's id
            state.update(value=SECURE_PLACEHOLDER, keyId=f"{args.name}-key-id")
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], Optional[list[tuple[str, str]]]]:
        if args.token == "azure-native:containerservice:listManagedClusterUserCredentials":
            return {"kubeconfigs": [{"name": "clusterUser",
                                     "value": base64.b64encode(MOCK_KUBECONFIG.encode()).decode()}]}, []
        if args.token == "azure-native:storage:listStorageAccountKeys":
            return {"keys": [{"keyName": "key1", "value": SECURE_PLACEHOLDER, "permissions": "FULL"}]}, []
        if args.token == "azuread:index/getClientConfig:getClientConfig":
            return {"clientId": "deployer", "objectId": "deployer-object-id", "tenantId": MOCK_SUBSCRIPTION}, []
        if args.token == "azure-native:authorization:getClientConfig":
            return {"subscriptionId": MOCK_SUBSCRIPTION, "tenantId": MOCK_SUBSCRIPTION, "clientId": "deployer",
                    "objectId": "deployer"}, []
        return {}, []


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(Registration(
                urn=response.urn, type=request.type, name=request.name, parent=request.parent,
                provider=request.provider, protect=request.protect, custom=request.custom,
                dependencies=list(request.dependencies),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                inputs=rpc.deserialize_properties(request.object),
                outputs=rpc.deserialize_properties(response.object),
                custom_timeouts={k: v for k in ("create", "update", "delete")
                                 if (v := getattr(request.customTimeouts, k))}))
        return response


@dataclass
class MockRun:
    stack: str
    registrations: list[Registration]
    outputs: dict[str, Any]
    secret_outputs: set[str]

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def named(self, name: str) -> Registration:
        [match] = [r for r in self.registrations if r.name == name]
        return match

    def inputs_of(self, name: str) -> dict[str, Any]:
        """A resource's inputs with the secrets unwrapped, as a test reads them."""
        return dict(reveal(self.named(name).inputs))


def start(stack: str, config: dict[str, str], secret_keys: list[str]) -> RecordingMonitor:
    """Configures the SDK's mock runtime for one run and returns the monitor that records it."""
    reset_options(project=project_name(), stack=stack, preview=True)
    pulumi.runtime.set_all_config(config, secret_keys)
    mocks = ProgramMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=project_name(), stack=stack, preview=True, monitor=monitor)
    return monitor


def run_components(build: Callable[[], Any], stack: str = "test") -> MockRun:
    """Runs `build` (which declares resources, e.g. one component) to completion under mocks, with no config."""
    monitor = start(stack, {}, [])
    pulumi.runtime.test(build)()  # type: ignore[no-untyped-call]
    return MockRun(stack=stack, registrations=monitor.registrations, outputs={}, secret_outputs=set())


def run_program(stack: str, overrides: Optional[dict[str, Any]] = None) -> MockRun:
    """Runs __main__.py for `stack` to completion under mocks. Config errors propagate as raised."""
    config, secret_keys = stack_config(stack, overrides)
    monitor = start(stack, config, secret_keys)
    outputs: dict[str, Any] = {}
    exported_values: dict[str, Any] = {}

    def program() -> pulumi.Output[Any]:
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__pulumi_program__")
        exported: dict[str, Any] = getattr(pulumi.runtime.get_root_resource(), "outputs", {})
        exported_values.update(exported)
        # Values a provider only knows after deployment (a LoadBalancer address) stay unknown in a preview:
        # their apply never runs and they keep this placeholder.
        outputs.update({key: UNKNOWN_OUTPUT for key in exported})

        def keep(key: str) -> Callable[[Any], None]:
            return lambda value: outputs.__setitem__(key, value)

        return pulumi.Output.all(*[pulumi.Output.from_input(v).apply(keep(k)) for k, v in exported.items()])

    pulumi.runtime.test(program)()  # type: ignore[no-untyped-call]
    # Every output has settled by now; awaiting their secretness only reads it.
    secret_outputs = {key for key, value in exported_values.items()
                      if _sync_await(pulumi.Output.from_input(value).is_secret())}
    return MockRun(stack=stack, registrations=monitor.registrations, outputs=outputs, secret_outputs=secret_outputs)

