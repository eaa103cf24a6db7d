"""The restore drill's throwaway stack: `python -m ops.restore_drill --source prod --stack drill-42 --firewall IP`.

Writes Pulumi.<stack>.yaml: the source stack's settings, its PostgreSQL server restored to `--hours-ago` (1) hours
before now, made cheap and reachable by the runner alone (no Ollama and no GPU pool, no HA, no edge and so no public
address for the app, PostgreSQL's firewall and the cluster's API server admitting only the runner's address,
nothing protected). `pulumi up` on it with prod's mandatory policies (policy/drill.json), `make verify ...
RESTORED=1`, `pulumi destroy` (docs/operations.md, 'Backups and restores'; .github/workflows/restore-drill.yml).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import yaml

from components.stack_config import ROOT, StackConfig, project_name, stack_file

DRILL_OVERRIDES: dict[str, Any] = {
    "protect": False, "ollamaEnabled": False, "postgresHighAvailability": "Disabled",
    "postgresGeoRedundantBackup": False, "postgresNetwork": "public", "acmeIssuer": "staging", "edgeEnabled": False,
    "minReplicas": 1, "maxReplicas": 2, "aksSystemNodeCount": 2, "monthlyBudgetUsd": 0,
}
"""What the drill changes from the source: it checks the data, not the source's availability or its GPUs."""


def drill_config(source: str, stack: str, firewall: str, now: datetime, hours_ago: float) -> dict[str, Any]:
    source_config = StackConfig.of_stack(source)
    config = {**stack_file(source), **{f"{project_name()}:{k}": v for k, v in {
        **DRILL_OVERRIDES,
        "postgresRestoreFrom": source,
        "postgresRestorePointInTime": f"{now - timedelta(hours=hours_ago):%Y-%m-%dT%H:%M:%SZ}",
        "postgresFirewallRules": [firewall], "aksAuthorizedIpRanges": [f"{firewall}/32"],
        "dnsLabel": f"openwebui-{stack}",
        "location": source_config.location, "postgresAdminLogin": source_config.postgres_admin_login,
    }.items()}}
    return {"config": config}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source", required=True, help="the stack whose server is restored (prod)")
    parser.add_argument("--stack", required=True, help="the throwaway stack's name")
    parser.add_argument("--firewall", required=True, help="the address that runs `pulumi up` and `make verify`")
    parser.add_argument("--hours-ago", type=float, default=1.0)
    args = parser.parse_args(argv)
    config = drill_config(args.source, args.stack, args.firewall, datetime.now(timezone.utc), args.hours_ago)
    path = ROOT / f"Pulumi.{args.stack}.yaml"
    path.write_text("# The restore drill's throwaway stack (ops/restore_drill.py): destroyed after the check.\n"
                    + yaml.safe_dump(config, sort_keys=False))
    when = StackConfig.of_stack(args.stack).postgres_restore_point_in_time
    print(f"{path.name}: {args.source}'s PostgreSQL server as it was at {when}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
