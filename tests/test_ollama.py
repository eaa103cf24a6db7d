"""Ollama on its own, under the SDK's mock runtime: GPU placement, model disks, the pull gate, probes."""

from typing import Any

from components.ollama import PULL_SCRIPT, Ollama, OllamaArgs, OllamaSettings, service_url
from offline_plan.mock_engine import MockRun, reveal, run_components

SETTINGS = OllamaSettings(
    image="ollama/ollama:0.17.7", replicas=2, models=("llama3.2:3b", "nomic-embed-text"), disk_gi=64,
    keep_alive="1h", num_parallel=4, max_loaded_models=2, cpu_request="2", memory_request="8Gi", cpu_limit="6",
    memory_limit="32Gi", puller_image="python:3.13.5-alpine3.22")


def build() -> MockRun:
    return run_components(lambda: Ollama("ollama", OllamaArgs(settings=SETTINGS, namespace="ns", node_pool=None)))


def pod(run: MockRun) -> dict[str, Any]:
    return reveal(run.named("ollama-statefulset").inputs)["spec"]["template"]["spec"]


def container(run: MockRun, name: str) -> dict[str, Any]:
    [match] = [c for c in pod(run)["containers"] if c["name"] == name]
    return match


def test_one_gpu_per_pod_on_the_gpu_pool_only():
    run = build()
    spec = pod(run)
    assert spec["nodeSelector"] == {"accelerator": "nvidia"}
    assert {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"} in spec["tolerations"]
    server = container(run, "ollama")
    assert server["resources"]["limits"] == {"cpu": "6", "memory": "32Gi", "nvidia.com/gpu": "1"}
    assert server["resources"]["requests"] == {"cpu": "2", "memory": "8Gi"}
    assert server["image"] == "ollama/ollama:0.17.7"


def test_server_environment():
    env = {e["name"]: e["value"] for e in container(build(), "ollama")["env"]}
    assert env == {"OLLAMA_HOST": "0.0.0.0:11434", "OLLAMA_KEEP_ALIVE": "1h", "OLLAMA_NUM_PARALLEL": "4",
                   "OLLAMA_MAX_LOADED_MODELS": "2"}


def test_each_replica_keeps_its_models_on_its_own_premium_disk():
    run = build()
    spec = reveal(run.named("ollama-statefulset").inputs)["spec"]
    assert spec["replicas"] == 2 and spec["podManagementPolicy"] == "Parallel"
    [template] = spec["volumeClaimTemplates"]
    assert template["metadata"]["name"] == "models"
    assert template["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert template["spec"]["resources"]["requests"]["storage"] == "64Gi"
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    disk_class = reveal(run.named("ollama-models-class").inputs)
    assert template["spec"]["storageClassName"] == disk_class["metadata"]["name"]
    assert (disk_class["provisioner"], disk_class["parameters"]) == ("disk.csi.azure.com", {"skuName": "Premium_LRS"})
    # zonal disks bind where the pod lands
    assert disk_class["volumeBindingMode"] == "WaitForFirstConsumer"
    assert container(run, "ollama")["volumeMounts"] == [{"name": "models", "mountPath": "/root/.ollama"}]


def test_readiness_waits_for_the_models():
    run = build()
    puller = container(run, "model-puller")
    assert puller["command"][:2] == ["python", "/scripts/ollama_pull.py"]
    args = puller["command"]
    assert args[args.index("--models") + 1] == "llama3.2:3b,nomic-embed-text"
    assert "--hold" in args
    ready_file = args[args.index("--ready-file") + 1]
    assert puller["readinessProbe"]["exec"]["command"] == ["test", "-f", ready_file]
    # the script it runs is the one tested in test_ollama_pull.py, byte for byte
    config_map = reveal(run.named("ollama-pull-script").inputs)
    assert config_map["data"] == {"ollama_pull.py": PULL_SCRIPT.read_text()}
    assert pod(run)["volumes"][0]["configMap"]["name"] == config_map["metadata"]["name"]
    # no postStart hook whose pull readiness would ignore
    assert "lifecycle" not in container(run, "ollama")


def test_probes_use_ollamas_api_with_a_startup_allowance():
    server = container(build(), "ollama")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert server[probe]["httpGet"] == {"path": "/api/version", "port": 11434}
    startup = server["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600


def test_service_and_disruption_budget():
    run = build()
    service = reveal(run.named("ollama-service").inputs)
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [{"name": "http", "port": 11434, "targetPort": 11434}]
    assert service_url("ns") == "http://ollama.ns.svc.cluster.local:11434"
    assert reveal(run.named("ollama-pdb").inputs)["spec"]["maxUnavailable"] == 1


def test_waits_long_enough_for_a_first_pull():
    statefulset = build().named("ollama-statefulset")
    assert statefulset.custom_timeouts["create"] == "60m"
