"""Edge: where public traffic ends, over TLS only. Traefik (a Helm release) on the stack's static public IP,
cert-manager (a Helm release) with Let's Encrypt issuers, and the Ingress that takes `https://<host>` to Open WebUI.

Traefik, not ingress-nginx (retired by the Kubernetes project in 2026): a maintained controller that reads plain
Ingress objects (so cert-manager's ingress-shim and HTTP-01 solver work unchanged), passes websockets with no
annotation, and whose chart runs under the `restricted` Pod Security Standard. Both charts are pinned and
rendered by the provider at deploy time, so `pulumi preview` and the offline plan need no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.pod_security import NAMESPACE_LABELS

TRAEFIK_CHART = ("traefik", "41.3.0", "https://traefik.github.io/charts")
"""Chart, version and repository; chart 41.3.0 ships Traefik v3.7.11."""
CERT_MANAGER_CHART = ("cert-manager", "v1.21.1", "https://charts.jetstack.io")
TRAEFIK_REPLICAS = 2
TRAEFIK_RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}
"""The chart's own example (100m, 50Mi requested) with memory for streamed answers and held websockets; no CPU
limit, so a burst of TLS handshakes is not throttled."""
CERT_MANAGER_PODS = ("controller", "webhook", "cainjector")
CERT_MANAGER_RESOURCES = {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}
"""Each of cert-manager's three pods (its best-practice guide: set requests and a memory limit, no CPU limit; the
cainjector caches Secrets, so the limit is four times the request)."""
NAMESPACE = "edge"
"""Traefik and cert-manager share it: both are the edge, and neither runs anything else."""
INGRESS_CLASS = "traefik"
ISSUERS = {
    "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
    "production": "https://acme-v02.api.letsencrypt.org/directory",
}
"""Let's Encrypt's ACME directories. Staging's certificates are not trusted by browsers, but its rate limits
let a dev stack be torn down and rebuilt all day."""
TLS_SECRET = "open-webui-tls"
SOLVER_PORT = 8089
SOLVER_LABELS = {"acme.cert-manager.io/http01-solver": "true"}
"""cert-manager's HTTP-01 solver pods (in the Ingress's namespace) carry this label and listen on 8089."""
HSTS = "max-age=31536000;includeSubDomains"
MIN_TLS = "VersionTLS12"
SECURITY_HEADERS = {
    # no site may frame Open WebUI (clickjacking its admin pages): the old header and CSP's, for every browser
    "frameDeny": True, "contentSecurityPolicy": "frame-ancestors 'none'",
    "contentTypeNosniff": True, "referrerPolicy": "strict-origin-when-cross-origin",
}
SIGN_IN_RATE = {"average": 10, "period": "1m", "burst": 10}
"""Sign-in requests per client address (Traefik's default source: the connection's address, the client's own with
externalTrafficPolicy Local), per Traefik replica: enough for people, too few to guess passwords. Open WebUI's own
limiter counts per e-mail, so it never slows one address trying many accounts."""
HEADERS, RATE_LIMIT = "security-headers", "sign-in-rate-limit"
MIDDLEWARES = {HEADERS: {"headers": SECURITY_HEADERS}, RATE_LIMIT: {"rateLimit": SIGN_IN_RATE}}
"""Traefik Middlewares (traefik.io/v1alpha1) in the app's namespace, by name: their spec."""
SIGN_IN_PATHS = (("/api/v1/auths/signin", "Exact"), ("/api/v1/auths/signup", "Exact"),
                 ("/api/v1/auths/ldap", "Exact"), ("/oauth/", "Prefix"))
"""Where credentials or sign-in flows arrive: password, sign-up, LDAP, and the OAuth login and callback."""


def issuer_name(issuer: str) -> str:
    return f"letsencrypt-{issuer}"


