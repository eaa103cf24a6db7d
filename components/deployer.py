"""Whoever runs `pulumi up`: a person signed in with the Azure CLI, or CI's deploy identity (a service principal
signed in with OIDC). The program gives it the roles it needs to reach what it made (the cluster, Grafana).

Azure refuses a role assignment whose principalType is not the principal's own (UnmatchedPrincipalType), and the
SDK sends 'User' when none is given: a service principal's assignment would fail. The Azure CLI signs its users in
as its own application, so its client ID tells a person from a service principal.
"""

from __future__ import annotations

import pulumi

AZURE_CLI_APP_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
"""The Azure CLI's application (client) ID, the one `az login` signs people in with."""


def principal_type(client_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """The role assignment's principalType for the deployer whose client ID the provider reports."""
    return pulumi.Output.from_input(client_id).apply(lambda c: "User" if c == AZURE_CLI_APP_ID else "ServicePrincipal")
