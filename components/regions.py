"""Azure's public regions, by the programmatic name `location` takes, so a typo is refused before anything is
declared instead of minutes into `pulumi up`.

From Azure's list of regions (`az account list-locations --query "[?metadata.regionType=='Physical'].name"`, public
cloud, 2026). A region Azure opens later is added here; which VM sizes and PostgreSQL SKUs a region offers is only
published through Azure's API per subscription (`az vm list-skus`, `az postgres flexible-server list-skus`), so it is
not checked offline.
"""

from __future__ import annotations

import difflib

AZURE_REGIONS = frozenset({
    "australiacentral", "australiacentral2", "australiaeast", "australiasoutheast", "austriaeast", "belgiumcentral",
    "brazilsouth", "brazilsoutheast", "canadacentral", "canadaeast", "centralindia", "centralus", "chilecentral",
    "eastasia", "eastus", "eastus2", "francecentral", "francesouth", "germanynorth", "germanywestcentral",
    "indonesiacentral", "israelcentral", "italynorth", "japaneast", "japanwest", "jioindiacentral", "jioindiawest",
    "koreacentral", "koreasouth", "malaysiawest", "mexicocentral", "newzealandnorth", "northcentralus", "northeurope",
    "norwayeast", "norwaywest", "polandcentral", "qatarcentral", "southafricanorth", "southafricawest",
    "southcentralus", "southeastasia", "southindia", "spaincentral", "swedencentral", "switzerlandnorth",
    "switzerlandwest", "uaecentral", "uaenorth", "uksouth", "ukwest", "westcentralus", "westeurope", "westindia",
    "westus", "westus2", "westus3",
})


def region_error(location: str) -> str | None:
    """None for a region Azure has; otherwise the message, with the nearest names."""
    if location in AZURE_REGIONS:
        return None
    wanted = location.lower().replace(" ", "").replace("-", "")
    if wanted in AZURE_REGIONS:
        return f"location: {location!r} is spelt {wanted!r} in Azure's API (lower case, no spaces)."
    nearest = difflib.get_close_matches(wanted, sorted(AZURE_REGIONS), n=3, cutoff=0.5)
    return (f"location: {location!r} is not an Azure region"
            + (f"; nearest: {', '.join(nearest)}" if nearest else "")
            + ". `az account list-locations -o table` lists them (the Name column); a region newer than this program "
              "goes into components/regions.py.")
