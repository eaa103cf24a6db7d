"""What the stack renders, made runnable on this machine: the pure part of `make e2e`.

`make plan` writes the Kubernetes objects to build/<stack>/manifests/ with every secret value redacted. This
module reads them (never a copy) and turns a container into a local process: its command, its env with each
`secretKeyRef` filled from local values shaped as the Secret carries them, the pod's own name and namespace
from the downward API, `$(VAR)` expanded as the kubelet expands it, and every container path under a volume mount
(or in the image) mapped to a local directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from components.open_webui import COMPONENT_LABEL as COMPONENT_LABEL  # the label the program renders

NAME_LABEL = "app.kubernetes.io/name"


class RenderedError(ValueError):
    """The manifests lack something the run needs (with what to do about it)."""


@dataclass(frozen=True)
class Container:
    """One container of a rendered workload, as the kubelet would start it."""

    name: str
    image: str
    command: tuple[str, ...]
    """The rendered command + args; empty when the image's own entrypoint runs."""
    env: Mapping[str, str]
    """Plain values and secretKeyRefs, resolved."""
    mounts: Mapping[str, str]
    """Container path -> volume name."""
    resources: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """requests and limits, as rendered."""


@dataclass(frozen=True)
class Workload:
    kind: str
    name: str
    init_containers: tuple[Container, ...]
    containers: tuple[Container, ...]
    config_maps: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Volume name -> the files of the ConfigMap it mounts."""

    def program(self, container: Container) -> tuple[str, str, str]:
        """The script a container runs (`python /mount/script.py ...`): its ConfigMap's volume, file name and text."""
        directory, _, file = container.command[1].rpartition("/")
        volume = container.mounts[directory]
        return volume, file, self.config_maps[volume][file]


def load_manifests(directory: Path) -> list[dict[str, Any]]:
    if not directory.is_dir():
        raise RenderedError(f"{directory} does not exist: run `make plan` first (make e2e does)")
    return [yaml.safe_load(path.read_text()) for path in sorted(directory.glob("*.yaml"))]


def secret_keys(objects: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """(Secret name, key) -> the rendered value ('[secret]' once redacted)."""
    return {(o["metadata"]["name"], key): str(value) for o in objects if o["kind"] == "Secret"
            for key, value in (o.get("stringData") or {}).items()}


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' $(VAR) expansion in command and args: a known name is replaced, $$ escapes, others stay."""
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)


def _container(raw: dict[str, Any], secrets: Mapping[tuple[str, str], str], rendered_keys: set[tuple[str, str]],
               owner: str, namespace: str, pod: str) -> Container:
    env: dict[str, str] = {}
    fields = {"metadata.namespace": namespace, "metadata.name": pod}
    for entry in raw.get("env", []):
        if "value" in entry:
            # a value may name the variables before it, as $(VAR)
            env[entry["name"]] = expand(str(entry["value"]), env)
            continue
        field_path = entry.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
        if field_path in fields:
            env[entry["name"]] = fields[field_path]
            continue
        ref = entry.get("valueFrom", {}).get("secretKeyRef")
        if ref is None:
            raise RenderedError(f"{owner}: env {entry['name']} has a valueFrom this run cannot resolve: {entry}")
        key = (ref["name"], ref["key"])
        if key not in rendered_keys:
            raise RenderedError(f"{owner}: env {entry['name']} refers to Secret {ref['name']} key {ref['key']}, "
                                "which the manifests do not declare")
        if key not in secrets:
            raise RenderedError(f"{owner}: no local value for Secret {ref['name']} key {ref['key']} "
                                f"(env {entry['name']}): e2e/services.py local_secrets must provide it")
        env[entry["name"]] = secrets[key]
    command = tuple(expand(part, env) for part in (*raw.get("command", []), *raw.get("args", [])))
    mounts = {m["mountPath"]: m["name"] for m in raw.get("volumeMounts", [])}
    return Container(name=raw["name"], image=raw["image"], command=command, env=env, mounts=mounts,
                     resources=raw.get("resources", {}))


def workload(objects: list[dict[str, Any]], kind: str, labels: Mapping[str, str],
             secrets: Mapping[tuple[str, str], str], pod: str = "") -> Workload:
    """The one object of `kind` whose labels are exactly `labels` on the keys given (COMPONENT_LABEL absent when
    not given), with its containers resolved in the pod named (by default, the object's own name)."""
    def matches(o: dict[str, Any]) -> bool:
        own = o["metadata"].get("labels", {})
        return o["kind"] == kind and all(own.get(k) == v for k, v in labels.items()) and \
            (COMPONENT_LABEL in labels or COMPONENT_LABEL not in own)

    found = [o for o in objects if matches(o)]
    if len(found) != 1:
        raise RenderedError(f"expected one {kind} labelled {dict(labels)} in the manifests, found {len(found)}")
    o = found[0]
    name = o["metadata"]["name"]
    spec = o["spec"]["template"]["spec"]
    rendered_keys = set(secret_keys(objects))
    owner, namespace = f"{kind}/{name}", o["metadata"].get("namespace", "")
    maps = {m["metadata"]["name"]: m.get("data", {}) for m in objects if m["kind"] == "ConfigMap"}
    return Workload(
        kind=kind, name=name,
        init_containers=tuple(_container(c, secrets, rendered_keys, owner, namespace, pod or name)
                              for c in spec.get("initContainers", [])),
        containers=tuple(_container(c, secrets, rendered_keys, owner, namespace, pod or name)
                         for c in spec["containers"]),
        config_maps={v["name"]: maps[v["configMap"]["name"]] for v in spec.get("volumes", []) if "configMap" in v})


def localize(text: str, paths: Mapping[str, Path]) -> str:
    """Maps container paths to local ones in one pass, the longest container path first (a mount inside the image's
    tree hides the image's own files there, as in the pod). Only whole path components match."""
    by_path = {p.rstrip("/"): local for p, local in paths.items()}
    pattern = "|".join(re.escape(p) for p in sorted(by_path, key=len, reverse=True))
    return re.sub(rf"(?<![\w./-])({pattern})(?![\w.-])", lambda m: str(by_path[m.group(1)]), text)


def local_paths(container: Container, volumes: Mapping[str, Path], image_root: Path) -> dict[str, Path]:
    """Container path -> local path: each mount to its volume's directory, everything else to the image's tree."""
    missing = [v for v in container.mounts.values() if v not in volumes]
    if missing:
        raise RenderedError(f"container {container.name} mounts volume(s) {missing} with no local directory")
    return {"/app": image_root / "app", **{path: volumes[v] for path, v in container.mounts.items()}}
