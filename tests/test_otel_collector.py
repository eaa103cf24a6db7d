"""The OpenTelemetry Collector in the stack, under the SDK's mock runtime (components/otel_collector.py): OTLP in,
Prometheus out for the managed add-on's PodMonitor, the replicas' env pointing at it, and the NetworkPolicies that
let only the replicas and the scraper reach it."""

import yaml

from components.app_metrics import POD_NAME_ENV
from components.otel_collector import (COLLECTOR_USER, OTLP_GRPC_PORT, PROMETHEUS_PORT, PROMETHEUS_TRANSLATION,
                                       collector_config)
from offline_plan.mock_engine import MockRun, is_secret, reveal, run_program


def test_its_pipeline_names_only_what_it_defines() -> None:
    config = collector_config(database=True)
    pipeline = config["service"]["pipelines"]["metrics"]
    for section in ("receivers", "processors", "exporters"):
        assert set(pipeline[section]) <= set(config[section]), section
    assert pipeline["processors"][0] == "memory_limiter"  # it must refuse data before anything else holds it
    assert config["service"]["extensions"] == list(config["extensions"])
    assert config["exporters"]["prometheus"]["translation_strategy"] == PROMETHEUS_TRANSLATION
    assert config["receivers"]["otlp"]["protocols"] == {"grpc": {"endpoint": f"0.0.0.0:{OTLP_GRPC_PORT}"}}


def test_it_runs_hardened_with_its_configuration_and_is_scraped(stack_run: MockRun) -> None:
    config = reveal(stack_run.named("otel-collector-config").inputs)["data"]["config.yaml"]
    assert yaml.safe_load(config) == collector_config(database=True)
    pod = reveal(stack_run.named("otel-collector-deployment").inputs)["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == "otel/opentelemetry-collector-contrib:0.154.0"
    assert container["args"] == ["--config=/etc/otelcol/config.yaml"]
    assert container["securityContext"]["runAsUser"] == COLLECTOR_USER and pod["automountServiceAccountToken"] is False
    assert container["resources"]["limits"]["memory"] == "256Mi"
    monitor = reveal(stack_run.named("otel-collector-pod-monitor").inputs)
    assert (monitor["apiVersion"], monitor["kind"]) == ("azmonitoring.coreos.com/v1", "PodMonitor")
    assert monitor["spec"]["podMetricsEndpoints"] == [{"port": "prometheus", "interval": "30s", "honorLabels": True}]
    assert monitor["spec"]["selector"]["matchLabels"] == pod_labels(stack_run)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"otlp-grpc": OTLP_GRPC_PORT, "prometheus": PROMETHEUS_PORT}


def pod_labels(run: MockRun) -> dict[str, str]:
    return reveal(run.named("otel-collector-deployment").inputs)["spec"]["selector"]["matchLabels"]


def test_only_the_replicas_push_to_it_and_only_the_scraper_reads_it(stack_run: MockRun) -> None:
    def ingress(name: str) -> tuple[list, list]:
        spec = reveal(stack_run.named(f"network-policies-{name}").inputs)["spec"]
        assert spec["podSelector"]["matchLabels"] == pod_labels(stack_run)
        [rule] = spec["ingress"]
        return rule["from"], rule["ports"]

    sources, ports = ingress("otel-collector-otlp")
    assert sources == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "open-webui"}}}]
    assert ports == [{"port": OTLP_GRPC_PORT, "protocol": "TCP"}]
    sources, ports = ingress("otel-collector-metrics")
    assert sources == [{"podSelector": {"matchLabels": {"rsName": "ama-metrics"}},
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}]
    assert ports == [{"port": PROMETHEUS_PORT, "protocol": "TCP"}]


def replica_env(run: MockRun) -> list[dict]:
    return reveal(run.named("open-webui-deployment").inputs)["spec"]["template"]["spec"]["containers"][0]["env"]


