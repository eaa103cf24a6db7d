"""The network policies: every namespace denies ingress by default, and Open WebUI is reached from outside only
over TLS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from resources import (DEPLOYMENT, INGRESS, MANAGED_CLUSTER, NETWORK_POLICY, SERVICE, STATEFUL_SET, WORKLOADS,
                       is_open_webui, known, metadata)


# namespace-default-deny ---------------------------------------------------------------------------

def namespace_default_deny(args: StackValidationArgs, report: ReportViolation) -> None:
    namespaces = {str(known(lambda: metadata(r.props).get("namespace"), "")) for r in args.resources
                  if r.resource_type in WORKLOADS}
    namespaces = {n for n in namespaces if n and not n.startswith("kube-")}
    denying = set()
    for r in args.resources:
        if r.resource_type != NETWORK_POLICY:
            continue
        spec = known(lambda: r.props.get("spec"), {}) or {}
        selector = spec.get("podSelector") or {}
        if not selector.get("matchLabels") and not selector.get("matchExpressions") and \
                "Ingress" in (spec.get("policyTypes") or []) and not spec.get("ingress"):
            denying.add(str(known(lambda: metadata(r.props).get("namespace"), "")))
    for namespace in sorted(namespaces - denying):
        report(f"namespace '{namespace}' runs workloads with no default-deny ingress NetworkPolicy: every pod in the "
               "cluster can reach every one of them. Add one (podSelector: {}, policyTypes: [Ingress]) and allow "
               "only what must pass.", None)
    clusters = [r for r in args.resources if r.resource_type == MANAGED_CLUSTER]
    if denying and clusters:
        for cluster in clusters:
            engine = known(lambda: (cluster.props.get("networkProfile") or {}).get("networkPolicy"), "cilium")
            if engine in (None, "", "none"):
                report("the stack declares NetworkPolicies but its cluster has no network policy engine "
                       "(networkProfile.networkPolicy): nothing would enforce them. Use cilium (or calico).",
                       cluster.urn)

# open-webui-tls-only ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Entrance:
    """A way into Open WebUI's pods from outside the cluster."""

    resource: PolicyResource
    namespace: str
    kind: str
    """LoadBalancer or NodePort (a Service), or Ingress."""
    host: str
    tls: bool


def open_webui_entrances(resources: Sequence[PolicyResource]) -> list[tuple[PolicyResource, Entrance]]:
    """Each Open WebUI workload with each way in from outside the cluster: a LoadBalancer or NodePort Service that
    selects its pods, or an Ingress rule routed to a Service that does."""
    apps = [(r, str(known(lambda: metadata(r.props).get("namespace"), "")),
             known(lambda: (metadata((r.props.get("spec") or {}).get("template") or {}).get("labels")), {}) or {})
            for r in resources if r.resource_type in (DEPLOYMENT, STATEFUL_SET) and is_open_webui(r.props)]

    def selected(namespace: str, selector: Mapping[str, Any]) -> list[PolicyResource]:
        return [app for app, ns, labels in apps if selector and ns == namespace
                and all(labels.get(k) == v for k, v in selector.items())]

    found: list[tuple[PolicyResource, Entrance]] = []
    services: dict[tuple[str, str], list[PolicyResource]] = {}
    for r in resources:
        if r.resource_type != SERVICE:
            continue
        namespace = str(known(lambda: metadata(r.props).get("namespace"), ""))
        spec = known(lambda: r.props.get("spec"), {}) or {}
        backs = selected(namespace, spec.get("selector") or {})
        services[(namespace, str(known(lambda: metadata(r.props).get("name"), "")))] = backs
        if spec.get("type") in ("LoadBalancer", "NodePort"):
            found += [(app, Entrance(r, namespace, str(spec["type"]), "", False)) for app in backs]
    for r in resources:
        if r.resource_type != INGRESS:
            continue
        namespace = str(known(lambda: metadata(r.props).get("namespace"), ""))
        spec = known(lambda: r.props.get("spec"), {}) or {}
        secured = {h for t in spec.get("tls") or [] for h in t.get("hosts") or []}
        for rule in spec.get("rules") or []:
            backends = {((p.get("backend") or {}).get("service") or {}).get("name")
                        for p in ((rule.get("http") or {}).get("paths") or [])}
            routed = {app.urn: app for b in backends for app in services.get((namespace, str(b)), [])}
            found += [(app, Entrance(r, namespace, "Ingress", str(rule.get("host") or ""),
                                     rule.get("host") in secured)) for app in routed.values()]
    return found


def open_webui_tls_only(args: StackValidationArgs, report: ReportViolation) -> None:
    """Open WebUI's pods reachable from the internet only through TLS: no LoadBalancer or NodePort Service
    selects them, and every Ingress host routed to them has a certificate."""
    reported: set[tuple[str, str]] = set()
    for _, way in open_webui_entrances(args.resources):
        if (way.resource.urn, way.host) in reported or (way.kind == "Ingress" and way.tls):
            continue
        reported.add((way.resource.urn, way.host))
        name = metadata(way.resource.props).get("name")
        if way.kind != "Ingress":
            report(f"Service '{name}' ({way.kind}) puts Open WebUI on the network in plain HTTP: passwords, API keys "
                   "and session cookies cross it in clear text. Make it ClusterIP and publish it through an Ingress "
                   "with TLS (the stack's edge does).", way.resource.urn)
        else:
            report(f"Ingress '{name}' routes {way.host or 'any host'} to Open WebUI without TLS for it; add the host "
                   "to spec.tls with a certificate (cert-manager.io/cluster-issuer makes one).", way.resource.urn)
