"""OpenWebUI: the Open WebUI workload, its one-shot schema migration, its Service, HPA and PodDisruptionBudget."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.connection_budget import (POSTGRES_ROLE_ANNOTATION, POSTGRES_SERVER_ANNOTATION, Workload,
                                          with_application_name)
from components.app_metrics import POD_NAME_ENV, telemetry_environment
from components.edge import HSTS
from components.pod_security import API_TOKEN_MOUNT, API_TOKEN_VOLUME, hardened
from components.sign_in import SignInSettings
from components.upgrade import image_tag
from in_cluster import PROGRAMS

HTTP_PORT = 8080
COMPONENT_LABEL = "app.kubernetes.io/component"
SERVICE_PORT = 80
BACKEND_DIR = "/app/backend"
"""The image's working directory: Open WebUI's package lives here, importable from it (it is not pip-installed)."""
DATA_DIR = f"{BACKEND_DIR}/data"
MODEL_CACHE = f"{DATA_DIR}/cache/embedding/models"
GATE_SCRIPT = PROGRAMS / "schema_gate.py"
SCHEMA_JOB_SCRIPT = PROGRAMS / "schema_job.py"
"""The schema Job's program: schema, the stack-owned settings, the first account, the vector store, the model."""
REVISIONS_SCRIPT = PROGRAMS / "alembic_revisions.py"
"""What the gate reads the image's Alembic head with."""
SEED_CACHE_SCRIPT = PROGRAMS / "seed_model_cache.py"
SCHEMA_PROGRAMS = (GATE_SCRIPT, REVISIONS_SCRIPT, SCHEMA_JOB_SCRIPT, SEED_CACHE_SCRIPT)
"""What the schema Job and the resume Job run, in one ConfigMap."""
SHARED_MODEL_CACHE = "/shared/cache/embedding/models"
"""The volume's model cache, as the schema Job's first init container mounts the volume (at /shared: its data
directory would hide the image's copy)."""
IMPORTABLE = k8s.core.v1.EnvVarArgs(name="PYTHONPATH", value=BACKEND_DIR)
"""A script run by path has its own folder first on sys.path, not the working directory the image imports Open WebUI
from: the programs that import it name the folder."""
ROLLING_SURGE = 1
"""Pods a rolling update adds above the count before an old one stops (maxUnavailable is 0): the budgets count it."""
PRE_STOP_SECONDS = 10
"""A stopping pod keeps serving this long: the Service and the edge stop sending to it first."""
MEASURED_PEAK_RESIDENT = "1.26Gi"
"""A replica's resident memory at its peak, measured by `make e2e` on Open WebUI 0.12.4 (the embedding model loaded,
200 signed-in users; Pulumi.yaml's memoryRequest notes the runs): a memory limit under it is OOM-killed, and the
pod crash-loops."""
RESUME_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}
"""The resume step is one small script polling the Kubernetes API."""
APP_ROLE_ENV = "APP_DATABASE_ROLE"
"""The schema Job's env: the role it hands document_chunk to (components/pg_role.py)."""
SCHEMA_JOB_DATABASE_URL = "SCHEMA_JOB_DATABASE_URL"
"""The Secret's key for the schema Job's DATABASE_URL (the same server, under the Job's application_name)."""
SECRETS_ANNOTATION = "openwebui.io/secrets-digest"
"""On the replicas' pod template: a digest of the Secret's values they read (not a credential), so a rotated
password or client secret rolls them onto it; env from a Secret is read only when a container starts."""



def schema_job_name(app: str, image: str, step: str = "migrate") -> str:
    """The schema Job of an image (or its resume Job): one per tag (a valid Kubernetes name)."""
    tag = re.sub(r"[^a-z0-9]+", "-", image_tag(image).lower()).strip("-")
    return f"{app}-{step}-{tag}"[:63].rstrip("-")


def secret_values(name: str, database_url: str, app_database_url: str, redis_url: str, secret_key: str,
                  sign_in: Mapping[str, str]) -> dict[str, str]:
    """The Secret's data: the replicas connect as the app role, the schema Job as the admin, each under its name
    in the connection budget (pg_stat_activity counts them). `make e2e` fills the same shape with local values."""
    return {"DATABASE_URL": with_application_name(app_database_url, name),
            SCHEMA_JOB_DATABASE_URL: with_application_name(database_url, f"{name}-migrate"),
            "WEBUI_SECRET_KEY": secret_key, "REDIS_URL": redis_url, "WEBSOCKET_REDIS_URL": redis_url, **sign_in}


