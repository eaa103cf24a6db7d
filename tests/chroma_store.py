"""Builds real Chroma persistent stores (chromadb 1.5.9, as Open WebUI 0.12.4 pins) shaped like Open WebUI's."""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

DIMENSION = 384
USER = str(uuid.UUID(int=7))


@dataclass
class Chunk:
    id: str
    vector: np.ndarray
    text: str
    metadata: dict[str, Any]


def open_webui_collections(rows: int) -> dict[str, int]:
    """Collection names as Open WebUI makes them, each with a share of `rows`, and one empty collection."""
    file_id = str(uuid.UUID(int=1))
    return {
        f"file-{file_id}": rows // 2,
        str(uuid.UUID(int=2)): rows // 4,  # a knowledge base's id
        "knowledge-bases": 3,
        f"user-memory-{USER}": 5,
        f"web-search-{USER}-{hashlib.sha256(b'pgvector').hexdigest()}"[:63]: rows - rows // 2 - rows // 4 - 8,
        f"file-{uuid.UUID(int=3)}": 0,
    }


def chunks(collection: str, count: int, seed: int, dimension: int = DIMENSION) -> Iterator[Chunk]:
    rng = np.random.default_rng(seed)
    for i in range(count):
        yield Chunk(
            id=str(uuid.UUID(int=int(rng.integers(2**62)) << 64 | i)),
            vector=rng.standard_normal(dimension).astype(np.float32),
            text=f"Grüße aus 東京, chunk {i} of {collection} 🚀",
            metadata={"file_id": collection.removeprefix("file-"), "name": "Bericht – März.pdf", "page": i,
                      "score": 0.25, "start_index": i * 512, "embedding_config": str({"engine": "", "model": "m"}),
                      # Open WebUI stringifies nested values before Chroma sees them (Chroma refuses dicts);
                      # a list Chroma 1.5 takes as it is, and pgvector gets it as Open WebUI's string.
                      "nested": str({"a": {"b": [1, 2]}, "ü": "東京"}), "headings": ["Einführung", "Ergebnis"],
                      "ok": True})


def build(path: Path, collections: dict[str, int], dimension: int = DIMENSION, batch: int = 5000) -> None:
    """Writes the store the way Open WebUI's Chroma backend does (cosine space, no embedding function)."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))
    for seed, (name, count) in enumerate(collections.items()):
        collection = client.get_or_create_collection(name=name, metadata={"hnsw:space": "cosine"},
                                                     embedding_function=None)
        pending: list[Chunk] = []
        for chunk in chunks(name, count, seed, dimension):
            pending.append(chunk)
            if len(pending) == batch:
                _add(collection, pending)
                pending = []
        if pending:
            _add(collection, pending)


def _add(collection: Any, items: list[Chunk]) -> None:
    collection.add(ids=[c.id for c in items], embeddings=np.stack([c.vector for c in items]),
                   documents=[c.text for c in items], metadatas=[c.metadata for c in items])


def tree_digest(path: Path) -> str:
    """A digest of every file's name and bytes under path."""
    digest = hashlib.sha256()
    for root, dirs, names in sorted(os.walk(path)):
        dirs.sort()
        for name in sorted(names):
            file = Path(root) / name
            digest.update(str(file.relative_to(path)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()
