"""EntraApplication: Open WebUI's app registration in Microsoft Entra ID, for a deployer allowed to create one.

Two app roles (admin, user) that Entra puts in the ID token's `roles` claim (no group claims: they overflow past
200 groups and arrive as GUIDs), the stack's URL as the one redirect URI, a service principal that only assigned
users and groups can sign in through, the roles assigned to the groups from config, and a client secret rotated
by period (SecretRotation).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Optional

import pulumi
import pulumi_azuread as azuread

ENTRA_LOGIN = "https://login.microsoftonline.com"
ADMIN_ROLE, USER_ROLE = "admin", "user"
"""The app roles Entra puts in the ID token's `roles` claim, and Open WebUI maps (OAUTH_ADMIN_ROLES/ALLOWED_ROLES)."""
ROLES = {ADMIN_ROLE: "Open WebUI administrators: users, models, settings, functions and tools.",
         USER_ROLE: "Open WebUI users: chats, documents and the models an administrator shares."}
APP_ROLE_NAMESPACE = uuid.UUID("6f1c3a55-0b7e-4c1e-9d0e-6e3c9a1f2b40")
"""App role ids are UUIDs that must never change for a role: uuid5 of this namespace and the role's value."""
ROTATION_EPOCH = date(2026, 1, 1)


def app_role_id(role: str) -> str:
    return str(uuid.uuid5(APP_ROLE_NAMESPACE, role))


@dataclass(frozen=True)
class SecretRotation:
    """The registered client secret's life: made for the rotation period that holds the deploy's date, replaced at
    the first `pulumi up` of the next period, and valid for one whole period after that, so a stack deployed at
    least once a period never holds an expired secret."""

    period_start: date
    rotates_on: date
    expires_on: date

    @staticmethod
    def of(today: date, days: int) -> "SecretRotation":
        start = ROTATION_EPOCH + timedelta(days=(today - ROTATION_EPOCH).days // days * days)
        return SecretRotation(start, start + timedelta(days=days), start + timedelta(days=2 * days))


@dataclass(frozen=True)
class EntraSettings:
    tenant_id: str
    client_id: str
    """'' when the program registers the application; else the deployer's own registration (bring your own)."""
    client_secret: Optional[pulumi.Output[str]]
    """Bring your own only: `pulumi config set --secret entraClientSecret`."""
    admin_groups: tuple[str, ...]
    user_groups: tuple[str, ...]
    rotation: SecretRotation

    @property
    def registered(self) -> bool:
        return not self.client_id

    @property
    def discovery_url(self) -> str:
        return f"{ENTRA_LOGIN}/{self.tenant_id}/v2.0/.well-known/openid-configuration"


@dataclass
class EntraApplicationArgs:
    settings: EntraSettings
    display_name: str
    redirect_uri: str


class EntraApplication(pulumi.ComponentResource):
    client_id: pulumi.Output[str]
    client_secret: pulumi.Output[str]
    """Secret."""

    def __init__(self, name: str, args: EntraApplicationArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:auth:EntraApplication", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        # The deployer owns what it makes: it may then assign the app roles and rotate the secret with no
        # directory-wide permission (Entra lets owners manage their application and its assignments).
        owners = [azuread.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self)).object_id]
        app = azuread.Application(
            f"{name}-app", display_name=args.display_name, sign_in_audience="AzureADMyOrg", owners=owners,
            web=azuread.ApplicationWebArgs(redirect_uris=[args.redirect_uri]),
            app_roles=[azuread.ApplicationAppRoleArgs(
                allowed_member_types=["User"], description=description, display_name=f"Open WebUI {role}",
                enabled=True, id=app_role_id(role), value=role) for role, description in ROLES.items()],
            # Entra adds `email` to the ID token only when asked; Open WebUI names accounts by it (OAUTH_EMAIL_CLAIM)
            optional_claims=azuread.ApplicationOptionalClaimsArgs(
                id_tokens=[azuread.ApplicationOptionalClaimsIdTokenArgs(name="email")]),
            opts=child)
        principal = azuread.ServicePrincipal(
            f"{name}-principal", client_id=app.client_id, owners=owners,
            # only the users and groups assigned a role below may sign in at all; Entra refuses everyone else
            app_role_assignment_required=True, opts=child)
        for role, groups in ((ADMIN_ROLE, s.admin_groups), (USER_ROLE, s.user_groups)):
            for group in groups:
                azuread.AppRoleAssignment(
                    f"{name}-{role}-{group}", app_role_id=app_role_id(role), principal_object_id=group,
                    resource_object_id=principal.object_id, opts=child)
        rotation = s.rotation
        password = azuread.ApplicationPassword(
            f"{name}-secret", application_id=app.id, display_name=f"open-webui {rotation.period_start}",
            end_date=f"{rotation.expires_on.isoformat()}T00:00:00Z",
            # a new period replaces it: Pulumi makes the new secret, rolls the pods onto it, then deletes the old one
            rotate_when_changed={"period": rotation.period_start.isoformat()}, opts=child)
        self.client_id = app.client_id
        self.client_secret = pulumi.Output.secret(password.value)
        self.register_outputs({"client_id": self.client_id})
