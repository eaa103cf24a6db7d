"""Open WebUI: its image, requests and limits, replicas, pools, vector store and embedding model."""

from __future__ import annotations

import re

from components.node_capacity import CPU, MEMORY, cpu_millicores, memory_bytes
from components.open_webui import MEASURED_PEAK_RESIDENT
from components.stack_config import StackConfig
from components.upgrade import unpinned


VECTOR_DBS = ("pgvector", "chroma")
INDEX_METHODS = ("hnsw", "ivfflat")
PGVECTOR_MAX_DIMENSIONS = 2000
HALFVEC_MAX_DIMENSIONS = 4000


def check_quantities(c: StackConfig, prefix: str) -> list[str]:
    errors = []
    # the grammar node_capacity.py reads the requests with
    for key, pattern, example in (("cpuRequest", CPU, "100m"), ("cpuLimit", CPU, "2"),
                                  ("memoryRequest", MEMORY, "256Mi"), ("memoryLimit", MEMORY, "2Gi")):
        key = f"{prefix}{key[0].upper()}{key[1:]}" if prefix else key
        if not pattern.fullmatch(c.value(key)):
            errors.append(f"{key}: {c.value(key)!r} is not a Kubernetes quantity such as {example!r}.")
    if errors:
        return errors
    for resource, amount in (("cpu", cpu_millicores), ("memory", memory_bytes)):
        request, limit = (f"{prefix}{resource.capitalize()}{kind}" if prefix else f"{resource}{kind}"
                          for kind in ("Request", "Limit"))
        if amount(c.value(request)) > amount(c.value(limit)):
            errors.append(f"{request}/{limit}: the request {c.value(request)} is above the limit {c.value(limit)}; "
                          "Kubernetes refuses such a pod. Raise the limit or lower the request.")
    return errors


def check_app(c: StackConfig) -> list[str]:
    errors = []
    if unpinned(c.image):
        errors.append(f"image: {c.image!r} has no pinned tag; a moving tag lets replicas run different versions "
                      "and skips the per-tag schema Job. Use a release tag such as ghcr.io/open-webui/open-webui:v0.12.4.")
    errors += check_quantities(c, "")
    if MEMORY.fullmatch(c.memory_limit) and memory_bytes(c.memory_limit) < memory_bytes(MEASURED_PEAK_RESIDENT):
        errors.append(f"memoryLimit: {c.memory_limit} is under the {MEASURED_PEAK_RESIDENT} a replica holds at its "
                      "peak (measured by `make e2e` on Open WebUI 0.12.4): the kernel would kill it at the limit and "
                      f"the pod crash-loop. Give at least {MEASURED_PEAK_RESIDENT}; the default is 2Gi.")
    if c.min_replicas < 1:
        errors.append(f"minReplicas: {c.min_replicas} must be at least 1.")
    if c.min_replicas > c.max_replicas:
        errors.append(f"minReplicas/maxReplicas: min {c.min_replicas} is above max {c.max_replicas}; "
                      "the HPA would refuse it.")
    if not 1 <= c.cpu_target_percent <= 100:
        errors.append(f"cpuTargetPercent: {c.cpu_target_percent} must be a percentage from 1 to 100.")
    if c.uvicorn_workers < 1:
        errors.append(f"uvicornWorkers: {c.uvicorn_workers} must be at least 1.")
    for key in ("databasePoolSize", "pgvectorPoolSize"):
        if c.value(key) == 0:
            errors.append(f"{key}: 0 makes SQLAlchemy use a NullPool, one connection per concurrent use with no "
                          "upper bound, so no connection budget can hold; set a size of 1 or more.")
    for key in ("databasePoolSize", "databasePoolMaxOverflow", "pgvectorPoolSize", "pgvectorPoolMaxOverflow",
                "databasePoolTimeout", "databasePoolRecycle"):
        if c.value(key) < 0:
            errors.append(f"{key}: {c.value(key)} is negative.")
    if c.vector_db not in VECTOR_DBS:
        errors.append(f"vectorDb: {c.vector_db!r} must be one of {', '.join(VECTOR_DBS)}.")
    elif c.vector_db == "chroma" and c.max_replicas > 1:
        errors.append(f"vectorDb: chroma keeps its vectors in SQLite on the shared volume, whose locking breaks on "
                      f"SMB with {c.max_replicas} replicas writing; use pgvector, or set maxReplicas to 1.")
    if c.pgvector_index_method not in INDEX_METHODS:
        errors.append(f"pgvectorIndexMethod: {c.pgvector_index_method!r} must be one of {', '.join(INDEX_METHODS)}.")
    length = c.pgvector_max_vector_length
    if length < 1:
        errors.append(f"pgvectorMaxVectorLength: {length} must be the embedding model's dimension (384 for all-MiniLM-L6-v2).")
    elif length > PGVECTOR_MAX_DIMENSIONS and not c.pgvector_use_halfvec:
        errors.append(f"pgvectorMaxVectorLength: {length} dimensions cannot be indexed as pgvector's vector type "
                      f"(at most {PGVECTOR_MAX_DIMENSIONS}); set pgvectorUseHalfvec to true (up to {HALFVEC_MAX_DIMENSIONS}).")
    elif length > HALFVEC_MAX_DIMENSIONS:
        errors.append(f"pgvectorMaxVectorLength: {length} dimensions exceed halfvec's index limit of {HALFVEC_MAX_DIMENSIONS}.")
    if not c.embedding_model.strip():
        errors.append("embeddingModel: empty; Open WebUI would start with no model to embed documents or queries, and "
                      "every upload and retrieval would fail. Set a sentence-transformers model, e.g. "
                      "sentence-transformers/all-MiniLM-L6-v2 (384 dimensions: pgvectorMaxVectorLength).")
    if c.ollama_base_url and not re.match(r"^https?://[^;\s]+$", c.ollama_base_url):
        errors.append(f"ollamaBaseUrl: {c.ollama_base_url!r} must be one http(s) URL, e.g. http://ollama.example:11434.")
    return errors
