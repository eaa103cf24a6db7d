"""Both stacks as a whole, run from their real stack files under the SDK's mock runtime."""

import json

import pytest

from programs import job_program
from offline_plan.mock_engine import MockRun, is_secret, reveal, run_program

K8S_PREFIX = "kubernetes:"


@pytest.fixture(scope="module", params=["dev", "prod"])
def run(request) -> MockRun:
    return request.getfixturevalue(f"{request.param}_run")


@pytest.fixture(scope="module")
def prod(prod_run: MockRun) -> MockRun:
    return prod_run


@pytest.fixture(scope="module")
def dev(dev_run: MockRun) -> MockRun:
    return dev_run


def container(run: MockRun, name: str) -> dict:
    return run.named(name).inputs["spec"]["template"]["spec"]["containers"][0]


def test_stack_declares_every_concern(run):
    types = {r.type for r in run.registrations}
    assert {
        "azure-native:resources:ResourceGroup", "azure-native:dbforpostgresql:Server",
        "azure-native:dbforpostgresql:Configuration",
        "azure-native:dbforpostgresql:Database", "pulumi-python:dynamic/postgres:Extension",
        "azure-native:containerservice:ManagedCluster", "azure-native:containerservice:AgentPool",
        "pulumi:providers:kubernetes", "kubernetes:apps/v1:DaemonSet", "kubernetes:core/v1:Namespace",
        "azure-native:storage:StorageAccount", "azure-native:storage:FileShare",
        "kubernetes:core/v1:PersistentVolume", "kubernetes:core/v1:PersistentVolumeClaim",
        "azure-native:recoveryservices:Vault", "azure-native:recoveryservices:ProtectionPolicy",
        "azure-native:recoveryservices:ProtectionContainer", "azure-native:recoveryservices:ProtectedItem",
        "kubernetes:core/v1:Secret", "kubernetes:batch/v1:Job", "kubernetes:apps/v1:Deployment",
        "kubernetes:core/v1:Service", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
        "kubernetes:policy/v1:PodDisruptionBudget", "kubernetes:apps/v1:StatefulSet", "kubernetes:core/v1:ConfigMap",
        "azure-native:network:PublicIPAddress", "azure-native:managedidentity:UserAssignedIdentity",
        "azure-native:authorization:RoleAssignment", "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "kubernetes:helm.sh/v3:Release", "kubernetes:cert-manager.io/v1:ClusterIssuer",
        "kubernetes:networking.k8s.io/v1:Ingress", "azure-native:monitor:ActionGroup",
        "azure-native:monitor:MetricAlert",
    } <= types
    # public: a firewall in front of the server; private: a VNet around it
    assert {"dev": "azure-native:dbforpostgresql:FirewallRule", "prod": "azure-native:network:VirtualNetwork"}[
        run.stack] in types
    assert {r.type for r in run.registrations if r.type.startswith("openwebui:")} == {
        "openwebui:postgres:PostgresFlexibleServer", "openwebui:aks:AksCluster",
        "openwebui:storage:PremiumFilesVolume", "openwebui:redis:Redis", "openwebui:app:OpenWebUI",
        "openwebui:ollama:Ollama", "openwebui:network:Network", "openwebui:network:NetworkPolicies",
        "openwebui:edge:Edge", "openwebui:monitoring:AlertReceivers", "openwebui:monitoring:Observability", "openwebui:backup:FilesBackup",
        "openwebui:auth:SignIn", "openwebui:monitoring:AuditLog", "openwebui:monitoring:OtelCollector",
        "openwebui:monitoring:GrafanaDashboards", "openwebui:monitoring:PrometheusRules",
        "openwebui:monitoring:GpuMetrics"}


def test_every_kubernetes_resource_uses_the_cluster_provider(run):
    provider = run.named("aks-kubernetes")
    k8s_resources = [r for r in run.registrations if r.type.startswith(K8S_PREFIX)]
    assert len(k8s_resources) >= 12
    # a provider reference is "<urn>::<id>"
    assert {r.provider.rsplit("::", 1)[0] for r in k8s_resources} == {provider.urn}


def test_prod_protects_server_database_and_data_claim(prod):
    protected = {r.name for r in prod.registrations if r.protect}
    assert protected == {"postgres-server", "postgres-database", "openwebuidata", "open-webui-data-share",
                         "open-webui-data-volume", "open-webui-data-claim", "backup-vault"}


