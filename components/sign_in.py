"""Who may sign in, and how: the stack's first account, made by the schema Job before any replica serves, with
sign-up closed; or Microsoft Entra ID (OpenID Connect) with the password form and API off.

Open WebUI 0.12.4 makes the first account on an empty database admin, whoever makes it: a password sign-up
(routers/auths.py lets it through even with ENABLE_SIGNUP false) or an OAuth sign-in whatever its roles
(utils/oauth.py get_user_role, which also repairs a sole user to admin at each login). So the stack makes that
first account itself: the admin from `adminEmail` in password mode; in entra mode a `pending` placeholder that can
never sign in (the password API is off), so that every Entra user's role comes from the token's `roles` claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_random as random

from components.entra_app import ADMIN_ROLE, USER_ROLE, EntraApplication, EntraApplicationArgs, EntraSettings

AUTH_MODES = ("password", "entra")
ADMIN_NAME = "Admin"
PLACEHOLDER_NAME = "Entra ID sign-in (placeholder, no access)"
OIDC_CALLBACK = "/oauth/oidc/callback"
"""Open WebUI's callback for its generic OpenID Connect provider: the app registration's one redirect URI."""
ADMIN_PASSWORD = "WEBUI_ADMIN_PASSWORD"
OAUTH_SECRETS = ("OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET", "OAUTH_SESSION_TOKEN_ENCRYPTION_KEY")
"""The Secret's keys the replicas read in entra mode (the client ID rides along: it is an Output when registered)."""


@dataclass(frozen=True)
class SignInSettings:
    admin_email: str
    """The made admin (password mode)."""
    public_url: str
    entra: Optional[EntraSettings]
    """None in password mode."""

    @property
    def redirect_uri(self) -> str:
        return self.public_url + OIDC_CALLBACK

    @property
    def first_account(self) -> tuple[str, str]:
        """The e-mail and name of the account the schema Job makes on an empty database."""
        if self.entra:
            # a domain no Entra user has, so no sign-in ever collides with it
            return f"no-sign-in@{self.public_url.removeprefix('https://')}", PLACEHOLDER_NAME
        return self.admin_email, ADMIN_NAME

    def environment(self) -> dict[str, str]:
        """The plain env of every pod. Sign-up stays closed and a newcomer waits as `pending` in both modes; the
        schema Job also writes the persistent ones (ui.*) to the config table, where they outlive env."""
        password = str(self.entra is None).lower()
        env = {"ENABLE_SIGNUP": "false", "DEFAULT_USER_ROLE": "pending", "ENABLE_LOGIN_FORM": password,
               # the form's switch only hides it; this one makes the API refuse (403)
               "ENABLE_PASSWORD_AUTH": password}
        if self.entra:
            env.update({
                "ENABLE_OAUTH_SIGNUP": "true",
                # an Entra sign-in never takes over an account that merely shares its e-mail
                "OAUTH_MERGE_ACCOUNTS_BY_EMAIL": "false",
                "OAUTH_PROVIDER_NAME": "Microsoft",
                "OPENID_PROVIDER_URL": self.entra.discovery_url,
                "OPENID_REDIRECT_URI": self.redirect_uri,
                "OAUTH_SCOPES": "openid email profile",
                "ENABLE_OAUTH_ROLE_MANAGEMENT": "true",
                "OAUTH_ROLES_CLAIM": "roles",
                "OAUTH_ALLOWED_ROLES": f"{USER_ROLE},{ADMIN_ROLE}",
                "OAUTH_ADMIN_ROLES": ADMIN_ROLE,
            })
        return env

    def job_environment(self) -> dict[str, str]:
        """What the schema Job alone reads to make the first account (no replica holds the admin's password)."""
        email, name = self.first_account
        return {"WEBUI_ADMIN_EMAIL": email, "WEBUI_ADMIN_NAME": name}

    def secret_env(self, schema_job: bool) -> tuple[str, ...]:
        """The Secret's sign-in keys a pod reads: the admin's password for the Job, the OAuth client for replicas."""
        if self.entra:
            return () if schema_job else OAUTH_SECRETS
        return (ADMIN_PASSWORD,) if schema_job else ()

    def describe(self) -> str:
        """How people sign in, for the plan."""
        if not self.entra:
            return (f"password: admin {self.admin_email}, made by the schema Job (its password: the secret output "
                    "adminPassword); sign-up closed, newcomers pending until the admin approves or adds them")
        e = self.entra
        registration = ("an app registration made by the program, client secret rotated at the first `pulumi up` "
                        f"on or after {e.rotation.rotates_on} (expires {e.rotation.expires_on})") if e.registered \
            else f"the deployer's app registration {e.client_id} (secret from entraClientSecret)"
        return (f"Microsoft Entra ID, tenant {e.tenant_id}, {registration}; admin role to groups "
                f"{', '.join(e.admin_groups) or '(none)'}, user role to {', '.join(e.user_groups) or '(none)'}; "
                "password sign-in and sign-up off")


@dataclass
class SignInArgs:
    settings: SignInSettings
    display_name: str
    """The app registration's name, as people see it on Entra's consent and My Apps pages."""


class SignIn(pulumi.ComponentResource):
    """The sign-in secrets: the made admin's generated password, or the Entra client (registered here or brought)
    with a generated OAUTH_SESSION_TOKEN_ENCRYPTION_KEY that every replica shares."""

    secret_values: pulumi.Output[dict[str, str]]
    """Secret: the app's Secret's sign-in keys (SignInSettings.secret_env)."""
    admin_password: Optional[pulumi.Output[str]]
    """Secret; password mode only."""
    client_id: Optional[pulumi.Output[str]]
    """Entra mode only."""

    def __init__(self, name: str, args: SignInArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:auth:SignIn", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        self.admin_password = self.client_id = None
        values: pulumi.Output[dict[str, str]]
        if s.entra is None:
            password = random.RandomPassword(f"{name}-admin-password", length=24, special=False, opts=child)
            self.admin_password = pulumi.Output.secret(password.result)
            values = password.result.apply(lambda p: {ADMIN_PASSWORD: p})
        else:
            key = random.RandomPassword(f"{name}-session-key", length=48, special=False, opts=child)
            if s.entra.registered:
                app = EntraApplication(f"{name}-entra", EntraApplicationArgs(
                    s.entra, args.display_name, s.redirect_uri), opts=child)
                client_id, client_secret = app.client_id, app.client_secret
            else:
                assert s.entra.client_secret is not None  # settings.load refuses a brought registration without it
                client_id, client_secret = pulumi.Output.from_input(s.entra.client_id), s.entra.client_secret
            self.client_id = client_id
            values = pulumi.Output.all(client_id, client_secret, key.result).apply(
                lambda v: dict(zip(OAUTH_SECRETS, v)))
        self.secret_values = pulumi.Output.secret(values)
        self.register_outputs({})
