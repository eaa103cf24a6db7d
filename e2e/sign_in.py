"""`make e2e`'s Entra ID scenario: the stack rendered with `auth: entra`, its schema Job and three replicas on the
real release, signing people in through a local OpenID Connect provider that stands in for Entra ID (e2e/oidc.py)
with the app roles Entra would send.

    python -m e2e.sign_in [--stack dev] [--version 0.12.4] [--break secret-key|session-key] [--keep]

Each sign-in starts on replica 1, the provider's callback lands on replica 2 and the session is used on replica 3,
as a load balancer may spread one browser's requests. Only the provider's discovery URL differs from what the
cluster runs (Entra's is not reachable here). --break gives one replica a key of its own, to show the check that
catches it. Exit 0 only when every check passes.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import tempfile
import time
import urllib.parse
from contextlib import ExitStack
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Optional

from components.stack_config import StackConfig
from components.sign_in import OIDC_CALLBACK
from e2e import api, oidc
from e2e.judge import report
from e2e.local_stack import REPLICAS, START_SECONDS, LocalStack
from offline_plan.mock_engine import run_program
from offline_plan.plan import manifests, write_manifests
from ops.verify import Check

ENTRA = {"auth": "entra", "entraTenantId": "11111111-2222-3333-4444-555555555555",
         "entraAdminGroups": ["aaaaaaaa-0000-0000-0000-000000000001"],
         "entraUserGroups": ["aaaaaaaa-0000-0000-0000-000000000002"]}
"""Overrides that put the stack in entra mode (registered by the program; the groups only matter in Entra)."""
PEOPLE: dict[str, Optional[list[str]]] = {"bob": ["user"], "ada": ["admin"], "eve": None, "mallory": ["viewer"]}
"""Who signs in, in this order, with the app roles in their token: bob first, on a database holding only the
Job's placeholder, so that a first sign-in could not be admin by arriving first; eve with no roles claim (no app
role assigned), mallory with a role the app does not know."""
BREAKS = {
    "secret-key": ("replica 2 runs with its own WEBUI_SECRET_KEY (the sign-in state, a cookie signed with it, is "
                   "started on replica 1)", 1, "WEBUI_SECRET_KEY"),
    "session-key": ("replica 3 runs with its own OAUTH_SESSION_TOKEN_ENCRYPTION_KEY (the OAuth session stored by "
                    "replica 2 is read there at sign-out)", 2, "OAUTH_SESSION_TOKEN_ENCRYPTION_KEY"),
}


@dataclass
class Browser:
    """One person's browser: its cookies, sent to whichever replica it reaches (they share a host in the cluster)."""

    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, base: str, method: str, path: str, form: Optional[dict[str, str]] = None,
                token: Optional[str] = None) -> api.Response:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = api.request(base, method, path, data=data, headers=headers, token=token, follow=False)
        for header in response.cookies():
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or (morsel["expires"] and "1970" in morsel["expires"]):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response


@dataclass
class SignedIn:
    sub: str
    landed: str
    """Where the callback sent the browser: the site's /auth, with ?error= or ?pending=1 when refused."""
    browser: Browser
    me: Optional[api.Response]

    @property
    def token(self) -> str:
        return self.browser.cookies.get("token", "")

    @property
    def role(self) -> Optional[str]:
        return (self.me.json() or {}).get("role") if self.me and self.me.status == 200 else None


def sign_in(urls: list[str], sub: str) -> SignedIn:
    r1, r2, r3 = urls
    browser = Browser()
    start = browser.request(r1, "GET", "/oauth/oidc/login")
    authorize = start.headers.get("Location", "")
    if start.status != 302 or not authorize:
        return SignedIn(sub, f"login on replica 1: HTTP {start.status} {start.body[:200]!r}", browser, None)
    # the person picks their account on the provider's page (the provider's form posts the subject)
    parts = urllib.parse.urlsplit(authorize)
    chosen = browser.request(f"{parts.scheme}://{parts.netloc}", "POST", f"{parts.path}?{parts.query}",
                             form={"sub": sub})
    callback = urllib.parse.urlsplit(chosen.headers.get("Location", ""))
    if not callback.path.endswith(OIDC_CALLBACK):
        return SignedIn(sub, f"provider: HTTP {chosen.status} {chosen.body[:200]!r}", browser, None)
    landed = browser.request(r2, "GET", f"{OIDC_CALLBACK}?{callback.query}")
    token = browser.cookies.get("token", "")
    me = api.request(r3, "GET", "/api/v1/auths/", token=token) if token else None
    return SignedIn(sub, landed.headers.get("Location", f"HTTP {landed.status}"), browser, me)


