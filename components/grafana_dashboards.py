"""The stack's dashboards (components/dashboards.py) in its Azure Managed Grafana, through the Grafana provider
(pulumiverse-grafana), in a folder of their own.

The provider speaks to Grafana's API as whoever runs `pulumi up`: an Entra ID token for Azure Managed Grafana's
application, from the same login that deploys the stack (no API key, no service account: the instance has API
keys off). That identity holds Grafana Admin or Grafana Editor on the instance (components/observability.py); a
role assignment can take a few minutes to reach Grafana, so a first `pulumi up` may have to be run again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumiverse_grafana as grafana
from pulumi_azure_native import authorization

from components.connection_budget import ConnectionBudget
from components.dashboards import StackView, builders, dashboards

MANAGED_GRAFANA_APPLICATION = "ce34e7e5-485f-4d76-964f-b3d2b16d1e4f"
"""Azure Managed Grafana's Entra application: the audience of a token its API accepts."""


@dataclass
class GrafanaDashboardsArgs:
    grafana_url: pulumi.Input[str]
    writer: pulumi.Resource
    """The role assignment that lets the deployer write dashboards: they wait for it."""
    stack: str
    namespace: str
    app: str
    ollama: str
    resource_group_name: pulumi.Input[str]
    postgres_server_name: pulumi.Input[str]
    budget: ConnectionBudget


class GrafanaDashboards(pulumi.ComponentResource):
    urls: pulumi.Output[dict[str, str]]
    """Dashboard name -> its address in Grafana."""

    def __init__(self, name: str, args: GrafanaDashboardsArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("openwebui:monitoring:GrafanaDashboards", name, None, opts)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        token = authorization.get_client_token_output(endpoint=MANAGED_GRAFANA_APPLICATION, opts=invoke).token
        provider = grafana.Provider(f"{name}-provider", url=args.grafana_url, auth=pulumi.Output.secret(token),
                                    opts=pulumi.ResourceOptions(parent=self))
        on_grafana = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[args.writer])
        folder = grafana.oss.Folder(f"{name}-folder", uid=f"open-webui-{args.stack}"[:40],
                                    title=f"Open WebUI ({args.stack})", opts=on_grafana)
        client = authorization.get_client_config_output(opts=invoke)

        def models(ids: list[str]) -> dict[str, str]:
            """Dashboard name -> its JSON, once the subscription, group and server names are known."""
            view = StackView(stack=args.stack, namespace=args.namespace, app=args.app, ollama=args.ollama,
                             subscription_id=ids[0], resource_group=ids[1], postgres_server=ids[2], budget=args.budget)
            return {board: json.dumps(model, sort_keys=True) for board, model in dashboards(view).items()}

        configs = pulumi.Output.all(client.subscription_id, args.resource_group_name,
                                    args.postgres_server_name).apply(models)
        boards = {board: grafana.oss.Dashboard(
            f"{name}-{board}", folder=folder.uid, overwrite=True, config_json=configs[board], opts=on_grafana)
            for board in builders(bool(args.ollama))}
        self.urls = pulumi.Output.all(**{board: d.url for board, d in boards.items()})
        self.register_outputs({"urls": self.urls})
