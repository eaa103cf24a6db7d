"""Network: what decides who may reach PostgreSQL. The cluster's known egress address and identity in both modes;
in private mode also the VNet, the subnets and the private DNS zone the server is integrated with.

- public: the server keeps a public endpoint whose firewall admits the cluster's egress address (a static
  Standard IP made here and handed to the AKS load balancer, so it is known before the cluster exists and
  survives upgrades) and the deployer's ranges only.
- private: the server lives in a subnet delegated to Microsoft.DBforPostgreSQL/flexibleServers, resolves through
  a private DNS zone linked to the VNet, and has no public endpoint; AKS runs in the same VNet (Azure CNI overlay).
The edge's static IP (with the DNS label that names the site) is made here too. The AKS control plane uses a
user-assigned identity made here, so that its Network Contributor role assignments (on both IPs, and on the AKS
subnet in private mode) exist before the cluster does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
from pulumi_azure_native import authorization, managedidentity, network, privatedns

NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
"""Azure's built-in role id: what AKS needs on the subnet its nodes join and on its outbound IP."""
POSTGRES_DELEGATION = "Microsoft.DBforPostgreSQL/flexibleServers"
PRIVATE_DNS_SUFFIX = "private.postgres.database.azure.com"
FILES_DNS_ZONE = "privatelink.file.core.windows.net"
GRAFANA_DNS_ZONE = "privatelink.grafana.azure.com"
"""Where a storage account's private endpoint for Azure Files is named, so <account>.file.core.windows.net
resolves to its private address inside the VNet."""
NETWORK_MODES = ("public", "private")


@dataclass(frozen=True)
class NetworkSettings:
    mode: str
    """public or private (see the module's docstring)."""
    vnet_cidr: str
    aks_subnet_cidr: str
    postgres_subnet_cidr: str

    @property
    def private(self) -> bool:
        return self.mode == "private"


@dataclass
class NetworkArgs:
    settings: NetworkSettings
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    tags: Mapping[str, str]
    dns_zone_label: str
    """First label of the private DNS zone name (<label>.private.postgres.database.azure.com)."""
    edge_dns_label: Optional[str]
    """Azure DNS label of the edge's public IP: <label>.<location>.cloudapp.azure.com. None: no edge, no IP."""
    with_grafana: bool = False
    """The stack has Managed Grafana: in private mode, its zone too."""


