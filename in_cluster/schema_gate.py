"""The schema gate of an Open WebUI upgrade: two releases never serve one schema, and an upgrade that keeps the schema
never stops serving.

Runs in the release's own image (it has Alembic and SQLAlchemy), shipped by the OpenWebUI component in a ConfigMap:

- `gate`, the schema Job's init container, before Alembic: reads the database's revision (alembic_version) and the
  image's Alembic head. Equal, or a new database: nothing to do, the Deployment then rolls (maxUnavailable 0). They
  differ: a schema change. It scales the Deployment to 0 (an HPA leaves a Deployment at 0 alone) and waits until no
  pod of it is left; only then does Alembic run.
- `resume`, the Job after the Deployment's update: a Deployment at 0 goes back to minReplicas, and the Job ends when
  a pod of the new release is Ready; the HPA is in charge again and scales up to what the load wants.

It touches nothing but the Deployment's scale subresource and reads the pods' list: its service account may do only
that (components/open_webui.py), so its token could not rewrite the pod template, the image or its Secrets.

It reads the database's revision rather than the stack's last outputs: the database is what the schema is, whatever
was restored, rolled back or edited since. Standard library, SQLAlchemy and Alembic only; the Kubernetes API with the
Job's service account (KUBERNETES_API_URL overrides the in-cluster address, as `make e2e-upgrade` does).
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Optional

try:
    from in_cluster.alembic_revisions import installed_head
except ImportError:  # a script beside it in the schema gate's ConfigMap
    from alembic_revisions import installed_head  # type: ignore[no-redef,import-not-found]

ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
POLL_SECONDS = 2


def log(message: str) -> None:
    print(f"schema-gate: {message}", flush=True)


def image_head() -> str:
    """The Alembic head of the Open WebUI this image holds, read from its migration files."""
    return installed_head()


def database_revision(url: str) -> Optional[str]:
    """The database's Alembic revision; None for a database Open WebUI never started on."""
    import sqlalchemy

    # the sync driver Open WebUI itself uses; one connection, closed before Alembic opens its own
    engine = sqlalchemy.create_engine(sqlalchemy.engine.make_url(url).set(drivername="postgresql+psycopg2"),
                                      poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as conn:
            if conn.execute(sqlalchemy.text("SELECT to_regclass('alembic_version')")).scalar() is None:
                return None
            return conn.execute(sqlalchemy.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


class Kubernetes:
    def __init__(self) -> None:
        self.base = os.environ.get("KUBERNETES_API_URL") or (
            f"https://{os.environ['KUBERNETES_SERVICE_HOST']}:{os.environ['KUBERNETES_SERVICE_PORT']}")
        token = ACCOUNT / "token"
        self.headers = {"Authorization": f"Bearer {token.read_text().strip()}"} if token.exists() else {}
        ca = ACCOUNT / "ca.crt"
        self.context = ssl.create_default_context(cafile=str(ca)) if ca.exists() else None

    def call(self, method: str, path: str, body: Optional[dict[str, Any]] = None,
             content_type: str = "application/merge-patch+json") -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {**self.headers, **({"Content-Type": content_type} if data else {})}
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=30, context=self.context) as response:
            return json.loads(response.read() or b"{}")


def scale_path(namespace: str, name: str) -> str:
    return f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"


def ready_pods(api: Kubernetes, namespace: str, selector: str) -> tuple[int, int]:
    """(pods, Ready pods) of the selector."""
    pods = api.call("GET", f"/api/v1/namespaces/{namespace}/pods?labelSelector={selector}")["items"]
    ready = sum(1 for p in pods if any(c.get("type") == "Ready" and c.get("status") == "True"
                                      for c in (p.get("status") or {}).get("conditions") or []))
    return len(pods), ready


def gate(api: Callable[[], Kubernetes], namespace: str, deployment: str, selector: str, url: str,
         deadline: float) -> str:
    head, current = image_head(), database_revision(url)
    if current is None or current == head:
        log(f"schema unchanged (database {current or 'new'}, image {head}): the Deployment rolls")
        return "rolling"
    kubernetes = api()
    try:
        replicas = int(kubernetes.call("GET", scale_path(namespace, deployment))["spec"].get("replicas", 0))
    except urllib.error.HTTPError as e:
        if e.code != 404:
            raise
        replicas = 0
    log(f"schema change {current} -> {head}: stopping {deployment} ({replicas} replicas) before Alembic runs")
    if replicas:
        kubernetes.call("PATCH", scale_path(namespace, deployment), {"spec": {"replicas": 0}})
    while time.monotonic() < deadline:
        if ready_pods(kubernetes, namespace, selector)[0] == 0:
            log("no pod of the old release is left: Alembic may run")
            return "recreate"
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"pods of {deployment} still running at the deadline")


def resume(api: Kubernetes, namespace: str, deployment: str, selector: str, min_replicas: int,
           deadline: float) -> None:
    if int(api.call("GET", scale_path(namespace, deployment))["spec"].get("replicas", 0)) > 0:
        log(f"{deployment} was not stopped: nothing to resume")
        return
    log(f"starting {deployment} again at {min_replicas} replicas (minReplicas; the HPA takes it from there)")
    api.call("PATCH", scale_path(namespace, deployment), {"spec": {"replicas": min_replicas}})
    while time.monotonic() < deadline:
        ready = ready_pods(api, namespace, selector)[1]
        if ready >= 1:
            log(f"{deployment} serves again ({ready} Ready)")
            return
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"{deployment} has no Ready pod at the deadline")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("step", choices=("gate", "resume"))
    parser.add_argument("--deadline-seconds", type=float, default=900)
    args = parser.parse_args(argv)
    env = os.environ
    deadline = time.monotonic() + args.deadline_seconds
    if args.step == "gate":
        gate(Kubernetes, env["NAMESPACE"], env["DEPLOYMENT"], env["POD_SELECTOR"], env["DATABASE_URL"], deadline)
    else:
        resume(Kubernetes(), env["NAMESPACE"], env["DEPLOYMENT"], env["POD_SELECTOR"], int(env["MIN_REPLICAS"]),
               deadline)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
