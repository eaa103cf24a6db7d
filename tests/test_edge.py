"""The edge: HTTPS only, at the stack's own address, with certificates that renew themselves."""

from __future__ import annotations

import copy

import pytest

from programs import job_program
from components.aks import POD_CIDR
from components.edge import HSTS, ISSUERS
from offline_plan.mock_engine import MockRun, reveal, run_program
from test_network import NETWORK_CONTRIBUTOR
from offline_plan.pinned_schemas import validate_custom_resource, validate_release
from offline_plan.plan import releases


@pytest.fixture(scope="module", params=["dev", "prod"])
def run(request: pytest.FixtureRequest) -> MockRun:
    return run_program(request.param)


@pytest.fixture(scope="module")
def custom_host() -> MockRun:
    return run_program("prod", {"hostname": "chat.example.com", "acmeEmail": "platform@example.org"})


def inputs(run: MockRun, name: str) -> dict:
    return reveal(run.named(name).inputs)


def app_env(run: MockRun, name: str = "open-webui-deployment") -> dict[str, str]:
    [container] = inputs(run, name)["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}


def traefik(run: MockRun) -> dict:
    return inputs(run, "edge-traefik")["values"]


def test_the_app_knows_it_lives_at_https_on_the_default_hostname(run):
    host = f"openwebui-{run.stack}.westeurope.cloudapp.azure.com"
    for workload in ("open-webui-deployment", "open-webui-migrate"):
        env = app_env(run, workload)
        assert env["WEBUI_URL"] == env["CORS_ALLOW_ORIGIN"] == f"https://{host}"
        assert env["WEBUI_SESSION_COOKIE_SECURE"] == env["WEBUI_AUTH_COOKIE_SECURE"] == "true"
        assert env["HSTS"] == HSTS == "max-age=31536000;includeSubDomains"
        # forwarded headers are believed from the pod range only, where the edge's pods are
        assert env["FORWARDED_ALLOW_IPS"] == POD_CIDR == inputs(run, "aks-cluster")["networkProfile"]["podCidr"]
    # the IP that carries the name: Standard, static, labelled, and AKS may put it under Traefik's Service
    ip = inputs(run, "network-edge")
    assert ip["sku"]["name"] == "Standard" and ip["publicIPAllocationMethod"] == "Static"
    assert ip["dnsSettings"] == {"domainNameLabel": f"openwebui-{run.stack}"}
    grant = inputs(run, "network-aks-edge-network-contributor")
    assert grant["scope"] == "network-edge-id" and grant["roleDefinitionId"].endswith(NETWORK_CONTRIBUTOR)
    assert run.named("network-aks-edge-network-contributor").urn in run.named("aks-cluster").dependencies


def test_a_changed_url_reaches_the_running_app_through_the_schema_job(run):
    program = job_program(run, "open-webui")
    # webui.url is one of Open WebUI's persistent settings: env only seeds it on a first start
    assert '"webui.url": os.environ["WEBUI_URL"]' in program


def test_the_ingress_serves_the_host_over_tls_only(run):
    ingress = inputs(run, "edge-ingress")
    host = f"openwebui-{run.stack}.westeurope.cloudapp.azure.com"
    assert ingress["metadata"]["namespace"] == "open-webui"
    assert ingress["spec"]["ingressClassName"] == "traefik"
    assert ingress["spec"]["tls"] == [{"hosts": [host], "secretName": "open-webui-tls"}]
    [rule] = ingress["spec"]["rules"]
    assert rule["host"] == host
    assert rule["http"]["paths"][0]["backend"]["service"] == {"name": "open-webui", "port": {"number": 80}}
    assert ingress["metadata"]["annotations"]["traefik.ingress.kubernetes.io/router.entrypoints"] == "websecure"
    # the Ingress waits for the controller and the issuers it names
    deps = run.named("edge-ingress").dependencies
    assert {run.named(n).urn for n in ("edge-traefik", "edge-letsencrypt-staging",
                                       "edge-letsencrypt-production")} <= set(deps)


def test_http_redirects_to_https_and_uploads_and_websockets_pass(run):
    values = traefik(run)
    assert values["ports"]["web"]["http"]["redirections"]["entryPoint"] == {
        "to": "websecure", "scheme": "https", "permanent": True}
    timeouts = values["ports"]["websecure"]["transport"]["respondingTimeouts"]
    # Traefik v3's 60s read timeout would cut large uploads; streamed answers must never be cut
    assert timeouts == {"readTimeout": "600s", "writeTimeout": "0s", "idleTimeout": "180s"}
    assert values["service"]["spec"] == {"externalTrafficPolicy": "Local"}
    # Traefik's LoadBalancer takes the stack's static IP, by name, in the stack's resource group
    annotations = values["service"]["annotations"]
    assert annotations["service.beta.kubernetes.io/azure-pip-name"] == run.named("network-edge").outputs["name"]
    assert annotations["service.beta.kubernetes.io/azure-load-balancer-resource-group"] == \
        run.named("openwebui").outputs["name"]


def test_charts_are_pinned_and_their_values_match_the_charts_schemas(run):
    charts = {r["chart"]: r for r in releases(run)}
    assert {c: (r["version"], r["repositoryOpts"]["repo"]) for c, r in charts.items()} == {
        "traefik": ("41.3.0", "https://traefik.github.io/charts"),
        "cert-manager": ("v1.21.1", "https://charts.jetstack.io")}
    assert charts["cert-manager"]["values"]["crds"] == {"enabled": True, "keep": True}
    for release in charts.values():
        assert release["namespace"] == "edge" and release["atomic"] is True
        assert validate_release(release) == []
    edge_ns = inputs(run, "edge-namespace")["metadata"]["labels"]
    assert edge_ns["pod-security.kubernetes.io/enforce"] == "restricted"


def test_a_wrong_chart_value_or_version_is_caught(run):
    release = copy.deepcopy(next(r for r in releases(run) if r["chart"] == "traefik"))
    release["values"]["ports"]["websecure"]["transport"]["respondingTimeouts"]["readTimeout"] = True
    [error] = validate_release(release)
    assert "Helm release traefik values" in error and "ports.websecure.transport.respondingTimeouts.readTimeout" in error
    release["values"]["ports"]["websecure"]["transport"]["respondingTimeouts"]["readTimeout"] = "600s"
    release["values"]["podDisruptionBudget"]["minAvaliable"] = 1
    [error] = validate_release(release)
    assert "minAvaliable" in error
    release["version"] = "99.0.0"
    assert "no pinned values schema for chart traefik 99.0.0" in validate_release(release)[0]


def test_issuers_per_stack_staging_for_dev_production_for_prod(run):
    issuer = {"dev": "staging", "prod": "production"}[run.stack]
    annotations = inputs(run, "edge-ingress")["metadata"]["annotations"]
    assert annotations["cert-manager.io/cluster-issuer"] == f"letsencrypt-{issuer}"
    assert run.outputs["acmeIssuer"] == issuer
    for name, server in ISSUERS.items():
        spec = inputs(run, f"edge-letsencrypt-{name}")
        assert spec["apiVersion"] == "cert-manager.io/v1" and spec["kind"] == "ClusterIssuer"
        acme = spec["spec"]["acme"]
        assert acme["server"] == server
        # HTTP-01 through the same edge
        assert acme["solvers"] == [{"http01": {"ingress": {"ingressClassName": "traefik"}}}]
        assert "email" not in acme
        assert validate_custom_resource(spec) == []
        assert run.named("edge-cert-manager").urn in run.named(f"edge-letsencrypt-{name}").dependencies


def test_an_issuer_with_a_misspelt_field_fails_its_crd_schema(run):
    spec = copy.deepcopy(inputs(run, "edge-letsencrypt-production"))
    spec["spec"]["acme"]["solvers"][0]["http01"]["ingres"] = spec["spec"]["acme"]["solvers"][0]["http01"].pop("ingress")
    errors = validate_custom_resource(spec)
    assert errors and "ClusterIssuer/letsencrypt-production" in errors[0] and "ingres" in errors[0]
    del spec["spec"]["acme"]["server"]
    assert any("'server' is a required property" in e for e in validate_custom_resource(spec))


def test_a_custom_hostname_replaces_the_azure_name(custom_host):
    ingress = inputs(custom_host, "edge-ingress")
    assert ingress["spec"]["tls"][0]["hosts"] == ["chat.example.com"]
    assert ingress["spec"]["rules"][0]["host"] == "chat.example.com"
    assert app_env(custom_host)["WEBUI_URL"] == "https://chat.example.com"
    assert custom_host.outputs["url"] == "https://chat.example.com"
    # the Azure name stays on the IP: it is the CNAME's target
    assert inputs(custom_host, "network-edge")["dnsSettings"] == {"domainNameLabel": "openwebui-prod"}
    assert inputs(custom_host, "edge-letsencrypt-production")["spec"]["acme"]["email"] == "platform@example.org"


def test_a_dns_label_from_config_names_the_site():
    run = run_program("dev", {"dnsLabel": "contoso-chat"})
    assert run.outputs["url"] == "https://contoso-chat.westeurope.cloudapp.azure.com"
    assert inputs(run, "network-edge")["dnsSettings"] == {"domainNameLabel": "contoso-chat"}


def test_sign_in_paths_are_rate_limited_per_address_and_every_response_carries_the_headers(run):
    headers, limit = inputs(run, "edge-security-headers"), inputs(run, "edge-sign-in-rate-limit")
    assert headers["kind"] == limit["kind"] == "Middleware" and headers["apiVersion"] == "traefik.io/v1alpha1"
    assert headers["spec"]["headers"]["frameDeny"] is True
    assert headers["spec"]["headers"]["contentSecurityPolicy"] == "frame-ancestors 'none'"
    assert headers["spec"]["headers"]["contentTypeNosniff"] is True
    assert headers["spec"]["headers"]["referrerPolicy"] == "strict-origin-when-cross-origin"
    assert limit["spec"]["rateLimit"] == {"average": 10, "period": "1m", "burst": 10}
    for middleware in (headers, limit):
        assert middleware["metadata"]["namespace"] == "open-webui"
        assert validate_custom_resource(middleware) == []
        assert run.named("edge-traefik").urn in run.named(f"edge-{middleware['metadata']['name']}").dependencies
    site, sign_in = inputs(run, "edge-ingress"), inputs(run, "edge-sign-in-ingress")
    assert site["metadata"]["annotations"]["traefik.ingress.kubernetes.io/router.middlewares"] == \
        "open-webui-security-headers@kubernetescrd"
    assert sign_in["metadata"]["annotations"]["traefik.ingress.kubernetes.io/router.middlewares"] == \
        "open-webui-security-headers@kubernetescrd,open-webui-sign-in-rate-limit@kubernetescrd"
    assert {(p["path"], p["pathType"]) for p in sign_in["spec"]["rules"][0]["http"]["paths"]} == {
        ("/api/v1/auths/signin", "Exact"), ("/api/v1/auths/signup", "Exact"), ("/api/v1/auths/ldap", "Exact"),
        ("/oauth/", "Prefix")}
    # one certificate for the host: only the site's Ingress asks cert-manager; the sign-in one reuses its secret
    assert sign_in["spec"]["tls"] == site["spec"]["tls"]
    assert "cert-manager.io/cluster-issuer" not in sign_in["metadata"]["annotations"]


def test_tls_1_2_at_least_and_a_misspelt_middleware_or_tls_option_is_caught(run):
    assert traefik(run)["tlsOptions"] == {"default": {"minVersion": "VersionTLS12"}}
    release = copy.deepcopy(next(r for r in releases(run) if r["chart"] == "traefik"))
    release["values"]["tlsOptions"]["default"]["minVersoin"] = "VersionTLS13"
    [error] = validate_release(release)
    assert "Helm release traefik values tlsOptions.default" in error and "minVersoin" in error
    middleware = copy.deepcopy(inputs(run, "edge-sign-in-rate-limit"))
    middleware["spec"]["rateLimit"]["averge"] = middleware["spec"]["rateLimit"].pop("average")
    [error] = validate_custom_resource(middleware)
    assert "Middleware/sign-in-rate-limit" in error and "averge" in error
