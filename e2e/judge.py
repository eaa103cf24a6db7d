"""The pure judgments of `make e2e`: what was seen against what the stack declares. Each returns a verify.Check,
one line with what to do when it fails."""

from __future__ import annotations

import ast
import math
import statistics
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from components.connection_budget import Workload
from components.node_capacity import GIB, cpu_millicores, memory_bytes
from e2e.usage import Usage
from ops.verify import Check


def job_config_keys(source: str) -> list[str]:
    """The Config keys the schema Job's program writes: the literal keys of its Config.upsert({...}) call."""
    keys: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "upsert":
            for arg in node.args:
                if isinstance(arg, ast.Dict):
                    keys += [k.value for k in arg.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
    return keys


def config_check(rows: Mapping[str, Any], env: Mapping[str, str]) -> Check:
    """The config table holds the stack's Ollama URLs, WEBUI_URL and sign-in settings, as the Deployment's env
    declares them."""
    urls = [u for u in env.get("OLLAMA_BASE_URLS", "").split(";") if u]
    wanted = {"ollama.base_urls": urls, "ollama.enable": bool(urls), "webui.url": env["WEBUI_URL"],
              "ui.enable_signup": env["ENABLE_SIGNUP"] == "true", "ui.enable_login_form": env["ENABLE_LOGIN_FORM"] == "true",
              "ui.default_user_role": env["DEFAULT_USER_ROLE"]}
    wrong = [f"{key} is {rows.get(key, '(missing)')!r}, want {value!r}" for key, value in wanted.items()
             if rows.get(key) != value]
    return Check("config table holds the stack's settings", not wrong,
                 "; ".join(wrong) or ", ".join(f"{k}={v!r}" for k, v in wanted.items()),
                 "the schema Job writes these with Config.upsert (in_cluster/schema_job.py): check its "
                 "keys against the release's config.py (the release check below names unknown ones)")


def connections_check(name: str, peaks: Mapping[str, int], per_pod: int) -> Check:
    """Each process (a pod) held at most the budget's per-pod figure at any sampled moment."""
    over = {p: n for p, n in peaks.items() if n > per_pod}
    return Check(f"{name} connections within the budget", not over,
                 ", ".join(f"{p} peak {n}" for p, n in sorted(peaks.items())) + f" (budget {per_pod} per pod)",
                 f"a pod opened more than connection_budget allows ({per_pod}): its pools are larger than the stack "
                 "renders, or the release opens another engine per worker (the release check names engines)")


@dataclass(frozen=True)
class LoadSummary:
    requests: int
    errors: int
    p50: float
    p95: float
    max: float
    by_endpoint: dict[str, tuple[int, int, float, float]]
    """endpoint -> (requests, errors, p50, p95)."""
    error_kinds: dict[str, int]


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def summarize(records: Sequence[Sequence[Any]]) -> LoadSummary:
    """records: [offset, replica, endpoint, ok, status or error, latency]."""
    latencies = [float(r[5]) for r in records]
    by: dict[str, list[Sequence[Any]]] = {}
    kinds: dict[str, int] = {}
    for r in records:
        by.setdefault(str(r[2]), []).append(r)
        if not r[3]:
            kinds[str(r[4])] = kinds.get(str(r[4]), 0) + 1
    return LoadSummary(
        requests=len(records), errors=sum(1 for r in records if not r[3]),
        p50=percentile(latencies, 50), p95=percentile(latencies, 95), max=max(latencies, default=0.0),
        by_endpoint={e: (len(rs), sum(1 for r in rs if not r[3]), percentile([float(r[5]) for r in rs], 50),
                         percentile([float(r[5]) for r in rs], 95)) for e, rs in sorted(by.items())},
        error_kinds=kinds)


def fault_check(records: Sequence[Sequence[Any]], killed: int, killed_at: float, ready_at: Optional[float]) -> Check:
    """Under load, a SIGKILLed replica: the others keep answering, and it serves again once restarted."""
    survivors = [r for r in records if r[1] != killed and r[0] >= killed_at]
    survivor_errors = [r for r in survivors if not r[3]]
    killed_errors = [r for r in records if r[1] == killed and not r[3]]
    back = ready_at is not None and any(r[1] == killed and r[3] and r[0] >= ready_at for r in records)
    detail = (f"after the kill at {killed_at:.0f}s: the other replicas answered {len(survivors)} requests with "
              f"{len(survivor_errors)} errors; the killed one failed {len(killed_errors)} (what a Service sends it "
              f"before its endpoint goes), then " + (f"was Ready again at {ready_at:.0f}s and served" if back else
                                                     "did NOT serve again"))
    return Check("a replica killed under load", not survivor_errors and back, detail,
                 "a surviving replica failed: shared state is not shared (Redis, the database, the volume); or the "
                 "restarted one never became Ready (its log in the run directory says why)")


def engines_check(engines: Sequence[Mapping[str, Any]], env: Mapping[str, str]) -> Check:
    """The engines one worker builds on import (with the env it was given), against what connection_budget counts
    per worker for the env the stack renders."""
    model = Workload.from_env("open-webui", 1, {**env, "ENABLE_DB_MIGRATIONS": "false"})
    postgres = [e for e in engines if e["dialect"] == "postgresql"]
    seen = sum(int(e["size"] or 0) + int(e["max_overflow"] or 0) for e in postgres)
    expected_engines = 2 + (1 if model.pgvector_pool else 0)
    ok = len(postgres) == expected_engines and seen == model.per_worker
    pools = ", ".join("{kind} {pool} {size}+{max_overflow}".format(**e) for e in postgres)
    detail = (f"{len(postgres)} PostgreSQL engines per worker holding up to {seen} connections ({pools}); "
              f"connection_budget counts {expected_engines} engines, {model.per_worker} connections")
    return Check("engines per worker match the budget", ok, detail,
                 "the release changed how it opens PostgreSQL: update components/connection_budget.py (the formula "
                 "the program, the plan and the policy pack share) before deploying it")


def release_checks(facts: Mapping[str, Any], known_heads: Mapping[str, str], image_tag: str) -> list[Check]:
    """What the program depends on in the release: env names it reads, Config keys it defines, its Alembic head."""
    unread, unknown = facts["unread_env"], facts["unknown_config_keys"]
    heads = facts["alembic_heads"]
    known = known_heads.get(image_tag)
    return [
        Check("release reads every env name the stack sets", not unread,
              f"not read by Open WebUI {facts['version']}: {', '.join(unread)}" if unread else
              f"all read by Open WebUI {facts['version']}",
              "the release renamed or dropped these settings: find their new names in its env.py/config.py and "
              "change components/open_webui.py (environment) before deploying it"),
        Check("release defines the Config keys the Job writes", not unknown,
              f"unknown: {', '.join(unknown)}" if unknown else "all defined",
              "change the keys in in_cluster/schema_job.py to the release's (config.py's Config defaults)"),
        Check("Alembic head of the release", len(heads) == 1 and (known is None or heads == [known]),
              f"{', '.join(heads)}" + (f"; components/releases.json has {known} for {image_tag}" if known else
                                       f"; {image_tag} is not in components/releases.json"),
              "the release's wheel says otherwise: `make releases VERSIONS=<version>` reads it again; a new head is "
              "a schema change, an upgrade that stops the old pods first (docs/upgrades-and-migrations.md, 'Upgrades')"),
    ]


def _gib(n: float) -> str:
    return f"{n / GIB:.2f} GiB" if n >= GIB / 2 else f"{n / 2 ** 20:.0f} MiB"


HPA_TOLERANCE = 0.1
"""The HPA controller leaves the count alone while usage is within 10% of the target (kube-controller-manager's
--horizontal-pod-autoscaler-tolerance default)."""


def hpa_desired(replicas: int, utilization_percent: float, target_percent: int) -> int:
    """The replicas the HPA asks for at this average utilization: ceil(replicas x usage / target), unless within
    the tolerance (Kubernetes docs, Horizontal Pod Autoscaling, algorithm details)."""
    ratio = utilization_percent / target_percent
    if abs(ratio - 1) <= HPA_TOLERANCE:
        return replicas
    return math.ceil(replicas * ratio)


def sizing_check(name: str, rest: Mapping[str, Usage], load: Mapping[str, Usage],
                 resources: Mapping[str, Mapping[str, str]], target_percent: int) -> Check:
    """The replicas' measured memory and CPU against the requests and limits the stack renders: the limit holds the
    peak (else the kernel OOM-kills the pod), the request holds what a replica keeps at rest (else the scheduler
    puts more pods on a node than its memory holds), and at rest the HPA's target is not reached (else it scales up
    an idle app)."""
    requests, limits = resources.get("requests", {}), resources.get("limits", {})
    memory_request, memory_limit = memory_bytes(requests["memory"]), memory_bytes(limits["memory"])
    cpu_request = cpu_millicores(requests["cpu"])
    at_rest = max(u.peak_rss for u in rest.values())
    peak = max(u.peak_rss for u in [*rest.values(), *load.values()])
    idle_cpu = max(u.cpu_cores for u in rest.values()) * 1000
    busy_cpu = statistics.mean(u.cpu_cores for u in load.values()) * 1000 if load else 0.0
    idle_pct, busy_pct = 100 * idle_cpu / cpu_request, 100 * busy_cpu / cpu_request
    wanted = hpa_desired(len(load), busy_pct, target_percent)
    wrong = []
    if peak > memory_limit:
        wrong.append(f"peak {_gib(peak)} > limit {limits['memory']}")
    if at_rest > memory_request:
        wrong.append(f"at rest {_gib(at_rest)} > request {requests['memory']}")
    if idle_pct >= target_percent:
        wrong.append(f"idle CPU {idle_pct:.0f}% of the request >= the HPA's {target_percent}% target")
    detail = (f"memory at rest {_gib(at_rest)}, peak {_gib(peak)} (request {requests['memory']}, limit "
              f"{limits['memory']}); CPU at rest {idle_cpu:.0f}m = {idle_pct:.0f}% of the {requests['cpu']} request "
              f"(the HPA stays at its minimum), under load {busy_cpu:.0f}m = {busy_pct:.0f}% per replica (the HPA "
              f"would want {wanted} replicas for these {len(load)} at its {target_percent}% target)")
    return Check(f"{name} requests and limits fit the release", not wrong,
                 ("; ".join(wrong) + ". Measured: " if wrong else "") + detail,
                 "raise memoryRequest/memoryLimit/cpuRequest in Pulumi.yaml to the measured figures (docs/capacity-and-cost.md, 'Sizing and node capacity') "
                 "and rerun make plan: the node capacity check then says whether the pools still hold the peak")


def memory_peak_check(name: str, peak_rss: int, resources: Mapping[str, Mapping[str, str]]) -> Check:
    """A container that is not a replica (the Job, Redis): its measured peak within its rendered memory limit."""
    limit = resources.get("limits", {})["memory"]
    request = resources.get("requests", {})["memory"]
    return Check(f"{name} memory within its limit", peak_rss <= memory_bytes(limit),
                 f"peak {_gib(peak_rss)} (request {request}, limit {limit})",
                 "raise its memory limit above the measured peak (docs/capacity-and-cost.md, 'Sizing and node capacity': where each one is set)")


def report(checks: list[Check], title: str = "checklist") -> int:
    """The checks, a line each, and the exit status: 0 only when every one passed."""
    print(f"\n-- {title}")
    print("\n".join(c.line() for c in checks))
    failed = [c for c in checks if not c.ok]
    print(f"\n{len(checks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0
