"""Bad configurations: the program refuses each before declaring anything, naming the key and the fix."""

import pytest

from components.stack_config import ROOT, ConfigError
from offline_plan.mock_engine import run_program

BAD_CONFIGS = [
    # (overrides on the dev stack, key the message must name, what it must say)
    ({"maxReplicas": 10}, "maxReplicas", "over its connection budget"),
    ({"postgresSku": "Standard_B1ms", "minReplicas": 3, "maxReplicas": 20, "databasePoolSize": 10,
      "databasePoolMaxOverflow": 5, "pgvectorPoolSize": 10, "pgvectorPoolMaxOverflow": 5},
     "postgresSku", "demand 992 vs capacity 35"),
    ({"vectorDb": "chroma", "maxReplicas": 2}, "vectorDb", "SQLite"),
    ({"vectorDb": "sqlite"}, "vectorDb", "must be one of pgvector, chroma"),
    ({"filesSizeGi": 20}, "filesSizeGi", "billed as 100 GiB"),
    ({"minReplicas": 3, "maxReplicas": 2}, "minReplicas/maxReplicas", "above max"),
    ({"postgresSku": "Standard_B1s"}, "postgresSku", "Standard_D2ds_v5"),
    ({"postgresFirewallRules": ["0.0.0.0-255.255.255.255"]}, "postgresFirewallRules", "large part of the internet"),
    ({"postgresFirewallRules": ["10.0.0.300"]}, "postgresFirewallRules", "not an IPv4 range"),
    ({"postgresNetwork": "vnet"}, "postgresNetwork", "must be one of public, private"),
    ({"postgresNetwork": "private", "postgresSubnetCidr": "10.42.16.0/29"}, "postgresSubnetCidr", "/28"),
    ({"postgresNetwork": "private", "postgresSubnetCidr": "10.43.0.0/28"}, "postgresSubnetCidr", "not inside vnetCidr"),
    ({"postgresNetwork": "private", "postgresSubnetCidr": "10.42.1.0/28"}, "aksSubnetCidr/postgresSubnetCidr", "overlap"),
    ({"postgresNetwork": "private", "vnetCidr": "10.42.0.0/33"}, "vnetCidr", "not an IPv4 network"),
    ({"postgresNetwork": "private", "postgresFirewallRules": ["203.0.113.7"]}, "postgresFirewallRules", "no public endpoint"),
    ({"postgresNetwork": "private", "vnetCidr": "10.240.0.0/12"}, "vnetCidr", "overlaps the cluster's pod range"),
    ({"dnsLabel": "Open WebUI"}, "dnsLabel", "not an Azure DNS label"),
    ({"hostname": "https://chat.example.com"}, "hostname", "fully qualified lowercase DNS name"),
    ({"acmeIssuer": "letsencrypt"}, "acmeIssuer", "must be one of staging, production"),
    ({"acmeEmail": "ops at example.com"}, "acmeEmail", "not an email address"),
    ({"databasePoolSize": -1}, "databasePoolSize", "negative"),
    ({"pgvectorPoolSize": 0}, "pgvectorPoolSize", "NullPool"),
    ({"pgvectorMaxVectorLength": 3072}, "pgvectorMaxVectorLength", "pgvectorUseHalfvec"),
    ({"pgvectorMaxVectorLength": 4096, "pgvectorUseHalfvec": True}, "pgvectorMaxVectorLength", "halfvec"),
    ({"image": "ghcr.io/open-webui/open-webui:main"}, "image", "pinned tag"),
    ({"image": "ghcr.io/open-webui/open-webui"}, "image", "pinned tag"),
    ({"postgresBackupRetentionDays": 60}, "postgresBackupRetentionDays", "7..35"),
    ({"postgresHighAvailability": "ZoneRedundant"}, "postgresHighAvailability", "Burstable"),
    ({"cpuTargetPercent": 170}, "cpuTargetPercent", "1 to 100"),
    ({"gpuMinCount": 3, "gpuMaxCount": 2}, "gpuMinCount/gpuMaxCount", "not a range"),
    ({"postgresExtensions": ["uuid-ossp"]}, "postgresExtensions", "must include 'vector'"),
    ({"postgresExtensions": ["Vector; DROP"]}, "postgresExtensions", "not an extension name"),
    ({"uvicornWorkers": 0}, "uvicornWorkers", "at least 1"),
    ({"postgresAdminLogin": "admin"}, "postgresAdminLogin", "reserved"),
    ({"filesSku": "Standard_LRS"}, "filesSku", "must be one of"),
    ({"gpuVmSize": "Standard_D4ds_v5"}, "gpuVmSize", "GPUs per VM this program knows"),
    ({"ollamaReplicas": 3}, "ollamaReplicas", "GPU pool too small: wanted 3"),
    ({"ollamaReplicas": 0}, "ollamaReplicas", "at least 1"),
    ({"ollamaModels": []}, "ollamaModels", "no model to chat with"),
    ({"ollamaModels": ["Llama 3"]}, "ollamaModels", "not an Ollama model name"),
    ({"ollamaImage": "ollama/ollama:latest"}, "ollamaImage", "pinned tag"),
    ({"ollamaModelPullerImage": "python"}, "ollamaModelPullerImage", "pinned tag"),
    ({"ollamaKeepAlive": "forever"}, "ollamaKeepAlive", "duration"),
    ({"ollamaCpuLimit": "6 cores"}, "ollamaCpuLimit", "Kubernetes quantity"),
    ({"ollamaNumParallel": 0}, "ollamaNumParallel", "at least 1"),
    ({"ollamaBaseUrl": "ollama:11434"}, "ollamaBaseUrl", "http(s) URL"),
    ({"maxReplicas": "many"}, "maxReplicas", "not a valid 'int'"),
    # what Azure or Kubernetes would refuse at deploy
    ({"postgresStorageGb": 100}, "postgresStorageGb", "not a size Azure offers a Flexible Server"),
    ({"postgresStorageGb": 32768}, "postgresStorageGb", "would be refused at deploy."),
    ({"postgresPreloadedLibraries": ["pg_vector"]}, "postgresPreloadedLibraries", "not a library Azure can preload"),
    ({"aksKubernetesVersion": "1.29"}, "aksKubernetesVersion", "AKS offers no Kubernetes 1.29"),
    ({"aksKubernetesVersion": "v1.35"}, "aksKubernetesVersion", "not a version AKS takes"),
    ({"namespace": "Open_WebUI"}, "namespace", "not a Kubernetes namespace name"),
    ({"memoryLimit": "1Gi", "memoryRequest": "1Gi"}, "memoryLimit", "under the 1.26Gi a replica holds at its peak"),
    ({"cpuRequest": "3", "cpuLimit": "2"}, "cpuRequest/cpuLimit", "Kubernetes refuses such a pod"),
    ({"ollamaMemoryRequest": "40Gi"}, "ollamaMemoryRequest/ollamaMemoryLimit", "above the limit 32Gi"),
    ({"memoryRequest": "lots"}, "memoryRequest", "Kubernetes quantity"),
    ({"cpuLimit": "2 cores"}, "cpuLimit", "Kubernetes quantity"),
    ({"postgresExtensions": ["vector", "pg_cron"]}, "postgresExtensions",
     "'pg_cron' needs its library 'pg_cron' loaded at server start, or CREATE EXTENSION fails after the server exists. "
     "Add 'pg_cron' to the server's shared_preload_libraries"),
    ({"postgresExtensions": ["vector", "pgaudit"], "postgresPreloadedLibraries": ["pg_cron"]}, "postgresExtensions",
     "then list it in postgresPreloadedLibraries"),
    ({"postgresExtensions": ["vector", "pg_partman_bgw"]}, "postgresExtensions",
     "'pg_partman_bgw' is a library loaded at server start, not an extension; list 'pg_partman' here and "
     "'pg_partman_bgw' in postgresPreloadedLibraries."),
    ({"postgresExtensions": ["vector", "auto_explain"]}, "postgresExtensions",
     "'auto_explain' is a library loaded at server start, not an extension; it needs no CREATE EXTENSION"),
    ({"location": "mars"}, "location", "location: 'mars' is not an Azure region. `az account list-locations"),
    ({"location": "westeurop"}, "location", "location: 'westeurop' is not an Azure region; nearest: westeurope"),
    ({"location": "West Europe"}, "location", "location: 'West Europe' is spelt 'westeurope' in Azure's API"),
    ({"embeddingModel": ""}, "embeddingModel", "embeddingModel: empty; Open WebUI would start with no model"),
    ({"embeddingModel": "  "}, "embeddingModel", "embeddingModel: empty"),
]


