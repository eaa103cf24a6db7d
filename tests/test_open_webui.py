"""OpenWebUI on its own, under the SDK's mock runtime, and its settings' environment."""

import dataclasses
from datetime import date
from typing import Any

from components.entra_app import EntraSettings, SecretRotation
from components.open_webui import SECRETS_ANNOTATION, OpenWebUI, OpenWebUIArgs, OpenWebUISettings
from components.sign_in import SignInSettings
from offline_plan.mock_engine import is_secret, reveal, run_components
from programs import job_program

SETTINGS = OpenWebUISettings(
    image="ghcr.io/open-webui/open-webui:v0.12.4-cuda", min_replicas=2, max_replicas=6, cpu_target_percent=70,
    cpu_request="100m", memory_request="256Mi", cpu_limit="2", memory_limit="2Gi", uvicorn_workers=1,
    database_pool_size=3, database_pool_max_overflow=2, database_pool_timeout=30, database_pool_recycle=3600,
    vector_db="pgvector", pgvector_pool_size=2, pgvector_pool_max_overflow=1, pgvector_max_vector_length=384,
    pgvector_use_halfvec=False, pgvector_index_method="hnsw",
    embedding_model="sentence-transformers/all-MiniLM-L6-v2",
    ollama_base_urls=("http://ollama.ns.svc.cluster.local:11434", "https://models.example.com"),
    public_url="https://chat.example.com", trusted_proxies="10.244.0.0/16",
    sign_in=SignInSettings(admin_email="admin@example.com", public_url="https://chat.example.com",
                           entra=None),
    otlp_endpoint="http://otel-collector.ns.svc.cluster.local:4317")


ENTRA = EntraSettings("11111111-2222-3333-4444-555555555555", "client", None, (), (),
                      SecretRotation.of(date(2026, 12, 1), 180))


def build(settings: OpenWebUISettings = SETTINGS, sign_in: dict[str, str] | None = None):
    return run_components(lambda: OpenWebUI("webui", OpenWebUIArgs(
        settings=settings, namespace="ns", database_url="postgresql://u:p@h:5432/d?sslmode=require",
        app_database_url="postgresql://app:q@h:5432/d?sslmode=require", app_role="app",
        redis_url="redis://r:6379/0", sign_in_secrets=sign_in or {"WEBUI_ADMIN_PASSWORD": "admin-pw"},
        data_claim_name="data", postgres_server="pg-server")))


