"""Azure resource locks: what `protect` cannot do. `protect` stops Pulumi's own deletes; a CanNotDelete lock stops
everyone's (the portal, the CLI, a stolen deploy identity without Microsoft.Authorization/locks/delete), until a
person lifts it (docs/operations.md, 'Backups and restores': lifting a lock)."""

from __future__ import annotations

from typing import Optional

import pulumi
from pulumi_azure_native import authorization

CAN_NOT_DELETE = "CanNotDelete"


def delete_lock(name: str, scope: pulumi.Input[str], protect: bool, parent: pulumi.Resource,
                what: str) -> Optional[authorization.ManagementLockByScope]:
    """A CanNotDelete lock on what a protected stack (`protect`) keeps its data in; none otherwise."""
    if not protect:
        return None
    return authorization.ManagementLockByScope(
        f"{name}-lock", scope=scope, level=CAN_NOT_DELETE, lock_name=f"{name}-{CAN_NOT_DELETE.lower()}",
        notes=f"{what}: deleting it loses data. Lift the lock only when a person means to (pulumi destroy refuses "
              "while it stands).", opts=pulumi.ResourceOptions(parent=parent))
