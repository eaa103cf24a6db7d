"""The network: public with authorized ranges, or private with its VNet and subnets."""

from __future__ import annotations

import ipaddress

from components.aks import POD_CIDR
from components.network import NETWORK_MODES
from components.stack_config import StackConfig


def _check_api_ranges(ranges: tuple[str, ...]) -> list[str]:
    errors = []
    for entry in ranges:
        try:
            network = ipaddress.IPv4Network(entry)
        except ValueError:
            errors.append(f"aksAuthorizedIpRanges: {entry!r} is not an IPv4 range in CIDR form such as "
                          "'203.0.113.0/24' (AKS takes CIDRs only).")
            continue
        if network.prefixlen < 8:
            errors.append(f"aksAuthorizedIpRanges: {entry} admits a large part of the internet to the Kubernetes "
                          "API; list the deployers' and CI's ranges instead.")
    return errors


def check_network(c: StackConfig) -> list[str]:
    if c.postgres_network not in NETWORK_MODES:
        return [f"postgresNetwork: {c.postgres_network!r} must be one of {', '.join(NETWORK_MODES)}."]
    if c.postgres_network != "private":
        return _check_api_ranges(c.aks_authorized_ip_ranges)
    errors, nets = [], {}
    for key in ("vnetCidr", "aksSubnetCidr", "postgresSubnetCidr"):
        try:
            nets[key] = ipaddress.IPv4Network(c.value(key))
        except ValueError:
            errors.append(f"{key}: {c.value(key)!r} is not an IPv4 network such as '10.42.0.0/16'.")
    if errors:
        return errors
    for key in ("aksSubnetCidr", "postgresSubnetCidr"):
        if not nets[key].subnet_of(nets["vnetCidr"]):
            errors.append(f"{key}: {c.value(key)} is not inside vnetCidr {c.vnet_cidr}.")
    if nets["aksSubnetCidr"].overlaps(nets["postgresSubnetCidr"]):
        errors.append(f"aksSubnetCidr/postgresSubnetCidr: {c.aks_subnet_cidr} and {c.postgres_subnet_cidr} overlap; "
                      "the PostgreSQL subnet is delegated and must hold nothing else.")
    if nets["vnetCidr"].overlaps(ipaddress.IPv4Network(POD_CIDR)):
        errors.append(f"vnetCidr: {c.vnet_cidr} overlaps the cluster's pod range {POD_CIDR} (Azure CNI overlay); "
                      "pods could not reach the addresses they share. Pick a VNet range outside it.")
    if nets["postgresSubnetCidr"].prefixlen > 28:
        errors.append(f"postgresSubnetCidr: {c.postgres_subnet_cidr} is smaller than the /28 Azure requires for a "
                      "delegated PostgreSQL subnet.")
    if c.postgres_firewall_rules:
        errors.append("postgresFirewallRules: a private server has no public endpoint to put rules on; remove them.")
    if c.aks_authorized_ip_ranges:
        errors.append("aksAuthorizedIpRanges: the private cluster's API server has no public endpoint to limit; "
                      "remove them (deploy from inside the VNet).")
    return errors