def env_of(run, name: str) -> dict[str, Any]:
    container = run.named(name).inputs["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_secret_holds_urls_and_a_generated_key_shared_by_all_replicas():
    run = build()
    secret = run.named("webui-secret").inputs
    assert is_secret(secret["stringData"])
    data = reveal(secret["stringData"])
    assert set(data) == {"DATABASE_URL", "SCHEMA_JOB_DATABASE_URL", "WEBUI_SECRET_KEY", "REDIS_URL",
                         "WEBSOCKET_REDIS_URL", "WEBUI_ADMIN_PASSWORD"}
    assert reveal(run.named("webui-secret-key").inputs)["length"] == 48
    env = env_of(run, "webui-deployment")
    assert env["WEBUI_SECRET_KEY"] == {"secretKeyRef": {"name": "webui", "key": "WEBUI_SECRET_KEY"}}
    # the replicas as the app role, the Job as the admin, each under its name in the connection budget
    assert data["DATABASE_URL"] == "postgresql://app:q@h:5432/d?sslmode=require&application_name=webui"
    assert data["SCHEMA_JOB_DATABASE_URL"] == "postgresql://u:p@h:5432/d?sslmode=require&application_name=webui-migrate"
    for workload, key in (("webui-deployment", "DATABASE_URL"), ("webui-migrate", "SCHEMA_JOB_DATABASE_URL")):
        env = env_of(run, workload)
        assert env["DATABASE_URL"] == env["PGVECTOR_DB_URL"] == {"secretKeyRef": {"name": "webui", "key": key}}


def test_workloads_name_their_postgres_server_for_the_policy_pack():
    run = build()
    assert run.named("webui-migrate").inputs["metadata"]["annotations"] == {"openwebui.io/postgres-server": "pg-server"}
    # the replicas also name their role, which the policy pack checks is not the server's admin
    assert run.named("webui-deployment").inputs["metadata"]["annotations"] == {
        "openwebui.io/postgres-server": "pg-server", "openwebui.io/postgres-role": "app"}


def test_job_name_is_a_dns_label_from_the_tag():
    run = build()
    assert run.named("webui-migrate").inputs["metadata"]["name"] == "webui-migrate-v0-12-4-cuda"


def test_app_pods_never_download_the_model_the_job_does():
    run = build()
    assert env_of(run, "webui-deployment")["HF_HUB_OFFLINE"] == "1"
    assert "HF_HUB_OFFLINE" not in env_of(run, "webui-migrate")
    migrate = run.named("webui-migrate").inputs["spec"]["template"]["spec"]
    assert "SentenceTransformer(" in job_program(run, "webui")
    seed = migrate["initContainers"][0]
    assert seed["command"] == ["python", "/schema-gate/seed_model_cache.py", "/app/backend/data/cache/embedding/models",
                               "/shared/cache/embedding/models"]
    assert seed["volumeMounts"] == [{"name": "data", "mountPath": "/shared"},
                                    {"name": "schema-gate", "mountPath": "/schema-gate", "readOnly": True}]
    assert "seed_model_cache.py" in run.named("webui-schema-gate").inputs["data"]


def test_ollama_urls_reach_the_app_and_the_job_that_writes_them_into_the_database():
    run = build()
    for name in ("webui-deployment", "webui-migrate"):
        env = env_of(run, name)
        assert env["OLLAMA_BASE_URLS"] == "http://ollama.ns.svc.cluster.local:11434;https://models.example.com"
        assert env["ENABLE_OLLAMA_API"] == "true"
    program = job_program(run, "webui")
    # Open WebUI's own config API, after Alembic: the database is where the app reads the URLs on each request
    assert program.index("seed_defaults()\n    write_stack_settings()") > 0
    assert program.index("from open_webui.config import") < program.index("Config.upsert({\"ollama.base_urls\": urls")



def test_no_ollama_turns_the_ollama_api_off():
    env = env_of(build(dataclasses.replace(SETTINGS, ollama_base_urls=())), "webui-deployment")
    assert "OLLAMA_BASE_URLS" not in env and env["ENABLE_OLLAMA_API"] == "false"


def test_spread_across_nodes():
    spec = build().named("webui-deployment").inputs["spec"]["template"]["spec"]
    assert spec["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"


def test_budget_workloads_read_the_same_environment():
    app, surge, migrate = SETTINGS.workloads("webui")
    assert (app.peak_replicas, app.per_pod) == (6, 2 * 5 + 3)
    assert (surge.name, surge.peak_replicas, surge.per_pod) == ("webui-surge", 1, 2 * 5 + 3)
    assert (migrate.peak_replicas, migrate.per_pod) == (1, 2 * 5 + 3 + 1)


def test_chroma_has_no_pgvector_settings_or_secret():
    run = build(dataclasses.replace(SETTINGS, vector_db="chroma", min_replicas=1, max_replicas=1))
    assert "PGVECTOR_DB_URL" not in reveal(run.named("webui-secret").inputs["stringData"])
    assert not any(k.startswith("PGVECTOR_") for k in env_of(run, "webui-deployment"))


def test_the_schema_gate_runs_before_alembic_with_an_account_that_may_only_scale_this_deployment():
    run = build()
    job = run.named("webui-migrate").inputs["spec"]["template"]["spec"]
    assert [c["name"] for c in job["initContainers"]] == ["seed-model-cache", "schema-gate"]
    gate = job["initContainers"][1]
    assert gate["command"] == ["python", "/schema-gate/schema_gate.py", "gate"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in gate["env"]}
    assert env["POD_SELECTOR"] == "app.kubernetes.io/name=webui,!app.kubernetes.io/component"  # not the Jobs' pods
    assert env["NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}} and env["MIN_REPLICAS"] == "2"
    assert env["DATABASE_URL"] == {"secretKeyRef": {"name": "webui", "key": "SCHEMA_JOB_DATABASE_URL"}}
    assert env["PYTHONPATH"] == "/app/backend"  # it reads the image's Alembic head from Open WebUI's package
    assert job["serviceAccountName"] == "webui-schema-gate"
    script = run.named("webui-schema-gate").inputs["data"]["schema_gate.py"]
    assert "def gate(" in script and "def resume(" in script
    rules = run.named("webui-schema-gate-role").inputs["rules"]
    assert rules == [{"apiGroups": ["apps"], "resources": ["deployments/scale"],
                      "resourceNames": ["webui"], "verbs": ["get", "patch"]},
                     {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]


def test_the_resume_job_follows_the_deployment_and_the_deployment_rolls():
    run = build()
    resume = run.named("webui-resume")
    assert resume.inputs["metadata"]["name"] == "webui-resume-v0-12-4-cuda"
    assert run.named("webui-deployment").urn in resume.dependencies
    [container] = resume.inputs["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "/schema-gate/schema_gate.py", "resume"]
    spec = run.named("webui-deployment").inputs["spec"]
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    assert "replicas" not in spec  # the HPA's
    pod = spec["template"]["spec"]
    assert pod["containers"][0]["lifecycle"] == {"preStop": {"exec": {"command": ["sleep", "10"]}}}
    assert pod["terminationGracePeriodSeconds"] == 40


def test_the_replicas_roll_when_a_secret_they_read_changes_and_only_then():
    def digest(sign_in: dict[str, str]) -> str:
        template = reveal(build(SETTINGS, sign_in).named("webui-deployment").inputs)["spec"]["template"]
        return template["metadata"]["annotations"][SECRETS_ANNOTATION]

    entra = dataclasses.replace(SETTINGS, sign_in=dataclasses.replace(SETTINGS.sign_in, entra=ENTRA))

    def entra_digest(secret: str) -> str:
        run = build(entra, {"OAUTH_CLIENT_ID": "id", "OAUTH_CLIENT_SECRET": secret,
                            "OAUTH_SESSION_TOKEN_ENCRYPTION_KEY": "k" * 32})
        return reveal(run.named("webui-deployment").inputs)["spec"]["template"]["metadata"]["annotations"][
            SECRETS_ANNOTATION]

    first, again, rotated = entra_digest("secret-1"), entra_digest("secret-1"), entra_digest("secret-2")
    assert first == again != rotated and "secret-1" not in first  # a rotated client secret rolls them
    # the admin's password is the schema Job's alone: changing it leaves the replicas be
    assert digest({"WEBUI_ADMIN_PASSWORD": "one"}) == digest({"WEBUI_ADMIN_PASSWORD": "two"})
