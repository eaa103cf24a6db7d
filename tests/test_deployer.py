"""The deployer's principal type (components/deployer.py): a person through the Azure CLI, or a service principal."""

import pulumi

from components.deployer import AZURE_CLI_APP_ID, principal_type


def expect(wanted: str):
    def check(kind: str) -> None:
        assert kind == wanted
    return check


@pulumi.runtime.test
def test_a_person_signed_in_with_the_azure_cli_is_a_user() -> pulumi.Output[None]:
    return principal_type(AZURE_CLI_APP_ID).apply(expect("User"))


@pulumi.runtime.test
def test_any_other_client_is_a_service_principal() -> pulumi.Output[None]:
    return principal_type("11111111-2222-3333-4444-555555555555").apply(expect("ServicePrincipal"))