class Network(pulumi.ComponentResource):
    egress_ip_id: pulumi.Output[str]
    egress_ip_address: pulumi.Output[str]
    """The cluster's outbound address (known once Azure allocates it, before the cluster exists)."""
    edge_ip_name: Optional[pulumi.Output[str]]
    edge_ip_address: Optional[pulumi.Output[str]]
    """Where users connect (Traefik's LoadBalancer takes this IP, so the address outlives the chart)."""
    cluster_identity_id: pulumi.Output[str]
    cluster_permissions: list[pulumi.Resource]
    """The role assignments the cluster needs before it is created."""
    aks_subnet_id: Optional[pulumi.Output[str]]
    postgres_subnet_id: Optional[pulumi.Output[str]]
    private_dns_zone_id: Optional[pulumi.Output[str]]
    dns_zone_link: Optional[privatedns.VirtualNetworkLink]
    """The server is created once its DNS zone resolves in the VNet."""
    files_dns_zone_id: Optional[pulumi.Output[str]]
    """Private mode: the zone the shared volume's private endpoint registers in (linked to the VNet)."""
    grafana_dns_zone_id: Optional[pulumi.Output[str]]
    """Private mode: the zone Grafana's private endpoint registers in (linked to the VNet)."""

    def __init__(self, name: str, args: NetworkArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:network:Network", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)

        def static_ip(suffix: str, dns_label: Optional[str] = None) -> network.PublicIPAddress:
            return network.PublicIPAddress(
                f"{name}-{suffix}", sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
                public_ip_allocation_method="Static", public_ip_address_version="IPv4",
                dns_settings=network.PublicIPAddressDnsSettingsArgs(domain_name_label=dns_label) if dns_label else None,
                resource_group_name=args.resource_group_name, location=args.location, tags=dict(args.tags),
                opts=child)

        egress = static_ip("aks-egress")
        edge = static_ip("edge", args.edge_dns_label) if args.edge_dns_label is not None else None
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-aks-identity", resource_group_name=args.resource_group_name, location=args.location,
            tags=dict(args.tags), opts=child)
        role = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self)).subscription_id.apply(
            lambda subscription: f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/"
                                 f"{NETWORK_CONTRIBUTOR}")

        def network_contributor(suffix: str, scope: pulumi.Input[str]) -> authorization.RoleAssignment:
            return authorization.RoleAssignment(
                f"{name}-aks-{suffix}-network-contributor", principal_id=identity.principal_id,
                principal_type="ServicePrincipal", role_definition_id=role, scope=scope, opts=child)

        # AKS puts the egress IP on its load balancer and the edge IP under Traefik's Service.
        self.cluster_permissions = [network_contributor("egress", egress.id),
                                    *([network_contributor("edge", edge.id)] if edge else [])]
        self.aks_subnet_id = self.postgres_subnet_id = self.private_dns_zone_id = None
        self.files_dns_zone_id = self.grafana_dns_zone_id = None
        self.dns_zone_link = None
        if s.private:
            vnet = network.VirtualNetwork(
                f"{name}-vnet", address_space=network.AddressSpaceArgs(address_prefixes=[s.vnet_cidr]),
                resource_group_name=args.resource_group_name, location=args.location, tags=dict(args.tags),
                opts=child)
            aks_subnet = network.Subnet(
                f"{name}-aks-subnet", resource_group_name=args.resource_group_name, virtual_network_name=vnet.name,
                address_prefix=s.aks_subnet_cidr, opts=child)
            postgres_subnet = network.Subnet(
                f"{name}-postgres-subnet", resource_group_name=args.resource_group_name,
                virtual_network_name=vnet.name, address_prefix=s.postgres_subnet_cidr,
                delegations=[network.DelegationArgs(name="postgres", service_name=POSTGRES_DELEGATION)],
                # Azure applies subnet changes to one VNet one at a time.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[aks_subnet]))
            zone = privatedns.PrivateZone(
                f"{name}-postgres-dns", private_zone_name=f"{args.dns_zone_label}.{PRIVATE_DNS_SUFFIX}",
                resource_group_name=args.resource_group_name, location="Global", tags=dict(args.tags), opts=child)
            self.dns_zone_link = privatedns.VirtualNetworkLink(
                f"{name}-postgres-dns-link", private_zone_name=zone.name, resource_group_name=args.resource_group_name,
                location="Global", registration_enabled=False, virtual_network=privatedns.SubResourceArgs(id=vnet.id),
                tags=dict(args.tags), opts=child)

            def private_link_zone(service: str, zone_name: str) -> pulumi.Output[str]:
                """The zone a service's private endpoints register in, resolving in the VNet."""
                zone = privatedns.PrivateZone(
                    f"{name}-{service}-dns", private_zone_name=zone_name, resource_group_name=args.resource_group_name,
                    location="Global", tags=dict(args.tags), opts=child)
                privatedns.VirtualNetworkLink(
                    f"{name}-{service}-dns-link", private_zone_name=zone.name,
                    resource_group_name=args.resource_group_name, location="Global", registration_enabled=False,
                    virtual_network=privatedns.SubResourceArgs(id=vnet.id), tags=dict(args.tags), opts=child)
                return zone.id

            self.files_dns_zone_id = private_link_zone("files", FILES_DNS_ZONE)
            if args.with_grafana:
                self.grafana_dns_zone_id = private_link_zone("grafana", GRAFANA_DNS_ZONE)
            self.cluster_permissions.append(network_contributor("subnet", aks_subnet.id))
            self.aks_subnet_id, self.postgres_subnet_id = aks_subnet.id, postgres_subnet.id
            self.private_dns_zone_id = zone.id

        self.egress_ip_id = egress.id
        self.egress_ip_address = egress.ip_address.apply(lambda address: address or "")
        self.edge_ip_name = edge.name if edge else None
        self.edge_ip_address = edge.ip_address.apply(lambda address: address or "") if edge else None
        self.cluster_identity_id = identity.id
        self.register_outputs({"egress_ip_address": self.egress_ip_address})


@dataclass(frozen=True)
class PrivateLink:
    """Where a service's private endpoint goes (private mode): a subnet, and the zone its name resolves in."""

    subnet_id: pulumi.Input[str]
    dns_zone_id: pulumi.Input[str]


def private_endpoint(name: str, service_id: pulumi.Input[str], group_id: str, link: PrivateLink,
                     resource_group_name: pulumi.Input[str], location: pulumi.Input[str], tags: Mapping[str, str],
                     parent: pulumi.Resource) -> network.PrivateEndpoint:
    """A private endpoint rather than a service endpoint: the service then needs no public endpoint at all (a
    service endpoint only filters it by subnet), and its private address resolves through the zone."""
    child = pulumi.ResourceOptions(parent=parent)
    endpoint = network.PrivateEndpoint(
        f"{name}-endpoint", resource_group_name=resource_group_name, location=location,
        subnet=network.SubnetArgs(id=link.subnet_id),
        private_link_service_connections=[network.PrivateLinkServiceConnectionArgs(
            name=f"{name}-{group_id}", private_link_service_id=service_id, group_ids=[group_id])],
        tags=dict(tags), opts=child)
    network.PrivateDnsZoneGroup(
        f"{name}-endpoint-dns", resource_group_name=resource_group_name,
        private_endpoint_name=endpoint.name, private_dns_zone_group_name="default",
        private_dns_zone_configs=[network.PrivateDnsZoneConfigArgs(
            name=group_id, private_dns_zone_id=link.dns_zone_id)], opts=child)
    return endpoint