@dataclass(frozen=True)
class EdgeSettings:
    hostname: str
    """What users open: the DNS label's <label>.<location>.cloudapp.azure.com, or the configured hostname."""
    dns_label: str
    acme_issuer: str
    """staging or production (a key of ISSUERS)."""
    acme_email: str
    """Let's Encrypt's contact for the account ('' registers without one)."""
    enabled: bool = True
    """False: no edge at all, no public address (edgeEnabled; the restore drill)."""

    @property
    def url(self) -> str:
        return f"https://{self.hostname}"


@dataclass
class EdgeArgs:
    settings: EdgeSettings
    public_ip_name: pulumi.Input[str]
    """The static Standard public IP (made with the network) that Traefik's LoadBalancer Service takes."""
    resource_group_name: pulumi.Input[str]
    app_namespace: pulumi.Input[str]
    app_service_name: pulumi.Input[str]
    app_service_port: int


class Edge(pulumi.ComponentResource):
    url: pulumi.Output[str]
    controller_pods: dict[str, str]
    """Labels of Traefik's pods: the only pods NetworkPolicies let reach Open WebUI and the solvers."""

    def __init__(self, name: str, args: EdgeArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:edge:Edge", name, None, opts)
        s = args.settings
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata=k8s.meta.v1.ObjectMetaArgs(name=NAMESPACE, labels={
                **NAMESPACE_LABELS,
                # both charts' pods meet the restricted standard
                "pod-security.kubernetes.io/enforce": "restricted"}),
            opts=pulumi.ResourceOptions(parent=self))
        self.controller_pods = {"app.kubernetes.io/name": "traefik"}
        traefik = self._release(f"{name}-traefik", TRAEFIK_CHART, namespace, traefik_values(args))
        cert_manager = self._release(f"{name}-cert-manager", CERT_MANAGER_CHART, namespace, CERT_MANAGER_VALUES)
        issuers = [k8s.apiextensions.CustomResource(
            f"{name}-{issuer_name(issuer)}", api_version="cert-manager.io/v1", kind="ClusterIssuer",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=issuer_name(issuer)),
            spec=issuer_spec(issuer, s.acme_email),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cert_manager])) for issuer in ISSUERS]
        middlewares = [k8s.apiextensions.CustomResource(
            f"{name}-{middleware}", api_version="traefik.io/v1alpha1", kind="Middleware",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=middleware, namespace=args.app_namespace), spec=spec,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[traefik]))  # its CRDs come with the chart
            for middleware, spec in MIDDLEWARES.items()]
        ready: list[pulumi.Resource] = [traefik, *issuers, *middlewares]
        # Everything gets the headers; the sign-in paths also the rate limit (Traefik prefers the longer path).
        self._ingress(f"{name}-ingress", args, args.app_service_name, [("/", "Prefix")], [HEADERS], ready, {
            # cert-manager's ingress-shim makes the Certificate for the tls block (once: the other Ingress reuses it)
            "cert-manager.io/cluster-issuer": issuer_name(s.acme_issuer)})
        self._ingress(f"{name}-sign-in-ingress", args, pulumi.Output.concat(args.app_service_name, "-sign-in"),
                      SIGN_IN_PATHS, [HEADERS, RATE_LIMIT], ready)
        self.url = pulumi.Output.from_input(s.url)
        self.register_outputs({"url": self.url})

    def _ingress(self, name: str, args: EdgeArgs, ingress_name: pulumi.Input[str], paths: Sequence[tuple[str, str]],
                 middlewares: Sequence[str], depends_on: Sequence[pulumi.Resource],
                 annotations: Optional[dict[str, str]] = None) -> k8s.networking.v1.Ingress:
        host = args.settings.hostname
        chain = pulumi.Output.from_input(args.app_namespace).apply(
            lambda namespace: ",".join(f"{namespace}-{m}@kubernetescrd" for m in middlewares))
        return k8s.networking.v1.Ingress(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=ingress_name, namespace=args.app_namespace,
                annotations={
                    **(annotations or {}),
                    # HTTPS only: port 80 exists only to redirect (and for HTTP-01, which follows the redirect)
                    "traefik.ingress.kubernetes.io/router.entrypoints": "websecure",
                    "traefik.ingress.kubernetes.io/router.tls": "true",
                    "traefik.ingress.kubernetes.io/router.middlewares": chain,
                }),
            spec=k8s.networking.v1.IngressSpecArgs(
                ingress_class_name=INGRESS_CLASS,
                tls=[k8s.networking.v1.IngressTLSArgs(hosts=[host], secret_name=TLS_SECRET)],
                rules=[k8s.networking.v1.IngressRuleArgs(host=host, http=k8s.networking.v1.HTTPIngressRuleValueArgs(
                    paths=[k8s.networking.v1.HTTPIngressPathArgs(
                        path=path, path_type=path_type, backend=k8s.networking.v1.IngressBackendArgs(
                            service=k8s.networking.v1.IngressServiceBackendArgs(
                                name=args.app_service_name,
                                port=k8s.networking.v1.ServiceBackendPortArgs(number=args.app_service_port))))
                        for path, path_type in paths]))]),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)))

    def _release(self, name: str, chart: tuple[str, str, str], namespace: k8s.core.v1.Namespace,
                 values: dict[str, Any]) -> k8s.helm.v3.Release:
        chart_name, version, repo = chart
        return k8s.helm.v3.Release(
            name, chart=chart_name, version=version, name=chart_name,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=repo),
            namespace=namespace.metadata.name, values=values,
            # the release is done when its Deployments are ready (cert-manager's webhook before any issuer)
            atomic=True, timeout=600,
            opts=pulumi.ResourceOptions(parent=self))


