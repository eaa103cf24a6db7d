"""The model-puller script (in_cluster/ollama_pull.py) against a local server speaking Ollama's documented API.

The server answers GET /api/version, GET /api/tags and POST /api/pull (streamed JSON lines) on 127.0.0.1 the
way Ollama does; it never touches the network. The script runs as the pod runs it: a separate Python process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator, Optional

import pytest

from in_cluster import ollama_pull
from components.ollama import PULL_SCRIPT


class FakeOllama(ThreadingHTTPServer):
    def __init__(self, installed: list[str], failing: Optional[dict[str, str]] = None, up_after: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.installed = list(installed)
        self.failing = failing or {}
        self.up_at = time.monotonic() + up_after
        self.pulled: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: FakeOllama

    def log_message(self, *args: object) -> None:
        pass

    def _json(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if time.monotonic() < self.server.up_at:  # still starting: not listening for the API yet
            self._json(503, {"error": "starting"})
        elif self.path == "/api/version":
            self._json(200, {"version": "0.17.7"})
        elif self.path == "/api/tags":
            self._json(200, {"models": [{"name": m, "model": m, "size": 2019393189} for m in self.server.installed]})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        model = request["model"]
        self.server.pulled.append(model)
        if model in self.server.failing and self.server.failing[model] == "http":
            self._json(500, {"error": f"pull model manifest: file does not exist: {model}"})
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        lines: list[dict[str, object]] = [{"status": "pulling manifest"}]
        if model in self.server.failing:
            lines.append({"error": self.server.failing[model]})
        else:
            lines += [{"status": "pulling dd3e", "digest": "sha256:dd3e", "total": 1000, "completed": c}
                      for c in (0, 250, 500, 1000)]
            lines += [{"status": "verifying sha256 digest"}, {"status": "writing manifest"}, {"status": "success"}]
            self.server.installed.append(model)
        for line in lines:
            self.wfile.write(json.dumps(line).encode() + b"\n")
            self.wfile.flush()


@pytest.fixture
def ollama(request: pytest.FixtureRequest) -> Iterator[FakeOllama]:
    server = FakeOllama(**getattr(request, "param", {"installed": []}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_script(url: str, models: str, ready: Path, wait: float = 10) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(PULL_SCRIPT), "--url", url, "--models", models,
                           "--ready-file", str(ready), "--wait-seconds", str(wait)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("ollama", [{"installed": ["llama3.2:3b"]}], indirect=True)
def test_present_models_are_not_pulled_again(ollama: FakeOllama, tmp_path: Path) -> None:
    result = run_script(ollama.url, "llama3.2:3b", tmp_path / "ready")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ollama.pulled == []
    assert (tmp_path / "ready").exists()
    assert "1 of 1 model(s) already present" in result.stdout


@pytest.mark.parametrize("ollama", [{"installed": ["llama3.2:3b"]}], indirect=True)
def test_a_changed_list_pulls_only_what_is_new(ollama: FakeOllama, tmp_path: Path) -> None:
    result = run_script(ollama.url, "llama3.2:3b,nomic-embed-text", tmp_path / "ready")
    assert result.returncode == 0, result.stdout + result.stderr
    # an untagged name is Ollama's ':latest'
    assert ollama.pulled == ["nomic-embed-text:latest"]
    assert "nomic-embed-text:latest: pulling dd3e 50%" in result.stdout
    assert "nomic-embed-text:latest: success" in result.stdout


@pytest.mark.parametrize("ollama", [{"installed": [], "failing": {"llama9:70b": "pull model manifest: file does not "
                                                                                 "exist"}}], indirect=True)
def test_an_error_line_fails_the_gate(ollama: FakeOllama, tmp_path: Path) -> None:
    result = run_script(ollama.url, "llama3.2:3b,llama9:70b", tmp_path / "ready")
    assert result.returncode == 1
    assert "FAILED: pulling llama9:70b failed: pull model manifest: file does not exist" in result.stdout
    assert not (tmp_path / "ready").exists()  # the pod stays unready


@pytest.mark.parametrize("ollama", [{"installed": [], "failing": {"x:1b": "http"}}], indirect=True)
def test_an_http_error_fails_with_ollamas_message(ollama: FakeOllama, tmp_path: Path) -> None:
    result = run_script(ollama.url, "x:1b", tmp_path / "ready")
    assert result.returncode == 1
    assert "file does not exist: x:1b" in result.stdout


@pytest.mark.parametrize("ollama", [{"installed": [], "up_after": 1.5}], indirect=True)
def test_waits_for_the_server_before_pulling(ollama: FakeOllama, tmp_path: Path) -> None:
    result = run_script(ollama.url, "llama3.2:3b", tmp_path / "ready")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ollama.pulled == ["llama3.2:3b"]


def test_a_server_that_never_answers_fails_within_its_deadline(tmp_path: Path) -> None:
    with FakeOllama([]) as closed:
        url = closed.url  # bound, then closed: nothing listens there
    started = time.monotonic()
    result = run_script(url, "llama3.2:3b", tmp_path / "ready", wait=2)
    assert result.returncode == 1
    assert "did not answer /api/version within 2 s" in result.stdout
    assert time.monotonic() - started < 30


def test_canonical_names() -> None:
    assert ollama_pull.canonical("llama3.2") == "llama3.2:latest"
    assert ollama_pull.canonical("llama3.2:3b") == "llama3.2:3b"
    assert ollama_pull.canonical("registry.example:5000/team/model") == "registry.example:5000/team/model:latest"
