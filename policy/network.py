"""The network policies: every namespace denies ingress by default, and Open WebUI is reached from outside only
over TLS."""

from __future__ import annotations

from typing import Any, Mapping

from pulumi_policy import ReportViolation, StackValidationArgs

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

def open_webui_tls_only(args: StackValidationArgs, report: ReportViolation) -> None:
    """Open WebUI's pods reachable from the internet only through TLS: no LoadBalancer or NodePort Service
    selects them, and every Ingress host routed to them has a certificate."""
    apps = [(str(known(lambda: metadata(r.props).get("namespace"), "")),
             known(lambda: (metadata((r.props.get("spec") or {}).get("template") or {}).get("labels")), {}) or {})
            for r in args.resources if r.resource_type in (DEPLOYMENT, STATEFUL_SET) and is_open_webui(r.props)]

    def selects_app(namespace: str, selector: Mapping[str, Any]) -> bool:
        return bool(selector) and any(ns == namespace and all(labels.get(k) == v for k, v in selector.items())
                                      for ns, labels in apps)

    app_services = set()
    for r in args.resources:
        if r.resource_type != SERVICE:
            continue
        namespace = str(known(lambda: metadata(r.props).get("namespace"), ""))
        spec = known(lambda: r.props.get("spec"), {}) or {}
        if not selects_app(namespace, spec.get("selector") or {}):
            continue
        app_services.add((namespace, str(known(lambda: metadata(r.props).get("name"), ""))))
        if spec.get("type") in ("LoadBalancer", "NodePort"):
            report(f"Service '{metadata(r.props).get('name')}' ({spec['type']}) puts Open WebUI on the network in "
                   "plain HTTP: passwords, API keys and session cookies cross it in clear text. Make it ClusterIP "
                   "and publish it through an Ingress with TLS (the stack's edge does).", r.urn)
    for r in args.resources:
        if r.resource_type != INGRESS:
            continue
        namespace = str(known(lambda: metadata(r.props).get("namespace"), ""))
        spec = known(lambda: r.props.get("spec"), {}) or {}
        secured = {h for t in spec.get("tls") or [] for h in t.get("hosts") or []}
        for rule in spec.get("rules") or []:
            backends = {(namespace, ((p.get("backend") or {}).get("service") or {}).get("name"))
                        for p in ((rule.get("http") or {}).get("paths") or [])}
            if backends & app_services and rule.get("host") not in secured:
                report(f"Ingress '{metadata(r.props).get('name')}' routes {rule.get('host') or 'any host'} to Open "
                       "WebUI without TLS for it; add the host to spec.tls with a certificate "
                       "(cert-manager.io/cluster-issuer makes one).", r.urn)