def checks(stack: LocalStack, urls: list[str], provider: str) -> list[Check]:
    people = {sub: sign_in(urls, sub) for sub in PEOPLE}
    bob, ada, eve, mallory = people["bob"], people["ada"], people["eve"], people["mallory"]
    found = [
        Check("Entra sign-in started on replica 1, called back on replica 2, used on replica 3",
              bool(ada.token) and ada.me is not None and ada.me.status == 200,
              f"ada: landed on {ada.landed}; replica 3 answered "
              + (f"HTTP {ada.me.status}" if ada.me else "nothing (no token)"),
              "every replica must share WEBUI_SECRET_KEY (the sign-in state is a cookie signed with it): the Secret "
              "gives it"),
        Check("the first Entra sign-in is a user, not admin by arriving first", bob.role == "user",
              f"bob (roles [user]) signed in first: {bob.role or bob.landed}",
              "the schema Job's placeholder must exist before any sign-in (first_account)"),
        Check("app role admin -> admin", ada.role == "admin", f"ada (roles [admin]): {ada.role or ada.landed}",
              "OAUTH_ADMIN_ROLES=admin, ENABLE_OAUTH_ROLE_MANAGEMENT=true, OAUTH_ROLES_CLAIM=roles"),
    ]
    refused = {p.sub: (p.role, p.landed) for p in (eve, mallory)}
    found.append(Check("no app role, or an unknown one: refused", all(role not in ("user", "admin")
                                                                     for role, _ in refused.values()),
                       "; ".join(f"{sub}: {role or landed}" for sub, (role, landed) in refused.items()),
                       "OAUTH_ALLOWED_ROLES must list only user and admin"))
    placeholder_email = stack.job().containers[0].env["WEBUI_ADMIN_EMAIL"]
    attempts = {f"{path} on replica {i + 1}": api.request(
        url, "POST", f"/api/v1/auths/{path}", {"name": "Stranger", "email": placeholder_email if path == "signin" else
                                               "stranger@e2e.example", "password": secrets.token_urlsafe(16)}).status
        for i, (url, path) in enumerate(zip(urls, ("signin", "signup", "signin")))}
    features = (api.request(urls[0], "GET", "/api/config").json() or {}).get("features", {})
    found.append(Check("password sign-in and sign-up refused by the API, the form hidden",
                       set(attempts.values()) == {403} and features.get("enable_login_form") is False,
                       f"{', '.join(f'{p}: HTTP {s}' for p, s in attempts.items())}; "
                       f"enable_login_form {features.get('enable_login_form')}",
                       "ENABLE_PASSWORD_AUTH=false (ENABLE_LOGIN_FORM only hides the form)"))
    with stack.pg.superuser() as conn:
        rows = {str(e): str(r) for e, r in conn.execute('SELECT email, role FROM "user"')}
    found.append(Check("accounts: the Job's placeholder (pending) and who was let in",
                       rows.get(placeholder_email) == "pending" and rows.get("ada@corp.example") == "admin"
                       and sum(r == "admin" for r in rows.values()) == 1,
                       ", ".join(f"{e} ({r})" for e, r in sorted(rows.items())), "see the replica logs"))
    # signing out on replica 3 reads the OAuth session replica 2 stored (encrypted with the shared key)
    out = ada.browser.request(urls[2], "POST", "/api/v1/auths/signout", token=ada.token)
    redirect = str((out.json() or {}).get("redirect_url", "")) if out.status == 200 else ""
    after = api.request(urls[0], "GET", "/api/v1/auths/", token=ada.token)
    found.append(Check("signing out on replica 3 ends the session: at the provider and on every replica",
                       redirect.startswith(f"{provider}/oauth2/end_session") and after.status == 401,
                       f"sign-out HTTP {out.status}, provider logout {redirect.split('?')[0] or '(none)'}; the "
                       f"token on replica 1 afterwards: HTTP {after.status}",
                       "every replica must share OAUTH_SESSION_TOKEN_ENCRYPTION_KEY (the Secret's) and Redis (the "
                       "revoked tokens)"))
    return found


def run(stack_name: str, version: Optional[str], sabotage: Optional[str], work: Path) -> list[Check]:
    rendered = work / "entra-manifests"
    program = run_program(stack_name, overrides=ENTRA)
    errors = write_manifests(manifests(program), rendered, f"{StackConfig.of_stack(stack_name).aks_kubernetes_version}.0")
    if errors:
        return [Check("entra mode renders", False, "\n".join(errors), "make plan names the same errors")]
    stack = LocalStack(stack_name, version, None, work, manifests=rendered)
    print(f"== make e2e: sign-in with Microsoft Entra ID (a local OpenID provider), stack '{stack_name}' in entra "
          f"mode, Open WebUI {stack.version}, run directory {work}")
    if sabotage:
        print(f"   BROKEN ON PURPOSE: {BREAKS[sabotage][0]}")
    with ExitStack() as exit_stack:
        stack.start_services(exit_stack)
        _, provider = oidc.start(stack.processes, work, PEOPLE)
        print(f"   OpenID provider {provider} with {', '.join(f'{s} {r}' for s, r in PEOPLE.items())}", flush=True)
        print("   schema Job ...", flush=True)
        found = stack.run_job()
        if not stack.job_keys:
            return found
        own_key = {BREAKS[sabotage][1]: {BREAKS[sabotage][2]: secrets.token_urlsafe(32)}} if sabotage else {}
        stack.replica_env = lambda i: {"OPENID_PROVIDER_URL": f"{provider}/.well-known/openid-configuration",
                                       **own_key.get(i, {})}
        stack.start_replicas()
        print(f"   {REPLICAS} replicas starting on {', '.join(stack.urls)} ...", flush=True)
        found += stack.wait_ready(range(REPLICAS), time.monotonic() + START_SECONDS)
        if all(p.alive() for p in stack.replicas):
            found += checks(stack, stack.urls, provider)
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--version", help="the Open WebUI release (default: the tag of the stack's image)")
    parser.add_argument("--break", dest="sabotage", choices=sorted(BREAKS))
    parser.add_argument("--keep", action="store_true", help="keep the run directory (logs, data) afterwards")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="openwebui-e2e-sign-in-"))
    work.chmod(0o755)
    try:
        return report(run(args.stack, args.version, args.sabotage, work))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
