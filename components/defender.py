"""Defender: Microsoft Defender for Cloud's plans for what this stack runs (containers, storage accounts, open-source
relational databases), behind the `defenderEnabled` switch, off by default.

The plans are set per subscription (Azure has no narrower scope for them): turning them on covers every cluster,
storage account and PostgreSQL server of the subscription, and the bill counts only this stack's.
"""

from __future__ import annotations

from typing import Optional

import pulumi
from pulumi_azure_native import authorization, security

PLANS = ("Containers", "StorageAccounts", "OpenSourceRelationalDatabases")


class Defender(pulumi.ComponentResource):
    def __init__(self, name: str, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:security:Defender", name, None, opts)
        subscription = authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self)).subscription_id
        for plan in PLANS:
            security.Pricing(f"{name}-{plan.lower()}", pricing_name=plan, pricing_tier="Standard",
                             scope_id=pulumi.Output.concat("/subscriptions/", subscription),
                             opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})