def test_dev_protects_nothing(dev):
    assert [r.name for r in dev.registrations if r.protect] == []


def test_prod_server_is_hardened(prod):
    server = reveal(prod.named("postgres-server").inputs)
    assert server["version"] == "16"
    assert server["sku"] == {"name": "Standard_D2ds_v5", "tier": "GeneralPurpose"}
    assert server["highAvailability"]["mode"] == "ZoneRedundant"
    assert server["backup"] == {"backupRetentionDays": 35, "geoRedundantBackup": "Enabled"}
    assert server["storage"]["autoGrow"] == "Enabled"


def test_dev_server_is_burstable_b1ms(dev):
    server = reveal(dev.named("postgres-server").inputs)
    assert server["sku"] == {"name": "Standard_B1ms", "tier": "Burstable"}
    assert server["highAvailability"]["mode"] == "Disabled"


def test_admin_password_and_urls_stay_secret(run):
    assert is_secret(run.named("postgres-server").inputs["administratorLoginPassword"])
    for extension in run.of_type("pulumi-python:dynamic/postgres:Extension"):
        assert is_secret(extension.inputs["password"])
        assert is_secret(extension.inputs["__provider"])
    assert is_secret(run.named("open-webui-secret").inputs["stringData"])
    # verify's database URL is an output too, and as secret as the kubeconfig
    # the kubeconfig holds no credential any more (kubelogin asks the Azure CLI for an Entra token)
    assert run.secret_outputs == {"databaseUrl", "adminPassword"}


def test_server_parameters_are_applied_one_after_another(run):
    allow_list = run.named("postgres-azure-extensions")
    tls = run.named("postgres-require-secure-transport")
    assert reveal(allow_list.inputs)["value"] == "VECTOR,UUID-OSSP"
    assert reveal(tls.inputs)["value"] == "ON"
    assert allow_list.urn in tls.dependencies


def test_extensions_wait_for_allow_list_database_and_firewall(run):
    names = set()
    for extension in run.of_type("pulumi-python:dynamic/postgres:Extension"):
        names.add(extension.inputs["name"])
        assert run.named("postgres-azure-extensions").urn in extension.dependencies
        assert run.named("postgres-database").urn in extension.dependencies
        if run.stack == "dev":  # public: the rule that admits the deployer's and the cluster's addresses
            assert run.named("postgres-fw-aks-egress").urn in extension.dependencies
        # TLS to Azure, and deleting the resource keeps the extension (and Open WebUI's vectors)
        assert (extension.inputs["sslmode"], extension.inputs["drop_on_delete"]) == ("require", False)
    assert names == {"vector", "uuid-ossp"}


def test_app_waits_for_the_extensions(run):
    # The schema Job creates Open WebUI's tables, document_chunk's vector column among them; it reads the
    # database URL from the Secret, which is only written once the extensions exist.
    secret = run.named("open-webui-secret")
    for extension in run.of_type("pulumi-python:dynamic/postgres:Extension"):
        assert extension.urn in secret.dependencies
    assert secret.urn in run.named("open-webui-migrate").dependencies


def test_no_credential_in_a_plain_env_value(run):
    for r in run.of_type("kubernetes:apps/v1:Deployment") + run.of_type("kubernetes:batch/v1:Job"):
        for c in r.inputs["spec"]["template"]["spec"]["containers"]:
            for env in c.get("env", []):
                if env["name"] in ("DATABASE_URL", "PGVECTOR_DB_URL", "WEBUI_SECRET_KEY"):
                    assert "value" not in env
                    assert env["valueFrom"]["secretKeyRef"]["name"] in ("open-webui", "otel-collector")
                assert "postgresql://" not in json.dumps(env.get("value", ""))


