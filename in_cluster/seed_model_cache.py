"""The schema Job's first init container: the embedding model the image pre-downloads, copied onto the shared volume
once. The image keeps it under its data directory, which the volume's mount hides from every pod.

    python seed_model_cache.py IMAGE_CACHE SHARED_CACHE

A copy cut short is never seen: it is made beside the target and renamed into place whole. Links stay links
(Hugging Face's cache is made of them) and nothing but content is copied: an SMB share keeps no owner or mode.
Standard library only.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def copy_tree(source: Path, target: Path) -> None:
    """`cp -RP` without attributes: directories, files' content, links as links."""
    target.mkdir(parents=True)
    for entry in os.scandir(source):
        destination = target / entry.name
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), destination)
        elif entry.is_dir():
            copy_tree(Path(entry.path), destination)
        else:
            shutil.copyfile(entry.path, destination)


def seed(source: Path, target: Path) -> bool:
    """Copies the image's cache to the volume unless it is there already (or the image has none); True if copied."""
    if not source.is_dir() or target.exists():
        return False
    partial = target.with_name(f"{target.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    copy_tree(source, partial)
    partial.rename(target)
    return True


if __name__ == "__main__":
    image_cache, shared_cache = map(Path, sys.argv[1:3])
    copied = seed(image_cache, shared_cache)
    print(f"seed-model-cache: {'copied' if copied else 'nothing to copy'} {image_cache} -> {shared_cache}", flush=True)
