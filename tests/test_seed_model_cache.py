"""The schema Job's first init container (in_cluster/seed_model_cache.py): the image's model cache onto the volume,
once, whole, links kept."""

import os
import subprocess
import sys
from pathlib import Path

from in_cluster.seed_model_cache import seed

SCRIPT = Path(__file__).resolve().parent.parent / "in_cluster" / "seed_model_cache.py"


def image_cache(root: Path) -> Path:
    """A Hugging Face cache as the image holds it: blobs, and snapshots linking to them."""
    (root / "models--m" / "blobs").mkdir(parents=True)
    (root / "models--m" / "blobs" / "abc").write_bytes(b"weights")
    (root / "models--m" / "snapshots" / "1").mkdir(parents=True)
    os.symlink("../../blobs/abc", root / "models--m" / "snapshots" / "1" / "model.safetensors")
    return root


def test_the_cache_comes_across_whole_with_its_links(tmp_path: Path) -> None:
    source, target = image_cache(tmp_path / "image"), tmp_path / "shared" / "cache" / "models"
    done = subprocess.run([sys.executable, str(SCRIPT), str(source), str(target)], capture_output=True, text=True)
    assert done.returncode == 0 and "copied" in done.stdout
    link = target / "models--m" / "snapshots" / "1" / "model.safetensors"
    assert link.is_symlink() and os.readlink(link) == "../../blobs/abc" and link.read_bytes() == b"weights"
    assert not (target.parent / "models.partial").exists()


def test_a_cache_already_there_is_left_alone_and_a_cut_copy_is_redone(tmp_path: Path) -> None:
    source, target = image_cache(tmp_path / "image"), tmp_path / "shared" / "models"
    target.mkdir(parents=True)
    (target / "kept").write_text("the volume's")
    assert seed(source, target) is False and [p.name for p in target.iterdir()] == ["kept"]
    other = tmp_path / "shared" / "other"
    (tmp_path / "shared" / "other.partial" / "half").mkdir(parents=True)  # an earlier pod killed mid-copy
    assert seed(source, other) is True
    assert (other / "models--m" / "blobs" / "abc").read_bytes() == b"weights"
    assert not (tmp_path / "shared" / "other.partial").exists()


def test_an_image_without_a_cache_leaves_the_volume_as_it_is(tmp_path: Path) -> None:
    assert seed(tmp_path / "none", tmp_path / "shared" / "models") is False
    assert not (tmp_path / "shared").exists()
