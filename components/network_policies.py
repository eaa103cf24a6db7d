"""NetworkPolicies: only who must may reach each pod of the namespace (the cluster's Cilium enforces them).

Ingress is denied to every pod by default; then Open WebUI (and cert-manager's HTTP-01 solvers) accept the edge's
pods only, Redis accepts Open WebUI only, and Ollama (if present) accepts Open WebUI only. Egress stays open but
for one address: Open WebUI reaches PostgreSQL outside the cluster and Ollama pulls models from its registry, and
no pod of the namespace reaches the node's instance metadata endpoint, where Azure hands out the node identity's
tokens (the kubelet's own identity, which can pull images and more).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class Peer:
    """Pods by labels, in the policy's own namespace or in the namespace named."""

    pods: Mapping[str, str]
    namespace: Optional[str] = None


@dataclass(frozen=True)
class Exposure:
    """Pods (by labels) that accept one port from the peers given."""

    name: str
    pods: Mapping[str, str]
    port: int
    sources: Sequence[Peer]


@dataclass
class NetworkPoliciesArgs:
    namespace: pulumi.Input[str]
    exposures: Sequence[Exposure]


INSTANCE_METADATA = "169.254.169.254/32"


class NetworkPolicies(pulumi.ComponentResource):
    def __init__(self, name: str, args: NetworkPoliciesArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:network:NetworkPolicies", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny-ingress",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="default-deny-ingress", namespace=args.namespace),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(), policy_types=["Ingress"]),
            opts=child)
        k8s.networking.v1.NetworkPolicy(
            f"{name}-no-instance-metadata",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="deny-instance-metadata-egress", namespace=args.namespace),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(), policy_types=["Egress"],
                egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[
                    # everything outside the cluster but the metadata endpoint...
                    k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(
                        cidr="0.0.0.0/0", except_=[INSTANCE_METADATA])),
                    # ...and every pod (Cilium matches pods by identity, never by ipBlock): DNS, Redis, Ollama
                    k8s.networking.v1.NetworkPolicyPeerArgs(namespace_selector=k8s.meta.v1.LabelSelectorArgs())])]),
            opts=child)
        for exposure in args.exposures:
            peers = [k8s.networking.v1.NetworkPolicyPeerArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(peer.pods)),
                namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                    match_labels={"kubernetes.io/metadata.name": peer.namespace}) if peer.namespace else None)
                for peer in exposure.sources]
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{exposure.name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=f"allow-{exposure.name}", namespace=args.namespace),
                spec=k8s.networking.v1.NetworkPolicySpecArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(exposure.pods)),
                    policy_types=["Ingress"],
                    ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=peers, ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=exposure.port,
                                                                                    protocol="TCP")])]),
                opts=child)
        self.register_outputs({})
