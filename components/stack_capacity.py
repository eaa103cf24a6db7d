"""This stack's members of the capacity family (components/capacity.py): the workloads its connection budget counts,
the GPUs Ollama asks of the GPU pool, and every pod each node pool holds at the peak, the Jobs and the edge
included. The program's own validation, the plan and the policy pack all read them from here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from components.aks import DEVICE_PLUGIN_RESOURCES
from components.capacity import CapacityCheck
from components.connection_budget import AZURE_RESERVED_CONNECTIONS, ConnectionBudget
from components.data_migration import RESOURCES as DATA_MIGRATION_RESOURCES
from components.edge import CERT_MANAGER_PODS, CERT_MANAGER_RESOURCES, TRAEFIK_REPLICAS, TRAEFIK_RESOURCES
from components.gpu_capacity import GPUS_PER_VM, GpuCapacity, GpuDemand, GpuPool
from components.gpu_metrics import EXPORTER_NAME, RESOURCES as GPU_EXPORTER_RESOURCES
from components.names import APP_NAME, DATA_MIGRATION_NAME, OLLAMA_NAME, POSTGRES_NAME
from components.node_capacity import NodeCapacity, NodePool, PodDemand, Resources
from components.ollama import GPUS_PER_POD, PULLER_RESOURCES
from components.open_webui import RESUME_RESOURCES, ROLLING_SURGE
from components.otel_collector import COLLECTOR_NAME, COLLECTOR_WORKLOAD, RESOURCES as COLLECTOR_RESOURCES
from components.redis import RESOURCES as REDIS_RESOURCES

if TYPE_CHECKING:
    from components.settings import StackSettings

# What the budget's and the GPU capacity's fixes call each knob in this program's config.
BUDGET_KEYS = {"max_replicas": "maxReplicas", "database_pool": "databasePoolSize/databasePoolMaxOverflow",
               "pgvector_pool": "pgvectorPoolSize/pgvectorPoolMaxOverflow", "sku": "postgresSku"}
GPU_KEYS = {"replicas": "ollamaReplicas", "max_nodes": "gpuMaxCount (gpuNodeCount without autoscaling)",
            "vm_size": "gpuVmSize"}
SYSTEM_POOL_KEYS = {"replicas": "maxReplicas", "max_nodes": "aksSystemNodeCount", "vm_size": "aksSystemVmSize"}
APP_WORKLOADS = (APP_NAME, f"{APP_NAME}-surge")
"""The workloads that connect as the app role: the replicas at the peak, and the surge pod."""


def connection_budget(settings: StackSettings) -> ConnectionBudget:
    migration = (settings.data_migration.workload(DATA_MIGRATION_NAME),) if settings.data_migration else ()
    collector = (COLLECTOR_WORKLOAD,) if settings.observability else ()
    return ConnectionBudget(server=POSTGRES_NAME, max_connections=settings.postgres.sku.default_max_connections,
                            reserved=AZURE_RESERVED_CONNECTIONS,
                            workloads=settings.webui.workloads(APP_NAME) + migration + collector)


def role_limits(settings: StackSettings) -> dict[str, int]:
    """Each role the stack makes, with its CONNECTION LIMIT: its share of the connection budget."""
    budget = connection_budget(settings)
    metrics_role = settings.postgres.metrics_role
    return {settings.postgres.app_role: budget.share(APP_WORKLOADS),
            **({metrics_role: budget.share((COLLECTOR_NAME,))} if metrics_role else {})}


def gpu_capacity(settings: StackSettings) -> Optional[GpuCapacity]:
    """Ollama's GPUs against the GPU pool at its largest; None without Ollama."""
    if settings.ollama is None:
        return None
    aks = settings.aks
    pool = GpuPool(aks.gpu_vm_size, GPUS_PER_VM[aks.gpu_vm_size], aks.gpu_max_nodes)
    return GpuCapacity(pools=(pool,), demands=(GpuDemand(OLLAMA_NAME, settings.ollama.replicas, GPUS_PER_POD),))


def node_capacity(settings: StackSettings) -> tuple[NodeCapacity, ...]:
    """Every pod's requests at the peak against its pool at its largest: the system pool, then the GPU pool."""
    webui, aks, ollama = settings.webui, settings.aks, settings.ollama
    app = Resources.parse(webui.cpu_request, webui.memory_request)
    system = [PodDemand(APP_NAME, webui.max_replicas, app, scalable=True),
              PodDemand(f"{APP_NAME}-surge", ROLLING_SURGE, app),
              PodDemand(f"{APP_NAME}-migrate Job", 1, app),
              PodDemand(f"{APP_NAME}-resume Job", 1, Resources.requested(RESUME_RESOURCES)),
              PodDemand("redis", 1, Resources.requested(REDIS_RESOURCES)),
              PodDemand("traefik", TRAEFIK_REPLICAS, Resources.requested(TRAEFIK_RESOURCES)),
              PodDemand("cert-manager", len(CERT_MANAGER_PODS), Resources.requested(CERT_MANAGER_RESOURCES))]
    if settings.observability:
        system.append(PodDemand(COLLECTOR_NAME, 1, Resources.requested(COLLECTOR_RESOURCES)))
    if settings.data_migration:
        system.append(PodDemand(f"{DATA_MIGRATION_NAME} Job", 1, Resources.requested(DATA_MIGRATION_RESOURCES)))
    pools = [NodeCapacity(NodePool(aks.system_vm_size, aks.system_node_count, system=True), tuple(system))]
    if aks.gpu_pool:
        gpu = [PodDemand("nvidia-device-plugin", 1, Resources.requested(DEVICE_PLUGIN_RESOURCES), per_node=True)]
        if settings.observability:
            gpu.append(PodDemand(EXPORTER_NAME, 1, Resources.requested(GPU_EXPORTER_RESOURCES), per_node=True))
        if ollama:
            pod = Resources.parse(ollama.cpu_request, ollama.memory_request) + Resources.requested(PULLER_RESOURCES)
            gpu.insert(0, PodDemand(OLLAMA_NAME, ollama.replicas, pod, scalable=True))
        pools.append(NodeCapacity(NodePool(aks.gpu_vm_size, aks.gpu_max_nodes, system=False), tuple(gpu)))
    return tuple(pools)


def checks(settings: StackSettings) -> list[CapacityCheck]:
    """The capacity family, in the order the plan prints it."""
    gpus = gpu_capacity(settings)
    system, *gpu_pool = node_capacity(settings)
    return [CapacityCheck(f"connection budget (PostgreSQL server '{POSTGRES_NAME}')", connection_budget(settings),
                          BUDGET_KEYS),
            *([CapacityCheck("GPU capacity (Ollama on the GPU pool)", gpus, GPU_KEYS)] if gpus else []),
            CapacityCheck("node capacity (system pool)", system, SYSTEM_POOL_KEYS),
            *(CapacityCheck("node capacity (GPU pool)", pool, GPU_KEYS) for pool in gpu_pool)]