@pytest.mark.parametrize("overrides,key,says", BAD_CONFIGS, ids=[f"{c[1]}-{i}" for i, c in enumerate(BAD_CONFIGS)])
def test_bad_configuration_is_rejected_naming_the_key(overrides, key, says):
    with pytest.raises(ConfigError) as rejected:
        run_program("dev", overrides)
    message = str(rejected.value)
    assert key in message, message
    assert says in message, message


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as rejected:
        run_program("dev", {"filesSizeGi": 20, "cpuTargetPercent": 0, "image": "x:latest"})
    message = str(rejected.value)
    assert all(key in message for key in ("filesSizeGi", "cpuTargetPercent", "image"))


def test_budget_message_shows_the_arithmetic_and_names_the_keys():
    with pytest.raises(ConfigError) as rejected:
        run_program("dev", {"maxReplicas": 10})
    message = str(rejected.value)
    assert "open-webui: 10 replicas x 1 workers x [2 x (2+1) main + (2+0) pgvector] = 80" in message
    assert "open-webui-migrate: 1 replicas x 1 workers x [2 x (2+1) main + (2+0) pgvector + 1 alembic] = 9" in message
    assert "open-webui-surge: 1 replicas x 1 workers x [2 x (2+1) main + (2+0) pgvector] = 8" in message
    assert "demand 98 vs capacity 35 (50 max_connections - 15 reserved)" in message
    assert "lower maxReplicas of open-webui from 10 to 2" in message
    assert "move postgresSku to Standard_B2s (414 usable connections)" in message
    # 26 connections left for 10 pods cannot hold pools of even one connection each (3 per pod)
    assert "shrink the pools" not in message


