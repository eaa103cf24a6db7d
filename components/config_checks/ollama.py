"""Ollama on the GPU pool: its images, requests and limits, replicas, models, disk and scheduling knobs."""

from __future__ import annotations

import re

from components.config_checks.app import check_quantities
from components.stack_config import StackConfig
from components.upgrade import unpinned


OLLAMA_MODEL = r"[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?"
GO_DURATION = r"-?\d+|(\d+(\.\d+)?(ns|us|ms|s|m|h))+"


def check_ollama(c: StackConfig) -> list[str]:
    errors = []
    for key in ("ollamaImage", "ollamaModelPullerImage"):
        if unpinned(c.value(key)):
            errors.append(f"{key}: {c.value(key)!r} has no pinned tag; a moving tag changes what runs on the next node "
                          "without a deploy. Use a release tag such as ollama/ollama:0.17.7.")
    errors += check_quantities(c, "ollama")
    if c.ollama_replicas < 1:
        errors.append(f"ollamaReplicas: {c.ollama_replicas} must be at least 1 while ollamaEnabled is true "
                      "(set ollamaEnabled to false to run no Ollama and no GPU pool).")
    if not c.ollama_models:
        errors.append("ollamaModels: is empty, so Open WebUI would have no model to chat with; name at least one, "
                      "e.g. `pulumi config set --path 'ollamaModels[0]' llama3.2:3b`.")
    for model in c.ollama_models:
        if not re.fullmatch(OLLAMA_MODEL, model):
            errors.append(f"ollamaModels: {model!r} is not an Ollama model name such as 'llama3.2:3b'.")
    if c.ollama_disk_gi < 4:
        errors.append(f"ollamaDiskGi: {c.ollama_disk_gi} GiB cannot hold even a small model; give at least 4.")
    if not re.fullmatch(GO_DURATION, c.ollama_keep_alive):
        errors.append(f"ollamaKeepAlive: {c.ollama_keep_alive!r} is not a duration Ollama reads, such as '5m', '1h' "
                      "or '-1' (forever).")
    for key in ("ollamaNumParallel", "ollamaMaxLoadedModels"):
        if c.value(key) < 1:
            errors.append(f"{key}: {c.value(key)} must be at least 1.")
    return errors
