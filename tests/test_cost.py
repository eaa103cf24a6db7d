"""The estimated monthly bill: the arithmetic pinned per stack, from the price table in the repo."""

from __future__ import annotations

import pytest

from components.cost import estimate, load_prices
from offline_plan.mock_engine import reveal, run_program


def bill(stack: str, **overrides: object):
    run = run_program(stack, overrides or None)
    return estimate((r.name, r.type, reveal(r.inputs)) for r in run.registrations)


def rows(b) -> dict[str, tuple[float, float]]:
    return {line.item: (line.low, line.high) for line in b.lines}


def test_every_price_names_its_source_and_the_table_its_region_and_date():
    table = load_prices()
    assert table["region"] and table["date"] and table["currency"] == "USD"
    assert all(p["source"] and p["unit"] and p["usd"] > 0 for p in table["prices"].values())


def test_dev_bill_line_by_line():
    b = bill("dev")
    assert rows(b) == {
        "static public IP network-edge": (3.65, 3.65),
        "static public IP network-aks-egress": (3.65, 3.65),
        "PostgreSQL compute Standard_B1ms": (12.4, 12.4),
        "PostgreSQL storage": (3.68, 3.68),  # 32 GiB x $0.115
        "AKS pool system Standard_D4ds_v5": (330.0, 330.0),
        "Standard load balancer": (18.0, 18.0),
        "AKS pool Standard_NC8as_T4_v3 (GPU)": (0.0, 1098.0),  # scales 0..2
        "Azure Files Premium share": (16.0, 16.0),  # 100 GiB (the Premium minimum) x $0.16
        "Premium SSD P6 per replica (ollama)": (9.86, 9.86),
        "PostgreSQL backups, 7 days": (0.0, 0.0),  # up to the provisioned 32 GiB at no charge
        "Azure Backup of share open-webui-data": (5.0, 5.0),  # one protected share of up to 250 GiB
        "Managed Grafana Standard": (62.05, 62.05),  # $0.085 an instance-hour
    }
    assert (b.low, b.high) == (464.29, 1562.29)
    assert b.unpriced == (
        "Azure Files snapshots of share open-webui-data (billed by the data changed between them)",
        "Log Analytics audit logs: $2.3 per GB ingested (by use), kept 30 days",
        "Managed Grafana users: $6 per active user a month",
        "Managed Prometheus rules prometheus-rules-group: $0.1 per billion samples their queries process (by use: 3 rules "
        "every PT1M)",
        "Managed Prometheus: $0.16 per 10 million samples ingested (by use: nodes, pods and scrape interval)")


def test_prod_bill_counts_ha_twice_and_says_what_it_cannot_price():
    b = bill("prod")
    r = rows(b)
    assert r["PostgreSQL compute Standard_D2ds_v5"] == r["PostgreSQL HA standby Standard_D2ds_v5"] == (130.0, 130.0)
    assert r["AKS pool system Standard_D4ds_v5"] == (660.0, 660.0)
    assert r["AKS pool Standard_NC8as_T4_v3 (GPU)"] == (1098.0, 1098.0)
    assert r["Premium SSD P6 per replica (ollama)"] == (19.72, 19.72)
    assert r["PostgreSQL backups, 35 days (geo)"] == (0.0, 0.0)
    assert (b.low, b.high) == (2160.79, 2160.79)
    assert b.unpriced == (
        "Azure Files snapshots of share open-webui-data (billed by the data changed between them)",
        "Log Analytics audit logs: $2.3 per GB ingested (by use), kept 365 days",
        "Managed Grafana users: $6 per active user a month",
        "Managed Prometheus rules prometheus-rules-group: $0.1 per billion samples their queries process (by use: 3 rules "
        "every PT1M)",
        "Managed Prometheus: $0.16 per 10 million samples ingested (by use: nodes, pods and scrape interval)",
        "PostgreSQL geo-redundant backup storage beyond the provisioned size (billed by size)")


def test_a_size_the_table_does_not_price_is_named_not_guessed():
    b = bill("dev", postgresSku="Standard_B2s")
    assert "PostgreSQL compute Standard_B2s (postgres:Standard_B2s)" in b.unpriced
    assert not any("B2s" in line.item for line in b.lines)


@pytest.mark.parametrize("size,tier", [("64Gi", "P6"), ("100Gi", "P10")])
def test_a_model_disk_is_billed_at_the_tier_that_holds_it(size, tier):
    b = bill("dev", ollamaDiskGi=int(size[:-2]))
    assert f"Premium SSD {tier} per replica (ollama)" in rows(b)
