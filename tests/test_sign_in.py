"""Sign-in under the SDK's mock runtime: the admin made by the schema Job (password), Microsoft Entra ID registered
by the program or brought by the deployer (entra), the secrets each pod holds, and the refusals."""

from datetime import date
from typing import Any

import pytest

from programs import job_program
from components.stack_config import ConfigError
from components.entra_app import ADMIN_ROLE, USER_ROLE, SecretRotation, app_role_id
from components.open_webui import SECRETS_ANNOTATION
from components.sign_in import OAUTH_SECRETS
from stack_files import temporary_stack
from offline_plan.mock_engine import SECURE_PLACEHOLDER, MockRun, is_secret, reveal, run_program

TENANT = "11111111-2222-3333-4444-555555555555"
ADMINS, USERS = "aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002"
ENTRA = {"auth": "entra", "entraTenantId": TENANT, "entraAdminGroups": [ADMINS], "entraUserGroups": [USERS]}
BROUGHT = {"auth": "entra", "entraTenantId": TENANT, "entraClientId": "99999999-8888-7777-6666-555555555555"}


def container(run: MockRun, name: str) -> dict[str, Any]:
    return reveal(run.named(name).inputs)["spec"]["template"]["spec"]["containers"][0]


def env_of(run: MockRun, name: str) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(run, name)["env"]}


def from_secret(key: str) -> dict[str, Any]:
    return {"secretKeyRef": {"name": "open-webui", "key": key}}


@pytest.fixture(scope="module")
def entra_run() -> MockRun:
    return run_program("dev", overrides=ENTRA)


def test_password_mode_the_job_alone_makes_the_admin_and_sign_up_is_closed(dev_run):
    app, job = env_of(dev_run, "open-webui-deployment"), env_of(dev_run, "open-webui-migrate")
    for env in (app, job):
        assert env["ENABLE_SIGNUP"] == "false" and env["DEFAULT_USER_ROLE"] == "pending"
        assert env["ENABLE_PASSWORD_AUTH"] == env["ENABLE_LOGIN_FORM"] == "true"
        assert not any(k.startswith("OAUTH_") or k.startswith("OPENID_") for k in env)
    assert job["WEBUI_ADMIN_EMAIL"] == "platform-team@example.com"
    assert job["WEBUI_ADMIN_PASSWORD"] == from_secret("WEBUI_ADMIN_PASSWORD")
    # no replica holds the admin's password, nor makes the admin itself (main.py would, racing the others)
    assert not any(k.startswith("WEBUI_ADMIN_") for k in app)
    secret = dev_run.named("open-webui-secret").inputs["stringData"]
    assert is_secret(secret) and reveal(secret)["WEBUI_ADMIN_PASSWORD"] == SECURE_PLACEHOLDER
    assert reveal(dev_run.named("sign-in-admin-password").inputs)["length"] == 24
    assert "adminPassword" in dev_run.secret_outputs
    assert "entraClientId" not in dev_run.outputs and not [r for r in dev_run.registrations
                                                          if r.type.startswith("azuread:")]


def test_the_jobs_program_writes_the_sign_in_settings_and_makes_the_first_account_once(dev_run):
    program = job_program(dev_run, "open-webui")
    for key in ('"ui.enable_signup"', '"ui.enable_login_form"', '"ui.default_user_role"'):
        assert key in program
    assert "if await Users.has_users():" in program and "create_admin_user(" in program


def test_entra_registration_roles_and_assignments(entra_run):
    app = reveal(entra_run.named("sign-in-entra-app").inputs)
    assert app["web"]["redirectUris"] == ["https://openwebui-dev.westeurope.cloudapp.azure.com/oauth/oidc/callback"]
    assert app["signInAudience"] == "AzureADMyOrg"
    assert {(r["value"], r["id"], tuple(r["allowedMemberTypes"])) for r in app["appRoles"]} == {
        (ADMIN_ROLE, app_role_id(ADMIN_ROLE), ("User",)), (USER_ROLE, app_role_id(USER_ROLE), ("User",))}
    assert app["optionalClaims"]["idTokens"] == [{"name": "email"}]
    principal = reveal(entra_run.named("sign-in-entra-principal").inputs)
    assert principal == {"clientId": "sign-in-entra-app-client-id", "appRoleAssignmentRequired": True,
                         "owners": ["deployer-object-id"]}
    assert app["owners"] == ["deployer-object-id"]
    assignments = {(a["principalObjectId"], a["appRoleId"], a["resourceObjectId"])
                   for a in map(reveal, (r.inputs for r in entra_run.of_type(
                       "azuread:index/appRoleAssignment:AppRoleAssignment")))}
    assert assignments == {(ADMINS, app_role_id(ADMIN_ROLE), "sign-in-entra-principal-object-id"),
                           (USERS, app_role_id(USER_ROLE), "sign-in-entra-principal-object-id")}
    rotation = SecretRotation.of(date.today(), 180)
    password = reveal(entra_run.named("sign-in-entra-secret").inputs)
    assert password["endDate"] == f"{rotation.expires_on}T00:00:00Z"
    assert password["rotateWhenChanged"] == {"period": str(rotation.period_start)}
    assert entra_run.outputs["entraClientId"] == "sign-in-entra-app-client-id"


