"""The README and docs/ stay true to the code: the commands CI runs, every make target, every folder and component
named, every config key with its default and the stacks' values, the price and sizing tables from the code's own
arithmetic, and every link and "docs/<page>.md, '<section>'" pointer leading to a heading that exists."""

import os
import re
import subprocess
from pathlib import Path

import yaml

from components.stack_config import ROOT
from offline_plan.mock_engine import MockRun, reveal

README = (ROOT / "README.md").read_text()
DOCS = {path.name: path.read_text() for path in sorted((ROOT / "docs").glob("*.md"))}


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


def headings(text: str) -> set[str]:
    outside_code = re.sub(r"(?ms)^```.*?^```", "", text)
    return {m.group(1).strip() for m in re.finditer(r"(?m)^#{1,4} (.+)$", outside_code)}


def test_ci_runs_the_readmes_test_command():
    assert "make test               # everything" in README
    commands = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()
                if line.strip() and not line.startswith("#") and not line.startswith(("set ", "cd "))]
    assert commands == ["make test"]


def test_every_make_target_is_in_the_readmes_table():
    phony = re.search(r"^\.PHONY: (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert phony
    table = README[README.index("## Every make target"):README.index("## Deploying for real")]
    for target in set(phony.group(1).split()) - {"e2e-setup"}:  # e2e-setup is the e2e targets' own step
        assert re.search(rf"`(make )?{re.escape(target)}\b", table), target


def test_the_readme_names_every_folder_and_component():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    layout = README[README.index("## What it deploys"):README.index("## Safety notes")]
    for top in {path.split("/")[0] for path in tracked} - {"README.md"}:
        named = f"`{top}/" if "/" in next(p for p in tracked if p.split("/")[0] == top) else f"`{top}`"
        assert named in layout or (top.startswith("Pulumi.") and "`Pulumi.<stack>.yaml`" in layout) or (
            top.startswith("requirements") and "`requirements*.in` / `.txt`" in layout), top
    for path in tracked:
        if path.startswith("components/") and path.count("/") == 1 and not path.endswith("__init__.py"):
            assert f"`{path}`" in layout or f"`{Path(path).name}`" in layout, path


def test_every_link_and_pointer_leads_to_a_heading_that_exists():
    pages = {"README.md": README, **{f"docs/{name}": text for name, text in DOCS.items()}}
    anchors = {page: {anchor(h) for h in headings(text)} for page, text in pages.items()}
    for page, text in pages.items():
        for target, fragment in re.findall(r"\]\(([\w./-]*\.md|)(?:#([\w-]+))?\)", text):
            resolved = os.path.normpath(Path(page).parent / target) if target else page
            assert resolved in pages, (page, target)
            assert not fragment or fragment in anchors[resolved], (page, target, fragment)
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    pointers = 0
    for path in tracked:
        if not re.search(r"\.(py|ya?ml|json|in)$|Makefile$", path) or path.startswith("offline_plan/schemas"):
            continue
        text = (ROOT / path).read_text()
        assert not re.search(r"README[,:] *[\"']?[A-Z]", text), f"{path} points at a README section; docs/ has them"
        for page, section in re.findall(r"(docs/[\w-]+\.md), '([^']+)'", text):
            pointers += 1
            assert page in pages and section in headings(pages[page]), (path, page, section)
    assert pointers >= 15


def test_config_table_lists_every_key_with_its_default_and_the_stacks_values():
    schema = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    stacks = {stack: {k.split(":", 1)[1]: v for k, v in yaml.safe_load(
        (ROOT / f"Pulumi.{stack}.yaml").read_text())["config"].items()} for stack in ("dev", "prod")}
    rows = {m.group(1): [cell.strip() for cell in m.group(2).split(" | ")] for m in re.finditer(
        r"^\| `(\w+)` \| \w+ \| (.*) \|$", DOCS["configuration.md"], re.M)}
    assert set(rows) == set(schema)

    def shown(value: object) -> str:
        text = ",".join(value) if isinstance(value, list) else str(value).lower() if isinstance(value, bool) else str(value)
        return f"`{text}`" if text != "" else '`""`'

    for key, spec in schema.items():
        default, dev, prod, *description = rows[key]
        assert default == shown(spec["default"]), key
        assert (dev, prod) == tuple(shown(stacks[s][key]) if key in stacks[s] else "" for s in ("dev", "prod")), key
        assert " | ".join(description).replace("\\|", "|") == spec["description"], key


def cost_rows(stack: str, run: MockRun) -> list[str]:
    """The cost table's rows for a stack, from the same estimate the plan prints."""
    from components.cost import estimate
    bill = estimate((r.name, r.type, reveal(r.inputs)) for r in run.registrations)
    rows = [f"| {stack} | {line.item} | {line.low:,.2f} | {line.high:,.2f} | {line.arithmetic} |" for line in bill.lines]
    rows.append(f"| {stack} | **total (estimate)** | **{bill.low:,.2f}** | **{bill.high:,.2f}** | |")
    return rows


def test_the_cost_table_comes_from_the_price_table(dev_run, prod_run):
    for stack, run in (("dev", dev_run), ("prod", prod_run)):
        for row in cost_rows(stack, run):
            assert row in DOCS["capacity-and-cost.md"], row


def test_the_sizing_table_is_the_codes_arithmetic():
    from components.node_capacity import VM_SIZES, allocatable
    rows = re.findall(r"^\| (Standard_\w+) \| (\d+), (\d+) GiB \| ([^|]+) \|$", DOCS["capacity-and-cost.md"], re.M)
    assert len(rows) == 5
    for size, vcpus, memory, shown in rows:
        assert (VM_SIZES[size].vcpus, VM_SIZES[size].memory_gib) == (int(vcpus), int(memory))
        assert shown.strip() == str(allocatable(VM_SIZES[size])), size


def test_the_readmes_panel_table_is_the_dashboards() -> None:
    """Every panel of every dashboard, with the question it answers, as the README lists them (and nothing else)."""
    from components.dashboards import dashboards
    from tests.test_dashboards import view

    listed = re.findall(r"^\| (overview|database|gpu-pool) \| (.+?) \| (.+?) \|$", README, re.M)
    built = [(name, panel["title"], panel["description"].split(" Lines:")[0])
             for name, model in dashboards(view("dev")).items() for panel in model["panels"] if panel["type"] != "row"]
    assert [(name, title) for name, title, _ in listed] == [(name, title) for name, title, _ in built]
    assert all(text.startswith(question) for (_, _, text), (_, _, question) in zip(listed, built))
