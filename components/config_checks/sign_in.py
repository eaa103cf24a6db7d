"""Sign-in: the mode, the admin made at deploy, Entra ID's tenant, registration, groups and secret rotation."""

from __future__ import annotations

import re

from components.config_checks.edge import EMAIL
from components.sign_in import AUTH_MODES
from components.stack_config import StackConfig


GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ROTATION_DAYS = (30, 365)
"""At most a year, so a secret (valid two periods) lives within the two years Entra advises."""


def check_sign_in(c: StackConfig, has_client_secret: bool) -> list[str]:
    if c.auth not in AUTH_MODES:
        return [f"auth: {c.auth!r} must be one of {', '.join(AUTH_MODES)}."]
    if c.auth == "password":
        if not EMAIL.match(c.admin_email):
            return [f"adminEmail: {c.admin_email or '(empty)'} is not an e-mail address. With auth password the "
                    "stack makes this admin at deploy; without one, the first visitor to the public address would "
                    "become admin. `pulumi config set adminEmail you@example.com` (or auth entra)."]
        return []
    errors = []
    if not GUID.match(c.entra_tenant_id):
        errors.append(f"entraTenantId: {c.entra_tenant_id or '(empty)'} is not a directory (tenant) ID; Entra "
                      "sign-in needs it (Entra admin center, Overview, Tenant ID): `pulumi config set entraTenantId "
                      "<guid>`.")
    groups = [(key, g) for key in ("entraAdminGroups", "entraUserGroups") for g in c.value(key)]
    errors += [f"{key}: {g!r} is not a group's object ID (a GUID)." for key, g in groups if not GUID.match(g)]
    if c.entra_client_id:
        if not GUID.match(c.entra_client_id):
            errors.append(f"entraClientId: {c.entra_client_id!r} is not an application (client) ID (a GUID).")
        if not has_client_secret:
            errors.append("entraClientSecret: missing. With your own registration (entraClientId) the replicas need "
                          "its client secret: `pulumi config set --secret entraClientSecret <value>`.")
        if groups:
            errors.append("entraAdminGroups/entraUserGroups: the program assigns roles only in a registration it "
                          "makes; with entraClientId, assign the admin and user app roles in your registration "
                          "(Enterprise applications, Users and groups) and remove these keys.")
    else:
        if not c.entra_admin_groups:
            errors.append("entraAdminGroups: empty, so nobody would administer Open WebUI (no sign-in is admin by "
                          "arriving first). `pulumi config set --path 'entraAdminGroups[0]' <group object id>`.")
        low, high = ROTATION_DAYS
        if not low <= c.entra_secret_rotation_days <= high:
            errors.append(f"entraSecretRotationDays: {c.entra_secret_rotation_days} is outside {low}..{high}; the "
                          "secret lives two periods, and Entra advises under two years.")
    return errors