CERT_MANAGER_VALUES: dict[str, Any] = {
    # the CRDs come with the release (and stay if it is ever uninstalled: deleting them deletes every certificate)
    "crds": {"enabled": True, "keep": True},
    "resources": CERT_MANAGER_RESOURCES,
    **{pod: {"resources": CERT_MANAGER_RESOURCES} for pod in CERT_MANAGER_PODS if pod != "controller"},
}


def traefik_values(args: EdgeArgs) -> dict[str, Any]:
    return {
        "deployment": {"replicas": TRAEFIK_REPLICAS},
        "resources": TRAEFIK_RESOURCES,
        "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        # The TLSOption named default applies to every router: TLS 1.2 at least (Traefik's own default too, now
        # written down where a review finds it and a chart upgrade cannot move it).
        "tlsOptions": {"default": {"minVersion": MIN_TLS}},
        "ingressClass": {"enabled": True, "isDefaultClass": False, "name": INGRESS_CLASS},
        "ports": {
            "web": {"http": {"redirections": {"entryPoint": {"to": "websecure", "scheme": "https", "permanent": True}}}},
            "websecure": {"transport": {"respondingTimeouts": {
                # Traefik v3 cuts a request body read at 60s: a large document upload over a slow link takes longer.
                "readTimeout": "600s",
                # 0 = none: a chat answer streams for as long as the model generates.
                "writeTimeout": "0s",
                # socket.io (/ws/socket.io) pings every 25s, so an idle websocket stays well inside this.
                "idleTimeout": "180s",
            }}},
        },
        "service": {
            "annotations": {
                # the static IP made with the network (its DNS label is the default hostname): it outlives the chart
                "service.beta.kubernetes.io/azure-load-balancer-resource-group": args.resource_group_name,
                "service.beta.kubernetes.io/azure-pip-name": args.public_ip_name,
            },
            # Local keeps the client's address (Open WebUI logs and rate-limits by it) and skips a second hop.
            "spec": {"externalTrafficPolicy": "Local"},
        },
    }


def issuer_spec(issuer: str, email: str) -> dict[str, Any]:
    acme: dict[str, Any] = {
        "server": ISSUERS[issuer],
        "privateKeySecretRef": {"name": f"{issuer_name(issuer)}-account"},
        "solvers": [{"http01": {"ingress": {"ingressClassName": INGRESS_CLASS}}}],
    }
    if email:
        acme["email"] = email
    return {"acme": acme}
