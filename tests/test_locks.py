"""The locks (requirements*.txt) stay compiled from their inputs (requirements*.in): every input requirement is
pinned at a version its range admits, every pin carries hashes, and the two locks agree where they overlap. An
input edited without `make lock` fails here."""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from components.stack_config import ROOT

LOCKS = {"requirements.txt": "requirements.in", "requirements-dev.txt": "requirements-dev.in"}


def pins(lock: str) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes)."""
    found: dict[str, tuple[str, int]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", lock):
        match = re.match(r"([A-Za-z0-9_.-]+)==([^\s\\]+)", block)
        if match:
            found[canonicalize_name(match.group(1))] = (match.group(2), block.count("--hash=sha256:"))
    return found


def inputs(path: Path) -> list[Requirement]:
    """The requirements of an input file, following -r (not -c: a constraint installs nothing)."""
    found: list[Requirement] = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found += inputs(path.parent / line[3:].strip())
        elif line and not line.startswith("-"):
            found.append(Requirement(line))
    return found


def stale(lock_text: str, requirements: list[Requirement]) -> list[str]:
    locked = pins(lock_text)
    problems = []
    for req in requirements:
        name = canonicalize_name(req.name)
        if name not in locked:
            problems.append(f"{req} is not in the lock")
        elif not req.specifier.contains(locked[name][0], prereleases=True):
            problems.append(f"{req} does not admit the locked {locked[name][0]}")
    problems += [f"{name}=={version} has no hash" for name, (version, hashes) in locked.items() if not hashes]
    return problems


def test_each_lock_is_compiled_from_its_input():
    for lock, source in LOCKS.items():
        text = (ROOT / lock).read_text()
        command = text.splitlines()[1]  # uv's header: how the lock was compiled, from which input
        assert "uv pip compile --generate-hashes" in command and command.endswith(f" {source}"), lock
        assert stale(text, inputs(ROOT / source)) == [], lock


def test_the_locks_agree_where_they_overlap():
    program, dev = pins((ROOT / "requirements.txt").read_text()), pins((ROOT / "requirements-dev.txt").read_text())
    assert program.keys() <= dev.keys()
    assert {name: program[name][0] for name in program} == {name: dev[name][0] for name in program}


def test_an_input_edited_without_make_lock_is_stale(tmp_path):
    text = (ROOT / "requirements.txt").read_text()
    source = tmp_path / "requirements.in"
    source.write_text((ROOT / "requirements.in").read_text() + "httpx>=0.27\n")
    assert stale(text, inputs(source)) == ["httpx>=0.27 is not in the lock"]
    source.write_text((ROOT / "requirements.in").read_text().replace("pulumi>=3.272,<4", "pulumi>=4"))
    assert stale(text, inputs(source)) == [f"pulumi>=4 does not admit the locked {pins(text)['pulumi'][0]}"]
    unhashed = re.sub(r"(pulumi==\S+) \\\n(?:\s*--hash=\S+(?: \\)?\n)+", r"\1\n", text)
    assert f"pulumi=={pins(text)['pulumi'][0]} has no hash" in stale(unhashed, inputs(ROOT / "requirements.in"))
