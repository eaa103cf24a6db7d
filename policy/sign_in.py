"""The sign-in policy: no Open WebUI reachable from the internet lets its first visitor become admin.

Open WebUI 0.12.4 makes the first account on an empty database admin, and lets that first password sign-up
through even with ENABLE_SIGNUP false (routers/auths.py). What closes it is an account made before anyone
arrives (WEBUI_ADMIN_EMAIL: the app's own start-up, or a Job such as this stack's schema Job), or sign-in through an
identity provider alone (an OAuth provider with the password form off), where only the provider's users get in.
"""

from __future__ import annotations

from typing import Mapping

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from network import open_webui_entrances
from resources import JOB, containers, env_from_secret, is_open_webui, known, literal_env, metadata

OAUTH_PROVIDERS = ("OPENID_PROVIDER_URL", "OAUTH_CLIENT_ID", "MICROSOFT_CLIENT_ID", "GOOGLE_CLIENT_ID",
                   "GITHUB_CLIENT_ID")


def _env(r: PolicyResource) -> dict[str, str]:
    env: dict[str, str] = {}
    for c in known(lambda: containers(r.props), []) or []:
        env.update(known(lambda: literal_env(c), {}) or {})
        env.update({name: "(secret)" for name in OAUTH_PROVIDERS if env_from_secret(c, name)})
    return env


def makes_admin(env: Mapping[str, str]) -> bool:
    return bool(env.get("WEBUI_ADMIN_EMAIL"))


def single_sign_on(env: Mapping[str, str]) -> bool:
    return any(env.get(name) for name in OAUTH_PROVIDERS) and env.get("ENABLE_LOGIN_FORM", "true").lower() == "false"


def sign_in_closed(args: StackValidationArgs, report: ReportViolation) -> None:
    namespaces_making_admin = {str(known(lambda: metadata(r.props).get("namespace"), "")) for r in args.resources
                               if r.resource_type == JOB and is_open_webui(r.props) and makes_admin(_env(r))}
    reported: set[str] = set()
    for app, way in open_webui_entrances(args.resources):
        env = _env(app)
        if app.urn in reported or makes_admin(env) or single_sign_on(env) or way.namespace in namespaces_making_admin:
            continue
        reported.add(app.urn)
        report(f"{app.name} is reachable from the internet ({way.kind} '{metadata(way.resource.props).get('name')}') "
               "and its first visitor becomes admin: no account is made before anyone arrives and sign-in is not "
               "an identity provider's alone (ENABLE_SIGNUP false does not stop the first sign-up on an empty "
               "database). Make the admin at deploy (WEBUI_ADMIN_EMAIL and WEBUI_ADMIN_PASSWORD from a Secret, as "
               "this stack's schema Job does: auth password with adminEmail) or sign in through Entra ID only "
               "(auth entra: an OAuth provider with ENABLE_LOGIN_FORM and ENABLE_PASSWORD_AUTH false).", app.urn)
