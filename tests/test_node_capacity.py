"""Node capacity: AKS's reservations as documented, and every pod's requests at the peak against its pool, in the
program's config validation (the policy pack's side is in test_policy_validators.py)."""

import pytest

from components.stack_config import ConfigError
from components.gpu_capacity import GPUS_PER_VM
from components.node_capacity import (GIB, MIB, VM_SIZES, NodeCapacity, NodePool, PodDemand, Resources, allocatable,
                                      cpu_millicores, kube_reserved_cpu_m, kube_reserved_memory, memory_bytes)
from offline_plan.mock_engine import run_program


def test_cpu_reservation_is_the_documented_table():
    # learn.microsoft.com/azure/aks/node-resource-reservations
    assert [kube_reserved_cpu_m(n) for n in (1, 2, 4, 8, 16, 32, 64)] == [60, 100, 140, 180, 260, 420, 740]


def test_memory_reservation_is_the_lesser_of_the_pods_formula_and_a_quarter():
    # the page's examples: 8 GB and 30 pods reserve 20 MB x 30 + 50 MB; 4 GB and 70 pods reserve 25% of 4 GB
    assert kube_reserved_memory(8 * GIB, max_pods=30) == 650 * MIB
    assert kube_reserved_memory(4 * GIB, max_pods=70) == GIB
    # Azure CNI overlay's 250 pods: 5,050 MB, so a quarter wins up to about 20 GiB
    assert kube_reserved_memory(16 * GIB) == 4 * GIB and kube_reserved_memory(64 * GIB) == 5050 * MIB


def test_a_two_core_node_allocates_what_aks_reports():
    # Azure/AKS#3525's node: 2 cores, 1900m allocatable
    assert allocatable(VM_SIZES["Standard_D2ds_v5"]).cpu_m == 1900
    d4 = allocatable(VM_SIZES["Standard_D4ds_v5"])
    assert d4 == Resources(3860, 16 * GIB - 4 * GIB - 100 * MIB)


def test_every_gpu_size_has_its_cpu_and_memory():
    assert set(GPUS_PER_VM) <= set(VM_SIZES)


@pytest.mark.parametrize("text,millicores", [("500m", 500), ("2", 2000), ("0.5", 500), ("1.25", 1250)])
def test_cpu_quantities(text, millicores):
    assert cpu_millicores(text) == millicores


@pytest.mark.parametrize("text,size", [("1536Mi", 1536 * MIB), ("2Gi", 2 * GIB), ("1G", 10 ** 9), ("512", 512)])
def test_memory_quantities(text, size):
    assert memory_bytes(text) == size


def test_a_pod_larger_than_any_node_is_named_as_never_schedulable():
    pool = NodePool("Standard_D2ds_v5", 10, system=False)
    capacity = NodeCapacity(pool, (PodDemand("big", 1, Resources.parse("1", "8Gi"), scalable=True),))
    assert not capacity.within
    message = capacity.violation({"replicas": "r", "max_nodes": "n", "vm_size": "v"})
    assert "big requests 1 CPU, 8.00 GiB per pod, more than one Standard_D2ds_v5 node offers" in message
    # more nodes of the same size never help; a larger size does
    assert "raise n" not in message and "choose a larger v: Standard_E2ds_v5" in message


def test_a_daemonset_counts_once_per_node():
    pool = NodePool("Standard_D4ds_v5", 3, system=False)
    demand = PodDemand("agent", 1, Resources.parse("100m", "100Mi"), per_node=True)
    assert NodeCapacity(pool, (demand,)).wanted == Resources(300, 300 * MIB)


def test_both_stacks_fit(dev_run, prod_run):
    for run in (dev_run, prod_run):
        assert [c["title"] for c in run.outputs["capacity"] if not c["within"]] == []
        assert [c["title"] for c in run.outputs["capacity"]] == [
            "connection budget (PostgreSQL server 'postgres')", "GPU capacity (Ollama on the GPU pool)",
            "node capacity (system pool)", "node capacity (GPU pool)"]


def test_prod_at_40_replicas_within_its_connection_budget_does_not_fit_its_nodes():
    # pools shrunk so that 40 replicas fit the D2ds_v5's 844 connections: (40 + 1 surge) x 20 + the Job's 21 = 841
    overrides = {"maxReplicas": 40, "databasePoolSize": 4, "databasePoolMaxOverflow": 2}
    with pytest.raises(ConfigError) as rejected:
        run_program("prod", overrides)
    message = str(rejected.value)
    assert "connection budget" not in message
    assert "node pool of Standard_D4ds_v5 too small: at the peak, the pods past what it holds would stay Pending" \
        in message
    assert "open-webui: 40 x (500m, 1536Mi) = 20 CPU, 60.00 GiB" in message
    assert "wanted 21.38 CPU, 63.69 GiB vs room 13.94 CPU, 45.56 GiB (4 x Standard_D4ds_v5" in message
    assert "lower maxReplicas of open-webui from 40 to 25" in message
    assert "raise aksSystemNodeCount from 4 to 7" in message
    assert "choose a larger aksSystemVmSize: Standard_D8ds_v5" in message
    # and each fix it names is enough on its own
    for fix in ({"maxReplicas": 25}, {"aksSystemNodeCount": 7}, {"aksSystemVmSize": "Standard_D8ds_v5"}):
        capacity = run_program("prod", {**overrides, **fix}).outputs["capacity"]
        assert all(c["within"] for c in capacity), fix


def test_ollama_pods_are_checked_against_the_gpu_pool():
    with pytest.raises(ConfigError) as rejected:
        run_program("dev", {"ollamaMemoryRequest": "60Gi", "ollamaMemoryLimit": "60Gi"})
    message = str(rejected.value)
    assert "node pool of Standard_NC8as_T4_v3 too small: ollama requests 2.01 CPU, 60.03 GiB per pod" in message
    assert "choose a larger gpuVmSize: Standard_NC16as_T4_v3" in message


def test_an_unknown_system_size_is_refused_with_the_known_ones():
    with pytest.raises(ConfigError) as rejected:
        run_program("dev", {"aksSystemVmSize": "Standard_D4as_v6"})
    message = str(rejected.value)
    assert "aksSystemVmSize: 'Standard_D4as_v6' is not a size whose CPU and memory this program knows" in message
    assert "Standard_D4ds_v5" in message and "Standard_NC8as_T4_v3" not in message