def test_nothing_is_declared_when_config_is_bad():
    from offline_plan import mock_engine

    config, secret_keys = mock_engine.stack_config("dev", {"filesSizeGi": 20})
    monitor = mock_engine.start("dev", config, secret_keys)
    with pytest.raises(ConfigError):
        import runpy

        runpy.run_path(str(ROOT / "__main__.py"))
    assert monitor.registrations == []


def test_chroma_is_accepted_for_a_single_replica():
    run = run_program("dev", {"vectorDb": "chroma", "minReplicas": 1, "maxReplicas": 1})
    env = {e["name"] for e in run.named("open-webui-deployment").inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "VECTOR_DB" in env and "PGVECTOR_DB_URL" not in env and "PGVECTOR_POOL_SIZE" not in env


def test_gpu_capacity_message_names_the_fixes():
    with pytest.raises(ConfigError) as rejected:
        run_program("prod", {"ollamaReplicas": 3})
    message = str(rejected.value)
    assert "wanted 3 (ollama: 3 replicas x 1 GPU) / available 2 (Standard_NC8as_T4_v3: 2 nodes x 1 GPU)" in message
    assert "lower ollamaReplicas of ollama to 2" in message
    assert "raise gpuMaxCount (gpuNodeCount without autoscaling) so the pool offers 3 GPUs" in message


def test_a_bigger_vm_size_fits_more_replicas():
    run = run_program("prod", {"ollamaReplicas": 8, "gpuVmSize": "Standard_NC64as_T4_v3"})
    assert run.outputs["gpuCapacity"]["available"] == 8


def test_a_preloaded_library_lets_its_extension_through():
    run = run_program("dev", {"postgresExtensions": ["vector", "uuid-ossp", "pg_cron"],
                              "postgresPreloadedLibraries": ["pg_cron"]})
    assert "pg_cron" in run.outputs["postgresExtensions"]


@pytest.mark.parametrize("size,gpus", [("Standard_ND96isr_H100_v5", 8), ("Standard_ND96asr_v4", 8),
                                       ("Standard_ND96amsr_A100_v4", 8), ("Standard_NC24ads_A100_v4", 1),
                                       ("Standard_NC80adis_H100_v5", 2)])
def test_current_gpu_sizes_are_known_with_their_gpus(size, gpus):
    run = run_program("prod", {"gpuVmSize": size})
    assert run.outputs["gpuCapacity"]["available"] == 2 * gpus


def test_an_aks_minor_past_its_end_of_support_names_the_next_one():
    from datetime import date

    from components.config_checks.cluster import check_kubernetes_version

    assert check_kubernetes_version("1.35.2", date(2026, 12, 2)) == []
    [ended] = check_kubernetes_version("1.34", date(2026, 12, 2))
    assert "AKS ended standard support for 1.34 on 2026-11-30" in ended and "use 1.35" in ended
    assert "one minor at a time" in ended
