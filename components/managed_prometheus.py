"""How a pod of the stack is scraped by Azure's managed Prometheus add-on: a PodMonitor of its own CRD group
(azmonitoring.coreos.com/v1, the one custom-scrape kind it reads), and who scrapes (for the NetworkPolicies)."""

from __future__ import annotations

from typing import Mapping

import pulumi
import pulumi_kubernetes as k8s

SCRAPER_LABELS = {"rsName": "ama-metrics"}
"""The add-on's replica pod in kube-system: the one that runs custom scrapes (PodMonitors)."""
SCRAPER_NAMESPACE = "kube-system"
SCRAPE_INTERVAL = "30s"


def pod_monitor(name: str, metadata: k8s.meta.v1.ObjectMetaArgs, pods: Mapping[str, str], port: str,
                parent: pulumi.Resource, honor_labels: bool = False) -> k8s.apiextensions.CustomResource:
    """The add-on scrapes the named port of the pods labelled so; honor_labels keeps the job and instance a series
    carries rather than the scraped pod's."""
    endpoint: dict[str, object] = {"port": port, "interval": SCRAPE_INTERVAL}
    if honor_labels:
        endpoint["honorLabels"] = True
    return k8s.apiextensions.CustomResource(
        name, api_version="azmonitoring.coreos.com/v1", kind="PodMonitor", metadata=metadata,
        spec={"selector": {"matchLabels": dict(pods)}, "podMetricsEndpoints": [endpoint]},
        opts=pulumi.ResourceOptions(parent=parent))