def test_entra_mode_replicas_sign_in_with_the_registration_and_the_password_api_is_off(entra_run):
    app, job = env_of(entra_run, "open-webui-deployment"), env_of(entra_run, "open-webui-migrate")
    assert app["OPENID_PROVIDER_URL"] == (f"https://login.microsoftonline.com/{TENANT}/v2.0/"
                                          ".well-known/openid-configuration")
    assert app["OPENID_REDIRECT_URI"] == "https://openwebui-dev.westeurope.cloudapp.azure.com/oauth/oidc/callback"
    assert app["ENABLE_PASSWORD_AUTH"] == app["ENABLE_LOGIN_FORM"] == "false"
    assert app["ENABLE_OAUTH_SIGNUP"] == "true" and app["OAUTH_MERGE_ACCOUNTS_BY_EMAIL"] == "false"
    assert (app["OAUTH_ROLES_CLAIM"], app["OAUTH_ALLOWED_ROLES"], app["OAUTH_ADMIN_ROLES"]) == (
        "roles", "user,admin", "admin")
    assert {k: app[k] for k in OAUTH_SECRETS} == {k: from_secret(k) for k in OAUTH_SECRETS}
    # the Job makes a placeholder no one signs in as, so no Entra user is admin by arriving first
    assert job["WEBUI_ADMIN_EMAIL"] == "no-sign-in@openwebui-dev.westeurope.cloudapp.azure.com"
    assert "WEBUI_ADMIN_PASSWORD" not in job and not any(k in job for k in OAUTH_SECRETS)
    data = reveal(entra_run.named("open-webui-secret").inputs["stringData"])
    assert data["OAUTH_CLIENT_ID"] == "sign-in-entra-app-client-id"
    assert data["OAUTH_CLIENT_SECRET"] == data["OAUTH_SESSION_TOKEN_ENCRYPTION_KEY"] == SECURE_PLACEHOLDER
    assert reveal(entra_run.named("sign-in-session-key").inputs)["length"] == 48
    assert "adminPassword" not in entra_run.outputs
    template = reveal(entra_run.named("open-webui-deployment").inputs)["spec"]["template"]["metadata"]
    assert len(template["annotations"][SECRETS_ANNOTATION]) == 16


def test_a_brought_registration_makes_nothing_in_entra_and_takes_the_secret_from_config():
    with temporary_stack({**BROUGHT, "entraClientSecret": {"secure": "v1:ciphertext"}}) as stack:
        run = run_program(stack)
    assert not [r for r in run.registrations if r.type.startswith("azuread:")]
    data = reveal(run.named("open-webui-secret").inputs["stringData"])
    assert data["OAUTH_CLIENT_ID"] == BROUGHT["entraClientId"]
    assert data["OAUTH_CLIENT_SECRET"] == SECURE_PLACEHOLDER
    assert "Microsoft Entra ID" in run.outputs["signIn"] and BROUGHT["entraClientId"] in run.outputs["signIn"]


def test_rotation_periods():
    r = SecretRotation.of(date(2026, 12, 1), 180)
    assert (r.period_start, r.rotates_on, r.expires_on) == (date(2026, 6, 30), date(2026, 12, 27), date(2027, 6, 25))
    # the day it is due, a deploy makes the next period's secret, which outlives the old one by a period
    due = SecretRotation.of(r.rotates_on, 180)
    assert due.period_start == r.rotates_on and due.expires_on > r.expires_on


BAD = [
    ({"auth": "saml"}, "auth", "must be one of password, entra"),
    ({"adminEmail": ""}, "adminEmail", "the first visitor to the public address would become admin"),
    ({"adminEmail": "admin"}, "adminEmail", "not an e-mail address"),
    ({**ENTRA, "entraTenantId": ""}, "entraTenantId", "Tenant ID"),
    ({**ENTRA, "entraAdminGroups": []}, "entraAdminGroups", "nobody would administer"),
    ({**ENTRA, "entraUserGroups": ["sales"]}, "entraUserGroups", "not a group's object ID"),
    ({**ENTRA, "entraSecretRotationDays": 400}, "entraSecretRotationDays", "30..365"),
    (BROUGHT, "entraClientSecret", "pulumi config set --secret entraClientSecret"),
    ({**BROUGHT, "entraClientId": "my-app"}, "entraClientId", "not an application (client) ID"),
    ({**BROUGHT, "entraAdminGroups": [ADMINS]}, "entraAdminGroups/entraUserGroups", "assign the admin and user"),
]


@pytest.mark.parametrize("overrides,key,says", BAD, ids=[b[1] + "-" + str(i) for i, b in enumerate(BAD)])
def test_bad_sign_in_configuration_is_refused_naming_the_key(overrides, key, says):
    with pytest.raises(ConfigError) as e:
        run_program("dev", overrides=overrides)
    assert f"- {key}: " in str(e.value) and says in str(e.value)
