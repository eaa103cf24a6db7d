"""The README stays true to the code: its commands are the ones CI runs, its config table lists every key."""

import re

import yaml

from components.stack_config import ROOT
from offline_plan.mock_engine import MockRun, reveal

README = (ROOT / "README.md").read_text()


def test_ci_runs_the_readmes_test_command():
    assert "make test               # everything" in README
    commands = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()
                if line.strip() and not line.startswith("#") and not line.startswith(("set ", "cd "))]
    assert commands == ["make test"]


def test_config_table_lists_every_key_with_its_default():
    schema = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(\w+)` \| \w+ \| ([^|]*) \|", README, re.M)}
    assert set(rows) == set(schema)
    for key, spec in schema.items():
        default = spec["default"]
        shown = ",".join(default) if isinstance(default, list) else str(default).lower() if isinstance(default, bool) else str(default)
        assert rows[key].strip() == (f"`{shown}`" if shown != "" else '`""`'), key


def cost_rows(stack: str, run: MockRun) -> list[str]:
    """The README's cost table rows for a stack, from the same estimate the plan prints."""
    from components.cost import estimate
    bill = estimate((r.name, r.type, reveal(r.inputs)) for r in run.registrations)
    rows = [f"| {stack} | {line.item} | {line.low:,.2f} | {line.high:,.2f} | {line.arithmetic} |" for line in bill.lines]
    rows.append(f"| {stack} | **total (estimate)** | **{bill.low:,.2f}** | **{bill.high:,.2f}** | |")
    return rows


def test_readme_cost_section_comes_from_the_price_table(dev_run, prod_run):
    for stack, run in (("dev", dev_run), ("prod", prod_run)):
        for row in cost_rows(stack, run):
            assert row in README, row


def test_readme_sizing_table_is_the_codes_arithmetic():
    from components.node_capacity import VM_SIZES, allocatable
    rows = re.findall(r"^\| (Standard_\w+) \| (\d+), (\d+) GiB \| ([^|]+) \|$", README, re.M)
    assert len(rows) == 5
    for size, vcpus, memory, shown in rows:
        assert (VM_SIZES[size].vcpus, VM_SIZES[size].memory_gib) == (int(vcpus), int(memory))
        assert shown.strip() == str(allocatable(VM_SIZES[size])), size
