"""The cost policies: the estimated bill (components/cost.py) within the stack's budget, and Premium shares asked
for at the size they are billed at."""

from __future__ import annotations

import re

from pulumi_policy import PolicyConfigSchema, ReportViolation, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from components.cost import BUDGET_TAG, estimate
from resources import PVC, STORAGE_CLASS, known, metadata, with_defaults

PREMIUM_V1_SKUS = ("Premium_LRS", "Premium_ZRS")


# monthly-budget -----------------------------------------------------------------------------------

RESOURCE_GROUP = "azure-native:resources:ResourceGroup"


def monthly_budget(args: StackValidationArgs, report: ReportViolation) -> None:
    """The estimated bill (components/cost.py) within the stack's monthlyBudgetUsd (its resource group's tag)."""
    budgets = [(r, known(lambda: (r.props.get("tags") or {}).get(BUDGET_TAG))) for r in args.resources
               if r.resource_type == RESOURCE_GROUP]
    budgets = [(r, float(b)) for r, b in budgets if b]
    if not budgets:
        return
    try:
        bill = estimate((r.name, r.resource_type, r.props) for r in args.resources)
    except UnknownValueError:
        return  # a size or SKU is known only after deployment
    for group, budget in budgets:
        if bill.high > budget:
            report(f"the estimated monthly bill is ${bill.low:,.2f}..${bill.high:,.2f} (list prices, {bill.region}, "
                   f"{bill.date}; `make plan` shows it line by line), above monthlyBudgetUsd ${budget:,.0f}. Lower "
                   "node counts or SKUs, or raise the budget.", group.urn)

# premium-files-size -------------------------------------------------------------------------------

PREMIUM_FILES_SCHEMA = PolicyConfigSchema(properties={
    "minimumGi": {"type": "integer", "default": 100,
                  "description": "Size a Premium (provisioned v1) share is billed at, at the least."},
})


def premium_files_size(args: StackValidationArgs, report: ReportViolation) -> None:
    minimum = int(with_defaults(PREMIUM_FILES_SCHEMA, args.get_config())["minimumGi"])
    classes = {metadata(r.props).get("name"): r for r in args.resources if r.resource_type == STORAGE_CLASS}
    for claim in (r for r in args.resources if r.resource_type == PVC):
        try:
            spec = claim.props.get("spec") or {}
            storage_class = classes.get(spec.get("storageClassName"))
            if storage_class is None or storage_class.props.get("provisioner") != "file.csi.azure.com":
                continue
            sku = (storage_class.props.get("parameters") or {}).get("skuName")
            size = str(((spec.get("resources") or {}).get("requests") or {}).get("storage", ""))
            match = re.fullmatch(r"(\d+)Gi", size)
            if sku in PREMIUM_V1_SKUS and match and int(match.group(1)) < minimum:
                report(f"{claim.name} asks for {size} of {sku}, which is billed as {minimum}Gi (the "
                       f"provisioned minimum): request {minimum}Gi and get the IOPS you pay for.", claim.urn)
        except UnknownValueError:
            continue