@dataclass(frozen=True)
class OpenWebUISettings:
    image: str
    min_replicas: int
    max_replicas: int
    cpu_target_percent: int
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str
    uvicorn_workers: int
    database_pool_size: int
    database_pool_max_overflow: int
    database_pool_timeout: int
    database_pool_recycle: int
    vector_db: str
    pgvector_pool_size: int
    pgvector_pool_max_overflow: int
    pgvector_max_vector_length: int
    pgvector_use_halfvec: bool
    pgvector_index_method: str
    embedding_model: str
    ollama_base_urls: tuple[str, ...]
    """The Ollama servers Open WebUI connects to: the in-cluster one and/or ollamaBaseUrl."""
    public_url: str
    """https://<host>, where users open it (the edge ends TLS there)."""
    trusted_proxies: str
    """The addresses whose X-Forwarded-* headers are believed: the cluster's pod range, where the edge's pods live
    (NetworkPolicies let only the edge's pods reach the app's port)."""
    sign_in: SignInSettings
    otlp_endpoint: str
    """Where the replicas push their metrics (the stack's OpenTelemetry Collector); empty: no telemetry."""

    @property
    def image_tag(self) -> str:
        return image_tag(self.image)

    def environment(self, schema_job: bool) -> dict[str, str]:
        """The plain (non-secret) environment. The connection budget reads these same values."""
        env = {
            "ENABLE_DB_MIGRATIONS": str(schema_job).lower(),
            "UVICORN_WORKERS": str(self.uvicorn_workers),
            "DATABASE_POOL_SIZE": str(self.database_pool_size),
            "DATABASE_POOL_MAX_OVERFLOW": str(self.database_pool_max_overflow),
            "DATABASE_POOL_TIMEOUT": str(self.database_pool_timeout),
            "DATABASE_POOL_RECYCLE": str(self.database_pool_recycle),
            "VECTOR_DB": self.vector_db,
            "WEBSOCKET_MANAGER": "redis",
            "ENABLE_WEBSOCKET_SUPPORT": "true",
            "RAG_EMBEDDING_MODEL": self.embedding_model,
            "SENTENCE_TRANSFORMERS_HOME": MODEL_CACHE,
            # The schema Job fills the shared model cache once; replicas only read it, never race to download.
            "RAG_EMBEDDING_MODEL_AUTO_UPDATE": "false",
            # Served at https://<host> by the edge: links and OAuth redirects use it, cookies never travel over
            # plain HTTP, browsers call the API only from the site itself, and the client address and scheme
            # come from the edge's X-Forwarded-* headers only.
            "WEBUI_URL": self.public_url,
            "WEBUI_SESSION_COOKIE_SECURE": "true",
            "WEBUI_AUTH_COOKIE_SECURE": "true",
            "CORS_ALLOW_ORIGIN": self.public_url,
            "FORWARDED_ALLOW_IPS": self.trusted_proxies,
            # Open WebUI sets Strict-Transport-Security itself (utils/security_headers.py); the edge passes it on.
            "HSTS": HSTS,
            **self.sign_in.environment(),
            **(self.sign_in.job_environment() if schema_job else {}),
        }
        if not schema_job:
            env["HF_HUB_OFFLINE"] = "1"
            if self.otlp_endpoint:
                env.update(telemetry_environment(self.otlp_endpoint))
        if self.vector_db == "pgvector":
            env.update({
                "PGVECTOR_POOL_SIZE": str(self.pgvector_pool_size),
                "PGVECTOR_POOL_MAX_OVERFLOW": str(self.pgvector_pool_max_overflow),
                "PGVECTOR_POOL_TIMEOUT": str(self.database_pool_timeout),
                "PGVECTOR_POOL_RECYCLE": str(self.database_pool_recycle),
                "PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH": str(self.pgvector_max_vector_length),
                "PGVECTOR_USE_HALFVEC": str(self.pgvector_use_halfvec).lower(),
                "PGVECTOR_INDEX_METHOD": self.pgvector_index_method,
                # The extension is created by this program (PgExtension), not by the app at start.
                "PGVECTOR_CREATE_EXTENSION": "false",
            })
        # Only a first start copies these into the database; the schema Job writes them there on every
        # deploy that changes them (see _schema_job), so the stack stays the owner of the Ollama connections.
        env["ENABLE_OLLAMA_API"] = str(bool(self.ollama_base_urls)).lower()
        if self.ollama_base_urls:
            env["OLLAMA_BASE_URLS"] = ";".join(self.ollama_base_urls)
        return env

    def workloads(self, name: str) -> tuple[Workload, Workload, Workload]:
        """The app at its HPA peak, the pod a rolling update adds above it, and the schema Job, as the connection
        budget sees them. The Job's schema gate connects once, before Alembic, never beside it."""
        app = self.environment(schema_job=False)
        return (Workload.from_env(name, self.max_replicas, app),
                Workload.from_env(f"{name}-surge", ROLLING_SURGE, app),
                Workload.from_env(f"{name}-migrate", 1, self.environment(schema_job=True)))


