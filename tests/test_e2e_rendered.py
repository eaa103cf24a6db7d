"""`make e2e`'s pure part: the dev stack's rendered objects made into local processes (no Open WebUI needed)."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from components.names import APP_NAME
from components.open_webui import SCHEMA_JOB_DATABASE_URL, SCHEMA_JOB_SCRIPT, secret_values
from components.postgres import database_url
from components.redis import redis_url
from e2e.local_stack import image_command, local_env
from e2e.release import Release, version_of_image
from e2e.rendered import (COMPONENT_LABEL, NAME_LABEL, RenderedError, expand, local_paths, localize,
                                secret_keys, workload)
from offline_plan.plan import manifests

LOCAL_DB = database_url("openwebuiadmin", "pw/with:odd@chars", "127.0.0.1", "openwebui", port=15432)
LOCAL_REDIS = redis_url("127.0.0.1", "redispw", port=16379)


@pytest.fixture(scope="module")
def objects(dev_run: Any) -> list[dict[str, Any]]:
    return manifests(dev_run)


@pytest.fixture(scope="module")
def local_secrets(objects: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    [redis_key] = [k for k in secret_keys(objects) if k[1] == "REDIS_PASSWORD"]
    values = secret_values(APP_NAME, LOCAL_DB, LOCAL_DB.replace("admin", "app"), LOCAL_REDIS, "local-key",
                           {"WEBUI_ADMIN_PASSWORD": "local-admin"})
    return {(APP_NAME, k): v for k, v in values.items()} | {redis_key: "redispw"}


def test_every_rendered_secret_key_gets_a_local_value(objects: list[dict[str, Any]],
                                                      local_secrets: dict[tuple[str, str], str]) -> None:
    rendered = secret_keys(objects)
    assert set(rendered.values()) == {"[secret]"}  # the manifests never hold a secret
    # every key a container reads; the share's account key is the kubelet's (the run mounts a local directory)
    containers = [c for o in objects if "template" in o.get("spec", {})
                  for c in o["spec"]["template"]["spec"].get("containers", []) + o["spec"]["template"]["spec"].get(
                      "initContainers", [])]
    read = {(e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"]) for c in containers
            for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}
    # the collector's database URL is read by a container make e2e does not run (no collector build installs here)
    assert set(local_secrets) == read - {("otel-collector", "DATABASE_URL")}
    assert set(rendered) - read == {("open-webui-data-account", "azurestorageaccountname"),
                                    ("open-webui-data-account", "azurestorageaccountkey")}


def test_the_app_and_its_job_connect_under_their_budget_names(objects: list[dict[str, Any]],
                                                              local_secrets: dict[tuple[str, str], str]) -> None:
    app = workload(objects, "Deployment", {NAME_LABEL: APP_NAME}, local_secrets).containers[0]
    job = workload(objects, "Job", {NAME_LABEL: APP_NAME, COMPONENT_LABEL: "migration"}, local_secrets)
    assert app.env["DATABASE_URL"] == app.env["PGVECTOR_DB_URL"]
    assert app.env["DATABASE_URL"].endswith("sslmode=require&application_name=open-webui")
    assert "pw%2Fwith%3Aodd%40chars@127.0.0.1:15432/openwebui" in app.env["DATABASE_URL"]
    assert job.containers[0].env["DATABASE_URL"].endswith("application_name=open-webui-migrate")
    assert job.containers[0].env["DATABASE_URL"] == local_secrets[(APP_NAME, SCHEMA_JOB_DATABASE_URL)]
    assert app.env["WEBSOCKET_REDIS_URL"] == app.env["REDIS_URL"] == "redis://:redispw@127.0.0.1:16379/0"
    assert app.command == ()  # the image's own entrypoint
    assert job.program(job.containers[0])[1:] == ("schema_job.py", SCHEMA_JOB_SCRIPT.read_text())
    assert [c.name for c in job.init_containers] == ["seed-model-cache", "schema-gate"]


def test_redis_args_expand_the_password_as_the_kubelet_does(objects: list[dict[str, Any]],
                                                            local_secrets: dict[tuple[str, str], str]) -> None:
    [(secret, _)] = [k for k in local_secrets if k[1] == "REDIS_PASSWORD"]
    redis = workload(objects, "Deployment", {NAME_LABEL: secret}, local_secrets).containers[0]
    assert redis.command[-2:] == ("--requirepass", "redispw")


def test_expand() -> None:
    env = {"A": "x", "B": "y"}
    assert expand("$(A)-$(B)-$(C)-$$(A)", env) == "x-y-$(C)-$(A)"


def test_a_reference_the_run_cannot_fill_names_the_secret_and_key(objects: list[dict[str, Any]],
                                                                  local_secrets: dict[tuple[str, str], str]) -> None:
    partial = {k: v for k, v in local_secrets.items() if k[1] != "WEBUI_SECRET_KEY"}
    with pytest.raises(RenderedError, match="Secret open-webui key WEBUI_SECRET_KEY"):
        workload(objects, "Deployment", {NAME_LABEL: APP_NAME}, partial)
    broken = copy.deepcopy(objects)
    deployment = next(o for o in broken if o["kind"] == "Deployment" and o["metadata"]["name"] == APP_NAME)
    deployment["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "X", "valueFrom": {"secretKeyRef": {"name": "elsewhere", "key": "K"}}})
    with pytest.raises(RenderedError, match="Secret elsewhere key K, which the manifests do not declare"):
        workload(broken, "Deployment", {NAME_LABEL: APP_NAME}, local_secrets)


def test_a_missing_workload_says_so(objects: list[dict[str, Any]]) -> None:
    with pytest.raises(RenderedError, match="expected one Job labelled"):
        workload(objects, "Job", {NAME_LABEL: "nothing"}, {})


def test_paths_map_mounts_before_the_image_tree(objects: list[dict[str, Any]],
                                                local_secrets: dict[tuple[str, str], str]) -> None:
    job = workload(objects, "Job", {NAME_LABEL: APP_NAME, COMPONENT_LABEL: "migration"}, local_secrets)
    shared, image = Path("/run/app-data"), Path("/cache/image")
    seed = job.init_containers[0]
    paths = local_paths(seed, {"data": shared, "schema-gate": Path("/run/schema-gate")}, image)
    # The init container reads the image's copy of the model and writes the volume, mounted at /shared.
    assert [localize(part, paths) for part in seed.command] == [
        "python", "/run/schema-gate/seed_model_cache.py", "/cache/image/app/backend/data/cache/embedding/models",
        "/run/app-data/cache/embedding/models"]
    migrate = job.containers[0]
    paths = local_paths(migrate, {"data": shared, "schema-gate": Path("/run/schema-gate")}, image)
    assert localize(migrate.env["SENTENCE_TRANSFORMERS_HOME"], paths) == "/run/app-data/cache/embedding/models"
    assert localize("/apple /app-x /app/build", paths) == "/apple /app-x /cache/image/app/build"
    with pytest.raises(RenderedError, match="mounts volume"):
        local_paths(migrate, {}, image)


def test_the_image_is_the_release_of_its_tag():
    assert version_of_image("ghcr.io/open-webui/open-webui:v0.12.4") == "0.12.4"
    with pytest.raises(ValueError, match="pin one"):
        version_of_image("ghcr.io/open-webui/open-webui")


def test_containers_run_with_the_images_binaries_and_env(objects: list[dict[str, Any]],
                                                         local_secrets: dict[tuple[str, str], str]) -> None:
    release = Release("0.12.4", Path("/cache/0.12.4"))
    app = workload(objects, "Deployment", {NAME_LABEL: APP_NAME}, local_secrets).containers[0]
    # No command: the image's start.sh, uvicorn with the env's trusted proxies and workers.
    assert image_command(app, release, 8123) == [
        "/cache/0.12.4/venv/bin/python", "-m", "uvicorn", "open_webui.main:app", "--host", "127.0.0.1", "--port",
        "8123", "--forwarded-allow-ips", "10.244.0.0/16", "--workers", "1"]
    job = workload(objects, "Job", {NAME_LABEL: APP_NAME, COMPONENT_LABEL: "migration"}, local_secrets)
    assert image_command(job.containers[0], release, 0) == ["/cache/0.12.4/venv/bin/python", "/schema-gate/schema_job.py"]
    with pytest.raises(RuntimeError, match="cannot map"):
        image_command(replace(app, command=("node", "x.js")), release, 0)
    env = local_env(app, local_paths(app, {"data": Path("/run/data")}, release.image_root), 8123)
    assert env["DATA_DIR"] == "/run/data" and env["FRONTEND_BUILD_DIR"] == "/cache/0.12.4/image/app/build"
    assert env["SENTENCE_TRANSFORMERS_HOME"] == "/run/data/cache/embedding/models"
    assert env["PORT"] == "8123" and env["HF_HUB_OFFLINE"] == "1" and env["ENV"] == "prod"
    assert env["DATABASE_URL"] == app.env["DATABASE_URL"]  # the stack's own values win over the image's


def test_a_pods_own_name_reaches_the_env_that_names_it(objects: list[dict[str, Any]],
                                                        local_secrets: dict[tuple[str, str], str]) -> None:
    """The replicas' telemetry instance: POD_NAME from the downward API, expanded into OTEL_RESOURCE_ATTRIBUTES as
    the kubelet expands it, per pod."""
    def env(pod: str = "") -> dict[str, str]:
        return dict(workload(objects, "Deployment", {NAME_LABEL: APP_NAME}, local_secrets, pod=pod).containers[0].env)

    assert env("open-webui-replica-2")["OTEL_RESOURCE_ATTRIBUTES"] == "service.instance.id=open-webui-replica-2"
    assert env()["POD_NAME"] == "open-webui"  # by default, the object's own name