def test_the_replicas_send_their_metrics_to_it_each_under_its_pod_name(stack_run: MockRun) -> None:
    env = replica_env(stack_run)
    values = {e["name"]: e.get("value") for e in env}
    namespace = stack_run.outputs["namespace"]
    assert values["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://otel-collector.{namespace}.svc.cluster.local:{OTLP_GRPC_PORT}"
    assert values["ENABLE_OTEL_METRICS"] == "true"
    # Kubernetes expands $(POD_NAME) only from a variable defined before the one that names it
    names = [e["name"] for e in env]
    assert names.index(POD_NAME_ENV) < names.index("OTEL_RESOURCE_ATTRIBUTES")
    assert env[names.index(POD_NAME_ENV)]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    job = reveal(stack_run.named("open-webui-migrate").inputs)["spec"]["template"]["spec"]["containers"][0]["env"]
    assert not {e["name"] for e in job} & {"ENABLE_OTEL", POD_NAME_ENV}  # the Job exports nothing


def test_switched_off_no_collector_and_no_telemetry_env() -> None:
    run = run_program("dev", {"observabilityEnabled": False})
    assert not [r.name for r in run.registrations if "otel-collector" in r.name]
    assert not {e["name"] for e in replica_env(run)} & {"ENABLE_OTEL", "OTEL_EXPORTER_OTLP_ENDPOINT", POD_NAME_ENV}


def test_it_counts_the_servers_connections_as_its_own_role_within_the_budget(stack_run: MockRun) -> None:
    secret = stack_run.named("otel-collector-secret")
    assert is_secret(secret.inputs["stringData"])
    url = reveal(secret.inputs)["stringData"]["DATABASE_URL"]
    assert url.startswith("postgresql://openwebui_metrics:") and url.endswith("application_name=otel-collector")
    deployment = reveal(stack_run.named("otel-collector-deployment").inputs)
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["env"] == [{"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {
        "name": "otel-collector", "key": "DATABASE_URL"}}}]
    assert deployment["metadata"]["annotations"] == {"openwebui.io/postgres-server": "postgres-server",
                                                     "openwebui.io/postgres-connections": "1"}
    role = reveal(stack_run.named("postgres-metrics-role").inputs)
    assert (role["role"], role["connection_limit"]) == ("openwebui_metrics", 1)
    assert stack_run.outputs["connectionBudget"]["workloads"]["otel-collector"] == {
        "peakReplicas": 1, "perPod": 1, "demand": 1}
    assert stack_run.outputs["connectionBudget"]["roleLimits"]["openwebui_metrics"] == 1


def test_a_roll_never_runs_two_collectors_past_the_roles_one_connection(dev_run: MockRun) -> None:
    assert reveal(dev_run.named("otel-collector-deployment").inputs)["spec"]["strategy"] == {"type": "Recreate"}


def test_routes_outside_the_api_fold_into_one() -> None:
    """The fold's pattern, as the collector's transform applies it (Go's RE2 and Python agree on it), over what
    Open WebUI 0.12.4 labels requests with: its route templates, and the raw paths of the frontend's files and of any
    path a visitor makes up, which its fallback answers."""
    import re

    from components.app_metrics import API_ROUTES, OTHER_ROUTE

    kept = ["/api/v1/chats/list", "/api/v1/chats/{id}", "/api/models", "/ollama/api/chat", "/openai/models",
            "/oauth/{provider}/callback", "/health", "/ready", "/health/db"]
    folded = ["/_app/immutable/chunks/Cx8a1.js", "/static/favicon.png", "/", "/admin/settings",
              "/made-up-path-4711", "/healthz", "/ws/socket.io/"]
    assert [r for r in kept if re.search(API_ROUTES, r)] == kept
    assert [r for r in folded if re.search(API_ROUTES, r)] == []
    [statement] = collector_config(database=False)["processors"]["transform/routes"]["metric_statements"][0][
        "statements"]
    assert statement == (f'set(attributes["http.route"], "{OTHER_ROUTE}") where attributes["http.route"] != nil '
                         f'and not IsMatch(attributes["http.route"], "{API_ROUTES.replace("$", "$$")}")')