@dataclass
class OpenWebUIArgs:
    settings: OpenWebUISettings
    namespace: pulumi.Input[str]
    database_url: pulumi.Input[str]
    """Secret: the admin's, for the schema Job (Alembic, the vector store, handing document_chunk to the app role)."""
    app_database_url: pulumi.Input[str]
    """Secret: the app role's, for the replicas' DATABASE_URL and, with pgvector, PGVECTOR_DB_URL."""
    app_role: str
    redis_url: pulumi.Input[str]
    """Secret (it holds Redis's password): for REDIS_URL and WEBSOCKET_REDIS_URL."""
    sign_in_secrets: pulumi.Input[Mapping[str, str]]
    """Secret: the sign-in keys of the Secret (components/sign_in.py SignIn)."""
    data_claim_name: pulumi.Input[str]
    postgres_server: str
    """Logical name of the PostgreSQL server resource (for the policy pack's connection budget)."""
    wait_for: Sequence[pulumi.Resource] = ()
    """What must be complete before the schema Job runs and the app starts: the data-migration Job, which carries an
    old webui.db into the empty database first, so that the schema Job's defaults fill only what the old admin
    never set and its stack-owned settings are written last."""


class OpenWebUI(pulumi.ComponentResource):
    service_name: pulumi.Output[str]
    """The ClusterIP Service (port SERVICE_PORT) the edge sends users to."""
    pod_labels: dict[str, str]

    def __init__(self, name: str, args: OpenWebUIArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:app:OpenWebUI", name, None, opts)
        s = args.settings
        labels = self.pod_labels = {"app.kubernetes.io/name": name}
        annotations = {POSTGRES_SERVER_ANNOTATION: args.postgres_server}  # the Job's and the replicas'
        replica_annotations = {**annotations, POSTGRES_ROLE_ANNOTATION: args.app_role}
        env, digest = self._environment(name, args, labels)
        data_volume = k8s.core.v1.VolumeArgs(
            name="data",
            persistent_volume_claim=k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(claim_name=args.data_claim_name))
        resources = k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": s.cpu_request, "memory": s.memory_request},
            limits={"cpu": s.cpu_limit, "memory": s.memory_limit})

        gate = self._schema_gate(name, args, labels)
        migration = self._schema_job(name, args, env(True), data_volume, resources, labels, annotations, gate)
        deployment = self._deployment(name, args, env(False), data_volume, resources, labels, replica_annotations,
                                      digest,
                                      wait_for=[migration])
        self._resume_job(name, args, labels, gate, deployment)
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                # Only the edge reaches it (TLS ends there): never a LoadBalancer or NodePort of its own.
                type="ClusterIP", selector=labels,
                ports=[k8s.core.v1.ServicePortArgs(name="http", port=SERVICE_PORT, target_port=HTTP_PORT)]),
            opts=pulumi.ResourceOptions(parent=self))
        self._scaling(name, args, deployment, labels)

        self.service_name = service.metadata.name
        self.register_outputs({"service_name": self.service_name})

    def _environment(self, name: str, args: OpenWebUIArgs,
                     labels: dict[str, str]) -> tuple[Callable[[bool], list[k8s.core.v1.EnvVarArgs]], pulumi.Output[str]]:
        """The Secret (database and Redis URLs, a generated WEBUI_SECRET_KEY shared by every replica, the sign-in
        secrets), the env built on it, and the digest of what the replicas read of it."""
        s = args.settings
        secret_key = random.RandomPassword(f"{name}-secret-key", random.RandomPasswordArgs(length=48, special=False),
                                           opts=pulumi.ResourceOptions(parent=self))
        # Secret as a whole: an Output built on a secret is one (the URL holds the server's password).
        secret_data = pulumi.Output.all(pulumi.Output.secret(args.database_url), args.app_database_url,
                                        args.redis_url, secret_key.result, args.sign_in_secrets).apply(
            lambda parts: secret_values(name, database_url=parts[0], app_database_url=parts[1], redis_url=parts[2],
                                        secret_key=parts[3], sign_in=parts[4]))
        secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
            string_data=secret_data,
            opts=pulumi.ResourceOptions(parent=self))

        def keys(schema_job: bool) -> dict[str, str]:
            """Env name -> the Secret's key, for the schema Job or the replicas."""
            database_key = SCHEMA_JOB_DATABASE_URL if schema_job else "DATABASE_URL"
            found = {"DATABASE_URL": database_key, "WEBUI_SECRET_KEY": "WEBUI_SECRET_KEY", "REDIS_URL": "REDIS_URL",
                     "WEBSOCKET_REDIS_URL": "WEBSOCKET_REDIS_URL"}
            if s.vector_db == "pgvector":
                found["PGVECTOR_DB_URL"] = database_key
            return found | {key: key for key in s.sign_in.secret_env(schema_job)}

        def env(schema_job: bool) -> list[k8s.core.v1.EnvVarArgs]:
            plain = {**s.environment(schema_job), **({APP_ROLE_ENV: args.app_role} if schema_job else {})}
            pod = [k8s.core.v1.EnvVarArgs(name=POD_NAME_ENV, value_from=k8s.core.v1.EnvVarSourceArgs(
                field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path="metadata.name")))] \
                if f"$({POD_NAME_ENV})" in "".join(plain.values()) else []
            return pod + [k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in plain.items()] + [
                k8s.core.v1.EnvVarArgs(name=env_name, value_from=k8s.core.v1.EnvVarSourceArgs(
                    secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret.metadata.name, key=key)))
                for env_name, key in keys(schema_job).items()]

        replicas_read = sorted(set(keys(False).values()))
        digest = pulumi.Output.unsecret(secret_data.apply(lambda data: hashlib.sha256(json.dumps(
            {key: data[key] for key in replicas_read}, sort_keys=True).encode()).hexdigest()[:16]))
        return env, digest

    def _schema_gate(self, name: str, args: OpenWebUIArgs, labels: dict[str, str]) -> "SchemaGate":
        """The schema Job's programs (SCHEMA_PROGRAMS) and the gate's service account, which may stop and start the
        Deployment."""
        child = pulumi.ResourceOptions(parent=self)
        account_name = f"{name}-schema-gate"
        script = k8s.core.v1.ConfigMap(
            f"{name}-schema-gate", metadata=k8s.meta.v1.ObjectMetaArgs(name=account_name, namespace=args.namespace,
                                                                       labels=labels),
            data={script.name: script.read_text() for script in SCHEMA_PROGRAMS}, opts=child)
        account = k8s.core.v1.ServiceAccount(
            f"{name}-schema-gate-account",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=account_name, namespace=args.namespace, labels=labels),
            opts=child)
        role = k8s.rbac.v1.Role(
            f"{name}-schema-gate-role",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=account_name, namespace=args.namespace, labels=labels),
            rules=[
                # its own Deployment's scale only: never the Deployment itself, whose pod template (image, env,
                # Secrets mounted) a stolen token could otherwise rewrite
                k8s.rbac.v1.PolicyRuleArgs(api_groups=["apps"], resources=["deployments/scale"],
                                           resource_names=[name], verbs=["get", "patch"]),
                # to see the old pods gone and a new one Ready
                k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["pods"], verbs=["list"])],
            opts=child)
        k8s.rbac.v1.RoleBinding(
            f"{name}-schema-gate-binding",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=account_name, namespace=args.namespace, labels=labels),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role",
                                             name=role.metadata.name),
            subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=account.metadata.name,
                                              namespace=args.namespace)],
            opts=child)
        env = [k8s.core.v1.EnvVarArgs(name="NAMESPACE", value_from=k8s.core.v1.EnvVarSourceArgs(
                   field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path="metadata.namespace"))),
               k8s.core.v1.EnvVarArgs(name="DEPLOYMENT", value=name), IMPORTABLE,
               # the Deployment's pods: the Jobs' own carry a component label
               k8s.core.v1.EnvVarArgs(name="POD_SELECTOR",
                                      value=",".join(f"{k}={v}" for k, v in labels.items()) + f",!{COMPONENT_LABEL}"),
               k8s.core.v1.EnvVarArgs(name="MIN_REPLICAS", value=str(args.settings.min_replicas))]
        return SchemaGate(account.metadata.name, script.metadata.name, env)

    def _resume_job(self, name: str, args: OpenWebUIArgs, labels: dict[str, str], gate: "SchemaGate",
                    deployment: k8s.apps.v1.Deployment) -> k8s.batch.v1.Job:
        """After the Deployment's update: a Deployment the gate stopped starts again (schema_gate.py resume)."""
        job_labels = {**labels, COMPONENT_LABEL: "resume"}
        return k8s.batch.v1.Job(
            f"{name}-resume",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=schema_job_name(name, args.settings.image, "resume"),
                                                namespace=args.namespace, labels=job_labels),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=2, active_deadline_seconds=1200,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=job_labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        restart_policy="Never", service_account_name=gate.account,
                        automount_service_account_token=False,  # the gate's container mounts its token itself
                        containers=[gate.container("resume", args.settings.image, [], k8s.core.v1.ResourceRequirementsArgs(
                            requests=RESUME_RESOURCES["requests"], limits=RESUME_RESOURCES["limits"]))],
                        volumes=gate.volumes))),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[deployment]))

    def _deployment(self, name: str, args: OpenWebUIArgs, env: list[k8s.core.v1.EnvVarArgs],
                    data_volume: k8s.core.v1.VolumeArgs, resources: k8s.core.v1.ResourceRequirementsArgs,
                    labels: dict[str, str], annotations: dict[str, str], digest: pulumi.Output[str],
                    wait_for: list[pulumi.Resource]) -> k8s.apps.v1.Deployment:
        return k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels,
                                                annotations=annotations),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                # No replicas here: the HPA owns the count, and `pulumi up` must not reset it.
                # Rolling, never below the serving count: a new pod starts and turns Ready (/ready) before an old
                # one stops. Across a schema change the schema Job's gate has stopped every old pod before Alembic
                # runs, so two releases never serve one schema (schema_gate.py; docs/upgrades-and-migrations.md, 'Upgrades').
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate", rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(
                        max_surge=ROLLING_SURGE, max_unavailable=0)),
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels, annotations={
                        **annotations, SECRETS_ANNOTATION: digest}),
                    spec=k8s.core.v1.PodSpecArgs(
                        # Open WebUI never calls the Kubernetes API: code run in a replica finds no token
                        automount_service_account_token=False,
                        termination_grace_period_seconds=PRE_STOP_SECONDS + 30,
                        topology_spread_constraints=[k8s.core.v1.TopologySpreadConstraintArgs(
                            max_skew=1, topology_key="kubernetes.io/hostname", when_unsatisfiable="ScheduleAnyway",
                            label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels))],
                        containers=[k8s.core.v1.ContainerArgs(
                            name="open-webui",
                            image=args.settings.image,
                            ports=[k8s.core.v1.ContainerPortArgs(container_port=HTTP_PORT, name="http")],
                            env=env,
                            resources=resources,
                            # /health answers once the server runs; /ready also pings the database and Redis.
                            # Liveness must never be /ready: a database blip would restart every pod at once.
                            startup_probe=self._http_probe("/health", period=10, failures=60),
                            liveness_probe=self._http_probe("/health", period=20, failures=3),
                            readiness_probe=self._http_probe("/ready", period=10, failures=3),
                            # Endpoints are removed while the pod still serves; uvicorn then finishes what it has.
                            lifecycle=k8s.core.v1.LifecycleArgs(pre_stop=k8s.core.v1.LifecycleHandlerArgs(
                                exec_=k8s.core.v1.ExecActionArgs(command=["sleep", str(PRE_STOP_SECONDS)]))),
                            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="data", mount_path=DATA_DIR)],
                            security_context=hardened(),
                        )],
                        volumes=[data_volume],
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=wait_for))

    def _scaling(self, name: str, args: OpenWebUIArgs, deployment: k8s.apps.v1.Deployment,
                 labels: dict[str, str]) -> None:
        """The HPA (min..max replicas on CPU) and the PodDisruptionBudget."""
        s = args.settings
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
            spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                    api_version="apps/v1", kind="Deployment", name=deployment.metadata.name),
                min_replicas=s.min_replicas, max_replicas=s.max_replicas,
                metrics=[k8s.autoscaling.v2.MetricSpecArgs(
                    type="Resource", resource=k8s.autoscaling.v2.ResourceMetricSourceArgs(
                        name="cpu", target=k8s.autoscaling.v2.MetricTargetArgs(
                            type="Utilization", average_utilization=s.cpu_target_percent)))]),
            opts=pulumi.ResourceOptions(parent=self))
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
            # maxUnavailable rather than minAvailable: with one replica a minAvailable of 1 would block
            # every node drain; this way drains go one pod at a time.
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=1, selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels)),
            opts=pulumi.ResourceOptions(parent=self))

    def _schema_job(self, name: str, args: OpenWebUIArgs, env: list[k8s.core.v1.EnvVarArgs],
                    data_volume: k8s.core.v1.VolumeArgs, resources: k8s.core.v1.ResourceRequirementsArgs,
                    labels: dict[str, str], annotations: dict[str, str], gate: "SchemaGate") -> k8s.batch.v1.Job:
        """One Job per image tag: Alembic runs once, not in every replica at once, before the Deployment rolls.

        See in_cluster/schema_job.py. The Job also fills the shared embedding model cache once: the image
        pre-downloads the model under the data directory, which the volume mount hides, so an init container copies
        it onto the volume (in_cluster/seed_model_cache.py). A changed env (the Ollama URLs) replaces the Job, so it
        runs again.
        """
        job_labels = {**labels, COMPONENT_LABEL: "migration"}
        return k8s.batch.v1.Job(
            f"{name}-migrate",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=schema_job_name(name, args.settings.image),
                                                namespace=args.namespace, labels=job_labels, annotations=annotations),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=2,
                active_deadline_seconds=1800,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=job_labels, annotations=annotations),
                    spec=k8s.core.v1.PodSpecArgs(
                        restart_policy="Never", service_account_name=gate.account,
                        # only the gate's container holds the token: migrate runs the release's code
                        automount_service_account_token=False,
                        init_containers=[k8s.core.v1.ContainerArgs(
                            name="seed-model-cache", image=args.settings.image,
                            command=gate.program(SEED_CACHE_SCRIPT, MODEL_CACHE, SHARED_MODEL_CACHE),
                            resources=resources, security_context=hardened(),
                            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="data", mount_path="/shared"),
                                           gate.programs_mount]),
                            gate.container("gate", args.settings.image, [e for e in env if e.name == "DATABASE_URL"],
                                           resources)],
                        containers=[k8s.core.v1.ContainerArgs(
                            name="migrate", image=args.settings.image, command=gate.program(SCHEMA_JOB_SCRIPT),
                            env=[*env, IMPORTABLE], resources=resources, security_context=hardened(),
                            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="data", mount_path=DATA_DIR),
                                           gate.programs_mount])],
                        volumes=[data_volume, *gate.volumes],
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.wait_for)))

    @staticmethod
    def _http_probe(path: str, period: int, failures: int) -> k8s.core.v1.ProbeArgs:
        return k8s.core.v1.ProbeArgs(
            http_get=k8s.core.v1.HTTPGetActionArgs(path=path, port=HTTP_PORT),
            period_seconds=period, failure_threshold=failures, timeout_seconds=5)


