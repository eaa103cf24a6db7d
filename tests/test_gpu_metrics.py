"""The DCGM exporter on the GPU pool, under the SDK's mock runtime (components/gpu_metrics.py): on every GPU node,
asking for no GPU, within the namespace's baseline, serving the counters the GPU dashboard reads to the scraper only."""

from components.gpu_metrics import COUNTERS, METRICS_PORT, counters_file
from components.promql import GPU_METRICS, gpu_memory_mib, gpu_utilisation
from offline_plan.mock_engine import MockRun, reveal, run_program
from testing.promtool import metric_names


def test_the_collectors_file_lists_each_counter_as_a_gauge() -> None:
    rows = [line.split(", ", 2) for line in counters_file().splitlines()]
    assert [(field, kind) for field, kind, _ in rows] == [(field, "gauge") for field in COUNTERS]
    used = metric_names(gpu_utilisation()) | {m for e in gpu_memory_mib().values() for m in metric_names(e)}
    assert used <= set(GPU_METRICS)


def test_it_runs_on_every_gpu_node_without_taking_a_gpu(stack_run: MockRun) -> None:
    pod = reveal(stack_run.named("gpu-metrics-daemonset").inputs)["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert pod["nodeSelector"] == reveal(stack_run.named("ollama-statefulset").inputs)["spec"]["template"]["spec"][
        "nodeSelector"]
    assert "nvidia.com/gpu" not in str(container["resources"])  # Ollama's GPUs stay Ollama's
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["NVIDIA_VISIBLE_DEVICES"] == "all" and env["DCGM_EXPORTER_KUBERNETES"] == "false"
    assert env["DCGM_EXPORTER_COLLECTORS"] == "/etc/dcgm-exporter/stack/counters.csv"
    # baseline: no added capability, no host path
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert all("hostPath" not in v for v in pod["volumes"])
    policy = reveal(stack_run.named("network-policies-dcgm-exporter").inputs)["spec"]
    assert policy["ingress"][0]["ports"] == [{"port": METRICS_PORT, "protocol": "TCP"}]
    assert policy["ingress"][0]["from"][0]["podSelector"] == {"matchLabels": {"rsName": "ama-metrics"}}


def test_none_without_a_gpu_pool_or_without_observability() -> None:
    for overrides in ({"ollamaEnabled": False}, {"observabilityEnabled": False}):
        run = run_program("dev", overrides)
        assert not [r.name for r in run.registrations if "gpu-metrics" in r.name or "dcgm" in r.name], overrides