def test_deployment_is_configured_for_replicas(run):
    deployment = run.named("open-webui-deployment").inputs
    # rolling, never below the serving count; a schema change is the schema Job's gate's to stop (test_open_webui)
    assert deployment["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1,
                                                                                         "maxUnavailable": 0}}
    assert "replicas" not in deployment["spec"]
    c = container(run, "open-webui-deployment")
    env = {e["name"]: e.get("value") for e in c["env"]}
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    assert env["VECTOR_DB"] == "pgvector"
    assert env["PGVECTOR_CREATE_EXTENSION"] == "false"
    assert env["ENABLE_DB_MIGRATIONS"] == "false"
    assert env["WEBSOCKET_MANAGER"] == "redis"
    # Redis's URL holds its password: from the Secret only
    assert refs["REDIS_URL"] == {"name": "open-webui", "key": "REDIS_URL"}
    assert refs["WEBSOCKET_REDIS_URL"] == {"name": "open-webui", "key": "WEBSOCKET_REDIS_URL"}
    assert env["PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH"] == "384"
    assert env["UVICORN_WORKERS"] == "1"
    assert c["image"] == "ghcr.io/open-webui/open-webui:v0.12.4"
    assert c["livenessProbe"]["httpGet"]["path"] == "/health"
    assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert c["startupProbe"]["httpGet"]["path"] == "/health"
    assert c["startupProbe"]["failureThreshold"] * c["startupProbe"]["periodSeconds"] >= 300
    assert c["volumeMounts"] == [{"name": "data", "mountPath": "/app/backend/data"}]
    assert c["resources"] == {"requests": {"cpu": "500m", "memory": "1536Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    assert run.named("open-webui-migrate").urn in run.named("open-webui-deployment").dependencies


def test_pools_in_the_deployment_are_what_the_budget_counted(run):
    env = {e["name"]: e.get("value") for e in container(run, "open-webui-deployment")["env"]}
    budget = run.outputs["connectionBudget"]
    per_pod = 2 * (int(env["DATABASE_POOL_SIZE"]) + int(env["DATABASE_POOL_MAX_OVERFLOW"])) + \
        int(env["PGVECTOR_POOL_SIZE"]) + int(env["PGVECTOR_POOL_MAX_OVERFLOW"])
    assert budget["workloads"]["open-webui"]["perPod"] == per_pod
    assert budget["workloads"]["open-webui"]["peakReplicas"] == run.named("open-webui-hpa").inputs["spec"]["maxReplicas"]
    assert budget["demand"] <= budget["capacity"]


def test_schema_job_runs_once_per_image_tag(run):
    job = run.named("open-webui-migrate").inputs
    assert job["metadata"]["name"] == "open-webui-migrate-v0-12-4"
    spec = job["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
    assert env["ENABLE_DB_MIGRATIONS"] == "true"
    assert "from open_webui.config import" in job_program(run, "open-webui")
    assert spec["initContainers"][0]["name"] == "seed-model-cache"
    assert job["spec"].get("parallelism", 1) == 1


def test_schema_job_follows_the_image_tag():
    run = run_program("dev", {"image": "ghcr.io/open-webui/open-webui:v0.12.5"})
    assert run.named("open-webui-migrate").inputs["metadata"]["name"] == "open-webui-migrate-v0-12-5"


def test_hpa_pdb_and_service(run):
    hpa = run.named("open-webui-hpa").inputs["spec"]
    expected = {"dev": (1, 2), "prod": (3, 20)}[run.stack]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == expected
    assert hpa["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    assert hpa["scaleTargetRef"]["kind"] == "Deployment"
    assert run.named("open-webui-pdb").inputs["spec"]["maxUnavailable"] == 1
    # only the edge reaches it
    assert run.named("open-webui-service").inputs["spec"]["type"] == "ClusterIP"


def test_shared_volume_is_the_stacks_premium_share_backed_up(run):
    assert run.named("openwebuidata").inputs["sku"] == {"name": "Premium_LRS"}
    assert run.named("open-webui-data-share").inputs["shareQuota"] == 100
    claim = run.named("open-webui-data-claim").inputs["spec"]
    assert claim["accessModes"] == ["ReadWriteMany"]
    assert claim["resources"]["requests"]["storage"] == "100Gi"
    assert claim["volumeName"] == "open-webui-open-webui-data"
    # the share protected, kept as long as the stack's PostgreSQL backups
    days = {"dev": 7, "prod": 35}[run.stack]
    policy = run.named("backup-files-policy").inputs["properties"]
    assert policy["retentionPolicy"]["dailySchedule"]["retentionDuration"] == {"count": days, "durationType": "Days"}
    assert reveal(run.named("postgres-server").inputs)["backup"]["backupRetentionDays"] == days
    assert run.named("backup-share").inputs["properties"]["friendlyName"] == "open-webui-data"


def test_gpu_pool(dev, prod):
    for run in (dev, prod):
        pool = reveal(run.named("aks-gpu-pool").inputs)
        assert pool["vmSize"] == "Standard_NC8as_T4_v3"
        assert pool["nodeTaints"] == ["sku=gpu:NoSchedule"]
        assert pool["gpuProfile"] == {"driver": "Install"}
        assert pool["mode"] == "User"
    dev_pool, prod_pool = reveal(dev.named("aks-gpu-pool").inputs), reveal(prod.named("aks-gpu-pool").inputs)
    assert (dev_pool["enableAutoScaling"], dev_pool["minCount"], dev_pool["maxCount"]) == (True, 0, 2)
    assert (prod_pool["enableAutoScaling"], prod_pool["count"]) == (False, 2)
    assert "minCount" not in prod_pool


def test_outputs(run):
    assert set(run.outputs) == {"url", "edgeAddress", "acmeIssuer", "postgresFqdn", "databaseName", "kubeconfig",
                                "connectionBudget", "gpuCapacity", "ollamaModels", "postgresNetwork", "egressAddress",
                                "databaseUrl", "postgresExtensions", "namespace", "openWebUI", "capacity",
                                "postgresServerId", "signIn", "adminPassword", "grafanaUrl", "dashboards"}
    assert run.outputs["databaseUrl"].endswith("?sslmode=require&application_name=openwebui-verify")
    assert run.outputs["postgresExtensions"] == {"vector": "0.8.0", "uuid-ossp": "0.8.0"}
    assert run.outputs["openWebUI"]["imageTag"] == "v0.12.4"
    assert run.outputs["url"] == f"https://openwebui-{run.stack}.westeurope.cloudapp.azure.com"
    assert run.outputs["postgresNetwork"] == {"dev": "public", "prod": "private"}[run.stack]
    assert run.outputs["databaseName"] == "openwebui"
    assert run.outputs["postgresFqdn"].endswith(".postgres.database.azure.com")


def test_ollama_runs_on_the_gpu_pool_and_open_webui_finds_it(run):
    statefulset = run.named("ollama-statefulset")
    assert statefulset.inputs["spec"]["replicas"] == {"dev": 1, "prod": 2}[run.stack]
    assert statefulset.inputs["metadata"]["namespace"] == "open-webui"
    # created once the GPU pool exists, through the cluster's provider
    assert run.named("aks-gpu-pool").urn in statefulset.dependencies
    env = {e["name"]: e.get("value") for e in container(run, "open-webui-deployment")["env"]}
    assert env["OLLAMA_BASE_URLS"] == "http://ollama.open-webui.svc.cluster.local:11434"
    assert run.named("ollama-service").inputs["metadata"]["name"] == "ollama"
    gpus = run.outputs["gpuCapacity"]
    assert (gpus["wanted"], gpus["available"]) == ({"dev": (1, 2), "prod": (2, 2)}[run.stack])
    assert run.outputs["ollamaModels"] == ["llama3.2:3b"]


def test_ollama_off_with_an_external_url_has_no_gpu_pool():
    run = run_program("dev", {"ollamaEnabled": False, "ollamaBaseUrl": "https://ollama.example.com"})
    types = {r.type for r in run.registrations}
    assert "azure-native:containerservice:AgentPool" not in types
    assert "kubernetes:apps/v1:StatefulSet" not in types and "kubernetes:apps/v1:DaemonSet" not in types
    env = {e["name"]: e.get("value") for e in container(run, "open-webui-deployment")["env"]}
    assert env["OLLAMA_BASE_URLS"] == "https://ollama.example.com"
    assert "gpuCapacity" not in run.outputs


def test_a_stack_may_keep_its_gpu_pool_without_ollama_if_it_says_so():
    run = run_program("dev", {"ollamaEnabled": False, "gpuPoolWithoutOllama": True})
    assert run.of_type("azure-native:containerservice:AgentPool")
    env = {e["name"]: e.get("value") for e in container(run, "open-webui-deployment")["env"]}
    assert env["ENABLE_OLLAMA_API"] == "false" and "OLLAMA_BASE_URLS" not in env