@dataclass(frozen=True)
class SchemaGate:
    """What the schema Job's gate and the resume Job share: the service account, the script, its env."""

    account: pulumi.Input[str]
    config_map: pulumi.Input[str]
    env: list[k8s.core.v1.EnvVarArgs]

    @property
    def volumes(self) -> list[k8s.core.v1.VolumeArgs]:
        """The script, and the service account's token for the gate's container alone."""
        return [k8s.core.v1.VolumeArgs(name="schema-gate", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
            name=self.config_map)), API_TOKEN_VOLUME]

    programs_mount = k8s.core.v1.VolumeMountArgs(name="schema-gate", mount_path="/schema-gate", read_only=True)

    @staticmethod
    def program(script: Path, *argv: str) -> list[str]:
        return ["python", f"/schema-gate/{script.name}", *argv]

    def container(self, step: str, image: str, env: list[k8s.core.v1.EnvVarArgs],
                  resources: k8s.core.v1.ResourceRequirementsArgs) -> k8s.core.v1.ContainerArgs:
        return k8s.core.v1.ContainerArgs(
            name=f"schema-{step}", image=image, command=self.program(GATE_SCRIPT, step),
            env=self.env + env, resources=resources, security_context=hardened(),
            volume_mounts=[self.programs_mount, API_TOKEN_MOUNT])
