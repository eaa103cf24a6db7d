"""Hand-built resources for the policy tests, in the shape the engine sends (inputs, camelCase)."""

from __future__ import annotations

import copy
from typing import Any, Optional

from offline_plan.mock_engine import Registration

PREFIX = "urn:pulumi:seed::openwebui-aks::"


def registration(type_: str, name: str, inputs: dict[str, Any],
                 property_dependencies: Optional[dict[str, list[str]]] = None) -> Registration:
    return Registration(urn=f"{PREFIX}{type_}::{name}", type=type_, name=name, parent="", provider="",
                        protect=False, custom=True, dependencies=sorted({u for v in (property_dependencies or {}).values()
                                                                          for u in v}),
                        property_dependencies=property_dependencies or {}, inputs=inputs)


def container(env: dict[str, Any], image: str = "ghcr.io/open-webui/open-webui:main") -> dict[str, Any]:
    entries = [{"name": k, **({"valueFrom": {"secretKeyRef": {"name": "webui", "key": k}}} if v is SECRET else
                              {"value": v})} for k, v in env.items()]
    return {"name": "open-webui", "image": image, "env": entries,
            "volumeMounts": [{"name": "data", "mountPath": "/app/backend/data"}],
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
            "livenessProbe": {"httpGet": {"path": "/health", "port": 8080}}}


SECRET = object()
"""Marks an env value taken from a Secret (valueFrom.secretKeyRef)."""


def seed_stack() -> list[Registration]:
    """The hand-run system of MIGRATION-SUCCESS.md with its planned HPA: B1ms, 3 replicas, HPA to 20,
    pgvector pool 10+5, main pool unset."""
    server = registration("azure-native:dbforpostgresql:Server", "shsorot-pg", {
        "sku": {"name": "Standard_B1ms", "tier": "Burstable"}, "version": "16",
        "backup": {"backupRetentionDays": 7, "geoRedundantBackup": "Disabled"},
        "highAvailability": {"mode": "Disabled"}})
    allow_list = registration("azure-native:dbforpostgresql:Configuration", "allow-list", {
        "configurationName": "azure.extensions", "value": "VECTOR,UUID-OSSP", "serverName": "shsorot-pg"},
        {"serverName": [server.urn]})
    extension = registration("pulumi-python:dynamic/postgres:Extension", "vector", {
        "name": "vector", "host": "shsorot-pg.postgres.database.azure.com"}, {"host": [server.urn]})
    env = {"VECTOR_DB": "pgvector", "DATABASE_URL": SECRET, "PGVECTOR_DB_URL": SECRET, "WEBUI_SECRET_KEY": SECRET,
           "WEBSOCKET_MANAGER": "redis", "PGVECTOR_POOL_SIZE": "10", "PGVECTOR_POOL_MAX_OVERFLOW": "5",
           "WEBSOCKET_REDIS_URL": "redis://redis:6379/0"}
    deployment = registration("kubernetes:apps/v1:Deployment", "open-webui", {
        "metadata": {"name": "open-webui", "namespace": "ollama"},
        "spec": {"replicas": 3, "template": {"metadata": {"labels": {"app": "open-webui"}}, "spec": {
            "containers": [container(env)],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "open-webui-files-pvc"}}]}}}})
    hpa = registration("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "open-webui-hpa", {
        "metadata": {"name": "open-webui", "namespace": "ollama"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "open-webui"},
                 "minReplicas": 1, "maxReplicas": 20}})
    claim = registration("kubernetes:core/v1:PersistentVolumeClaim", "open-webui-files-pvc", {
        "metadata": {"name": "open-webui-files-pvc", "namespace": "ollama"},
        "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "azurefile-premium",
                 "resources": {"requests": {"storage": "20Gi"}}}})
    storage_class = registration("kubernetes:storage.k8s.io/v1:StorageClass", "azurefile-premium", {
        "metadata": {"name": "azurefile-premium"}, "provisioner": "file.csi.azure.com",
        "parameters": {"skuName": "Premium_LRS"}})
    gpu_pool = registration("azure-native:containerservice:AgentPool", "gpu", {
        "vmSize": "Standard_NC8as_T4_v3", "count": 2, "nodeTaints": ["sku=gpu:NoSchedule"]})
    # Azure services allowed through the firewall, and a Redis that answers anyone (the seed's setup).
    open_firewall = registration("azure-native:dbforpostgresql:FirewallRule", "allow-azure", {
        "startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0", "serverName": "shsorot-pg"},
        {"serverName": [server.urn]})
    redis = registration("kubernetes:apps/v1:Deployment", "redis", {
        "metadata": {"name": "redis", "namespace": "ollama"},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [{
            "name": "redis", "image": "redis:7-alpine", "ports": [{"containerPort": 6379}],
            "resources": {"requests": {"cpu": "50m"}, "limits": {"memory": "256Mi"}},
            "readinessProbe": {"exec": {"command": ["redis-cli", "ping"]}},
            "livenessProbe": {"exec": {"command": ["redis-cli", "ping"]}}}]}}}})
    # and its login page at http://<public ip>
    service = registration("kubernetes:core/v1:Service", "open-webui-service", {
        "metadata": {"name": "open-webui-service", "namespace": "ollama"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "open-webui"},
                 "ports": [{"port": 80, "targetPort": 8080}]}})
    return [server, allow_list, extension, deployment, hpa, claim, storage_class, gpu_pool, open_firewall, redis,
            service]


def replace(registrations: list[Registration], name: str, path: list[Any], value: Any) -> list[Registration]:
    """A copy of the stack with one input changed (path into the inputs; value None deletes)."""
    result = copy.deepcopy(registrations)
    [target] = [r for r in result if r.name == name]
    node: Any = target.inputs
    for key in path[:-1]:
        node = node[key]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return result
