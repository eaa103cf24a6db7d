"""Pulls the configured models into a running Ollama server, then (with --hold) stays up as the pod's gate.

Runs as the `model-puller` container beside `ollama serve` in every Ollama pod (the Ollama component ships this
file in a ConfigMap). It waits for the server's own API (GET /api/version) before anything else, so it never
races the server's start; asks which models are present (GET /api/tags) and pulls only the missing ones
(POST /api/pull, streamed JSON lines); then checks /api/tags again and writes its ready file. The container's
readiness probe is that file: the pod turns Ready only once every model is there. A failed pull exits 1 with
Ollama's own error in the log, the container restarts with back-off and the pod stays unready.

Standard library only: it runs in a plain Python image.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import urllib.error
import urllib.request
from typing import Any, Iterator

PULL_READ_TIMEOUT = 600
"""Seconds without a single progress line before a pull counts as stalled."""


class PullError(RuntimeError):
    pass


def log(message: str) -> None:
    print(f"ollama-pull: {message}", flush=True)


def canonical(model: str) -> str:
    """Ollama's name for a model: a name without a tag means its 'latest' tag."""
    last = model.rsplit("/", 1)[-1]
    return model if ":" in last else f"{model}:latest"


def wait_for_server(url: str, wait_seconds: float) -> str:
    deadline = time.monotonic() + wait_seconds
    last_error = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/version", timeout=5) as response:
                return str(json.load(response).get("version", "?"))
        except (OSError, ValueError) as e:
            last_error = str(e)
        time.sleep(1)
    raise PullError(f"the Ollama server at {url} did not answer /api/version within {wait_seconds:.0f} s "
                    f"({last_error}); see the ollama container's log")


def present(url: str) -> set[str]:
    with urllib.request.urlopen(f"{url}/api/tags", timeout=30) as response:
        return {canonical(str(m.get("name") or m.get("model"))) for m in json.load(response).get("models", [])}


def _lines(request: urllib.request.Request) -> Iterator[dict[str, Any]]:
    try:
        with urllib.request.urlopen(request, timeout=PULL_READ_TIMEOUT) as response:
            for raw in response:
                if raw.strip():
                    yield json.loads(raw)
    except urllib.error.HTTPError as e:
        body = e.read().decode(errors="replace")
        try:
            yield json.loads(body)
        except ValueError:
            yield {"error": f"HTTP {e.code}: {body.strip() or e.reason}"}


def pull(url: str, model: str) -> None:
    request = urllib.request.Request(f"{url}/api/pull", data=json.dumps({"model": model, "stream": True}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    status, shown = "", -1
    for line in _lines(request):
        if "error" in line:
            raise PullError(f"pulling {model} failed: {line['error']}")
        status = str(line.get("status", status))
        total, completed = line.get("total"), line.get("completed")
        if total and completed is not None:
            percent = int(100 * completed / total) // 10 * 10
            if percent != shown:  # one line per 10%: a log, not a flood
                shown = percent
                log(f"{model}: {status} {percent}%")
        elif status:
            shown = -1
            log(f"{model}: {status}")
    if status != "success":
        raise PullError(f"pulling {model} ended without success (last status: {status or 'none'})")


def ensure(url: str, models: list[str], wait_seconds: float) -> list[str]:
    """Makes every model present; returns the ones it had to pull."""
    log(f"waiting for the Ollama server at {url}")
    log(f"server {wait_for_server(url, wait_seconds)} is up")
    wanted = [canonical(m) for m in models]
    missing = [m for m in wanted if m not in present(url)]
    log(f"{len(wanted) - len(missing)} of {len(wanted)} model(s) already present; pulling {missing or 'none'}")
    for model in missing:
        pull(url, model)
    still_missing = [m for m in wanted if m not in present(url)]
    if still_missing:
        raise PullError(f"after pulling, the server still lacks {', '.join(still_missing)}")
    return missing


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:11434")
    parser.add_argument("--models", required=True, help="comma-separated, e.g. llama3.2:3b,nomic-embed-text")
    parser.add_argument("--wait-seconds", type=float, default=600)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--hold", action="store_true", help="stay running after success (the pod's gate)")
    args = parser.parse_args(argv)
    try:
        ensure(args.url.rstrip("/"), [m.strip() for m in args.models.split(",") if m.strip()], args.wait_seconds)
    except (PullError, OSError, ValueError) as e:
        log(f"FAILED: {e}")
        return 1
    with open(args.ready_file, "w") as ready:
        ready.write("ready\n")
    log("every model is present; ready")
    if args.hold:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while True:
            signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
