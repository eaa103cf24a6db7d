"""What Kubernetes does during an upgrade, played with local processes: the Deployment's controller (scale, a rolling
update with maxSurge 1 and maxUnavailable 0, preStop before SIGTERM), its Service (requests only to Ready pods, each
one logged with the release that answered it), and the few API calls the schema gate makes (GET and PATCH of the
Deployment and its scale, the pods' list), with the shapes the API server returns. `make e2e-upgrade` only."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import aiohttp
from aiohttp import web

from components.open_webui import PRE_STOP_SECONDS, ROLLING_SURGE
from e2e import api
from e2e.services import Process
from testing.postgres_server import free_port

READY_SECONDS = 180


@dataclass
class Pod:
    name: str
    release: str
    process: Process
    url: str
    ready: bool = False


@dataclass
class Served:
    """One request through the Service: when it ended, which release answered, and its status (0: no answer)."""

    ended: float
    release: str
    status: int


@dataclass
class LocalCluster:
    """start(release, index) -> (process, url) starts one pod of the Deployment's container for a release."""

    namespace: str
    deployment: str
    start_pod: Callable[[str, int], tuple[Process, str]]
    release: str
    replicas: int = 0
    pods: list[Pod] = field(default_factory=list)
    served: list[Served] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)
    _names: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.service_port, self.api_port = free_port(), free_port()
        self.service_url = f"http://127.0.0.1:{self.service_port}"
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()
        self._ready.wait(30)

    # -- the controller --------------------------------------------------------------------------------------------

    def event(self, text: str) -> None:
        self.events.append((time.monotonic(), text))
        print(f"   [{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def _launch(self) -> Pod:
        index = next(self._names)
        process, url = self.start_pod(self.release, index)
        pod = Pod(f"{self.deployment}-{self.release}-{index}", self.release, process, url)
        with self._lock:
            self.pods.append(pod)
        return pod

    def _await_ready(self, pod: Pod) -> None:
        """The readiness probe (/ready): only then does the Service send it requests."""
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline and pod.process.alive():
            try:
                if api.request(pod.url, "GET", "/ready", timeout=5).status == 200:
                    pod.ready = True
                    self.event(f"pod {pod.name} Ready")
                    return
            except OSError:
                pass  # not listening yet
            time.sleep(1)
        raise RuntimeError(f"pod {pod.name} never turned Ready:\n{pod.process.tail()}")

    def _stop(self, pods: list[Pod]) -> None:
        """Out of the Service's endpoints first, then preStop, then SIGTERM (uvicorn finishes what it has)."""
        for pod in pods:
            pod.ready = False
        time.sleep(PRE_STOP_SECONDS)
        for pod in pods:
            pod.process.stop()
            with self._lock:
                self.pods.remove(pod)
            self.event(f"pod {pod.name} stopped")

    def scale(self, replicas: int) -> None:
        self.event(f"scale {self.deployment} to {replicas}")
        self.replicas = replicas
        threading.Thread(target=self._reconcile, daemon=True).start()

    def _reconcile(self) -> None:
        if len(self.pods) > self.replicas:
            self._stop(self.pods[self.replicas:])
        started = [self._launch() for _ in range(self.replicas - len(self.pods))]
        for pod in started:
            self._await_ready(pod)

    def roll_out(self, release: str) -> None:
        """The Deployment's update to a new release: rolling, never below the serving count."""
        self.event(f"roll {self.deployment} out to {release} ({self.replicas} replicas)")
        self.release = release
        old = [p for p in self.pods if p.release != release]
        for i in range(0, len(old), ROLLING_SURGE):
            surge = [self._launch() for _ in old[i:i + ROLLING_SURGE]]
            for pod in surge:
                self._await_ready(pod)
            self._stop(old[i:i + ROLLING_SURGE])

    # -- the Service and the API ------------------------------------------------------------------------------------

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        service = web.Application(client_max_size=64 * 1024 * 1024)
        service.router.add_route("*", "/{path:.*}", self._proxy)
        control = web.Application()
        prefix = f"/apis/apps/v1/namespaces/{self.namespace}/deployments/{self.deployment}"
        # what the schema gate's service account may reach, and nothing else (its Role: deployments/scale, pods)
        control.router.add_get(prefix + "/scale", self._get_scale)
        control.router.add_patch(prefix + "/scale", self._patch_scale)
        control.router.add_get(f"/api/v1/namespaces/{self.namespace}/pods", self._list_pods)
        for app, port in ((service, self.service_port), (control, self.api_port)):
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()

    async def _proxy(self, request: web.Request) -> web.StreamResponse:
        ready = [p for p in self.pods if p.ready]
        if not ready:
            self.served.append(Served(time.monotonic(), "", 0))
            return web.Response(status=503, text="no endpoints")
        pod = ready[len(self.served) % len(ready)]
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        try:
            async with self._session.request(request.method, pod.url + request.path_qs, headers=headers,
                                             data=await request.read()) as upstream:
                body = await upstream.read()
                self.served.append(Served(time.monotonic(), pod.release, upstream.status))
                return web.Response(status=upstream.status, body=body, headers={
                    k: v for k, v in upstream.headers.items()
                    if k.lower() not in ("content-length", "transfer-encoding", "content-encoding", "connection")})
        except aiohttp.ClientError:
            self.served.append(Served(time.monotonic(), pod.release, 0))
            return web.Response(status=502, text="upstream failed")

    def _scale(self) -> dict[str, Any]:
        return {"kind": "Scale", "metadata": {"name": self.deployment, "namespace": self.namespace},
                "spec": {"replicas": self.replicas}, "status": {"replicas": len(self.pods)}}

    async def _get_scale(self, _: web.Request) -> web.Response:
        return web.json_response(self._scale())

    async def _patch_scale(self, request: web.Request) -> web.Response:
        self.scale(int((await request.json())["spec"]["replicas"]))
        return web.json_response(self._scale())

    async def _list_pods(self, request: web.Request) -> web.Response:
        selector = dict(urllib.parse.parse_qsl(request.query_string)).get("labelSelector", "")
        if "app.kubernetes.io/name=" not in selector:
            return web.json_response({"kind": "PodList", "items": []})
        return web.json_response({"kind": "PodList", "items": [
            {"metadata": {"name": p.name}, "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": str(p.ready)}]}} for p in list(self.pods)]})

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._session.close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)


def longest_gap(served: list[Served], since: float, until: float) -> float:
    """The longest time in [since, until] with no successful answer through the Service."""
    ok = sorted(s.ended for s in served if s.status and s.status < 400 and since <= s.ended <= until)
    marks = [since, *ok, until]
    return max((b - a for a, b in zip(marks, marks[1:])), default=until - since)


def old_after(served: list[Served], release: str, moment: Optional[float]) -> int:
    """Requests the given release answered after the moment (Alembic's start): must be none."""
    return 0 if moment is None else sum(1 for s in served if s.release == release and s.ended > moment)
