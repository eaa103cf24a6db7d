"""DataMigration: a one-shot Job that carries an existing Open WebUI's data onto this stack before it starts.

It mounts the old deployment's claim read-only and the new shared volume and, each step verified and safe to run
again: carries a SQLite webui.db (users, chats, settings...) into the empty PostgreSQL database, at the image's
Alembic head by the image's own Alembic (in_cluster/migrate_database.py); copies the data directory across with
checksums (in_cluster/migrate_files.py: everything but cache/ and the SQLite files); moves the Chroma vectors into
pgvector (in_cluster/migrate_vectors.py); in_cluster/migrate_install.py runs them in that order. The scripts reach
the Job in a ConfigMap and run in the Open WebUI image, which ships Open WebUI's Alembic, chromadb, psycopg and numpy. It runs before the image's schema Job (open_webui.py),
which then only seeds the defaults the old admin never set and writes the stack-owned settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from components.connection_budget import POSTGRES_CONNECTIONS_ANNOTATION, POSTGRES_SERVER_ANNOTATION, PlainClient
from components.open_webui import DATA_DIR, IMPORTABLE, OpenWebUISettings
from components.pod_security import hardened
from in_cluster import PROGRAMS

SCRIPTS = ("migrate_install.py", "migrate_database.py", "migrate_files.py", "migrate_vectors.py",
           "migration_common.py", "alembic_revisions.py", "alembic_upgrade.py")
RESOURCES = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}
"""The migrator holds one batch of rows or vectors and Chroma's SQLite cache at a time: its memory does not grow
with the data. It runs once, before the replicas, so a generous limit costs nothing at the peak."""
MIGRATOR_CONNECTIONS = 1
"""The steps run one after another, each over one connection (the database step closes its own while Open WebUI's
Alembic brings the empty database to the head); the files step opens none."""
OLD_DATA = "/old-data"
REPORTS = f"{DATA_DIR}/.migration"


@dataclass(frozen=True)
class DataMigrationSettings:
    source_claim: str
    """The old Open WebUI's data claim, in the stack's namespace."""

    def workload(self, name: str) -> PlainClient:
        """The Job as the connection budget sees it."""
        return PlainClient(name, peak_replicas=1, per_pod=MIGRATOR_CONNECTIONS)


@dataclass
class DataMigrationArgs:
    settings: DataMigrationSettings
    webui: OpenWebUISettings
    """The image to run in, and the pgvector column and index settings the new Open WebUI will run with."""
    namespace: pulumi.Input[str]
    database_url: pulumi.Input[str]
    data_claim_name: pulumi.Input[str]
    postgres_server: str


class DataMigration(pulumi.ComponentResource):
    job: k8s.batch.v1.Job
    """Complete only once the database, every file and every vector is across and verified: the schema Job, and after
    it Open WebUI's Deployment, wait for it."""

    def __init__(self, name: str, args: DataMigrationArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:migration:DataMigration", name, None, opts)
        s, webui = args.settings, args.webui
        child = pulumi.ResourceOptions(parent=self)
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "data-migration"}
        annotations = {POSTGRES_SERVER_ANNOTATION: args.postgres_server,
                       POSTGRES_CONNECTIONS_ANNOTATION: str(MIGRATOR_CONNECTIONS)}

        secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
            string_data={"DATABASE_URL": pulumi.Output.secret(args.database_url)},
            opts=child)
        scripts = k8s.core.v1.ConfigMap(
            f"{name}-scripts",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{name}-scripts", namespace=args.namespace, labels=labels),
            data={script: (PROGRAMS / script).read_text() for script in SCRIPTS},
            opts=child)

        program = ["python", "/migrate/migrate_install.py", "--old-data", OLD_DATA, "--target", DATA_DIR,
                   "--reports", REPORTS, "--dimension", str(webui.pgvector_max_vector_length),
                   *(["--halfvec"] if webui.pgvector_use_halfvec else [])]
        # The new Open WebUI's own pgvector settings, so the migrator builds the index Open WebUI would.
        index_env = {k: v for k, v in webui.environment(schema_job=False).items() if k.startswith("PGVECTOR_INDEX")}

        self.job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels,
                                                annotations=annotations),
            spec=k8s.batch.v1.JobSpecArgs(
                # Both steps resume where they stopped, so a retry finishes the work instead of redoing it.
                backoff_limit=3,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels, annotations=annotations),
                    spec=k8s.core.v1.PodSpecArgs(
                        # it never calls the Kubernetes API: no token to steal from it
                        automount_service_account_token=False,
                        restart_policy="Never",
                        containers=[k8s.core.v1.ContainerArgs(
                            name="migrate", image=webui.image, command=program,
                            env=[k8s.core.v1.EnvVarArgs(name="DATABASE_URL", value_from=k8s.core.v1.EnvVarSourceArgs(
                                secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(
                                    name=secret.metadata.name, key="DATABASE_URL")))]
                            + [k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in index_env.items()]
                            + [k8s.core.v1.EnvVarArgs(name="TMPDIR", value="/scratch"), IMPORTABLE],
                            resources=k8s.core.v1.ResourceRequirementsArgs(
                                requests=RESOURCES["requests"], limits=RESOURCES["limits"]),
                            security_context=hardened(),
                            volume_mounts=[
                                k8s.core.v1.VolumeMountArgs(name="old-data", mount_path=OLD_DATA, read_only=True),
                                k8s.core.v1.VolumeMountArgs(name="data", mount_path=DATA_DIR),
                                k8s.core.v1.VolumeMountArgs(name="scripts", mount_path="/migrate", read_only=True),
                                # The migrator opens a private copy of the Chroma store here: Chroma writes to
                                # any store it opens, and the old one must stay as it is.
                                k8s.core.v1.VolumeMountArgs(name="scratch", mount_path="/scratch"),
                            ],
                        )],
                        volumes=[
                            k8s.core.v1.VolumeArgs(name="old-data", persistent_volume_claim=(
                                k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(claim_name=s.source_claim,
                                                                                  read_only=True))),
                            k8s.core.v1.VolumeArgs(name="data", persistent_volume_claim=(
                                k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(claim_name=args.data_claim_name))),
                            k8s.core.v1.VolumeArgs(name="scripts", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                                name=scripts.metadata.name)),
                            k8s.core.v1.VolumeArgs(name="scratch", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs()),
                        ],
                    ),
                ),
            ),
            # A large store takes a while; the provider's 10-minute default would fail a healthy migration.
            opts=pulumi.ResourceOptions(parent=self, custom_timeouts=pulumi.CustomTimeouts(create="120m")))
        self.register_outputs({})
