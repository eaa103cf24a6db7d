"""What the PostgreSQL dynamic providers share (PgExtension, PgRole): how they are pickled and how they connect.

A dynamic provider is pickled with dill into the stack's state and runs inside every `pulumi up`, `refresh` and
`destroy`. The SDK pickles its class by value, so everything it needs lives on the class: imports happen inside
methods, constants are class attributes, and no config or module state is captured. Credentials arrive as inputs
on every call (a rotated password is used the next time).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Sequence

import pulumi
from pulumi.dynamic import CheckFailure, ResourceProvider


def pickled_by_value(cls: type) -> type:
    """Makes dill store the class and its methods whole in the state, not as an import of this module.

    dill pickles a class or function by reference unless it belongs to __main__. By value, the provider in
    the state does not depend on this repo's module layout and the provider host need not import
    `components` (pulumi/pulumi#7453; the SDK's own __module__ rewrite from #7755 is gone in 3.2xx).
    """
    cls.__module__ = "__main__"
    for attr in vars(cls).values():
        if inspect.isfunction(attr):
            attr.__module__ = "__main__"
    return cls


@pickled_by_value
class PgServerProvider(ResourceProvider):
    """A provider that logs in to one database of the server as its admin for each call."""

    SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
    CONNECTION_KEYS = ("host", "port", "database", "user", "password", "sslmode")
    CONNECTION_DEFAULTS: dict[str, Any] = {"port": 5432, "sslmode": "require", "connect_retry_seconds": 300}
    FIREWALL_CONFIG_KEY = "postgresFirewallRules"
    APPLICATION_NAME = "pulumi"

    def _check_connection(self, inputs: dict[str, Any], required: Sequence[str]) -> list[CheckFailure]:
        """The connection inputs' failures (`inputs` has the defaults; a whole float port becomes an int)."""
        failures = []
        for key in ("host", "database", "user", "password", *required):
            if not isinstance(inputs.get(key), str) or not inputs[key]:
                failures.append(CheckFailure(key, f"'{key}' is required and must be a non-empty string"))
        port = inputs.get("port")
        if isinstance(port, float) and port.is_integer():
            inputs["port"] = port = int(port)
        if not isinstance(port, int) or not 1 <= port <= 65535:
            failures.append(CheckFailure("port", f"port {port!r} must be a whole number from 1 to 65535"))
        if inputs.get("sslmode") not in self.SSLMODES:
            failures.append(CheckFailure("sslmode", f"sslmode {inputs.get('sslmode')!r} must be one of "
                                                    f"{', '.join(self.SSLMODES)}"))
        retry = inputs.get("connect_retry_seconds")
        if not isinstance(retry, (int, float)) or retry < 0:
            failures.append(CheckFailure("connect_retry_seconds",
                                         "connect_retry_seconds must be a number of seconds, 0 or more"))
        return failures

    def _connect(self, props: dict[str, Any]) -> Any:
        import time

        import psycopg

        deadline = time.monotonic() + float(props.get("connect_retry_seconds", 300))
        delay = 1.0
        while True:
            try:
                return psycopg.connect(host=props["host"], port=int(props["port"]), dbname=props["database"],
                                       user=props["user"], password=props["password"], sslmode=props["sslmode"],
                                       connect_timeout=10, autocommit=True, application_name=self.APPLICATION_NAME)
            except psycopg.OperationalError as e:
                message = self._scrub(str(e), props)
                if "authentication failed" in message or "does not exist" in message:
                    raise Exception(f"cannot log in to PostgreSQL at {props['host']}:{props['port']} as "
                                    f"{props['user']!r}: {message.strip()}") from None
                if time.monotonic() + delay > deadline:
                    raise Exception(
                        f"cannot reach PostgreSQL at {props['host']}:{props['port']} (database "
                        f"{props['database']!r}) after retrying for {props.get('connect_retry_seconds')}s: "
                        f"{message.strip()}. A new server and its firewall rules take minutes to be ready; if it "
                        f"persists, allow the address running Pulumi in the config key {self.FIREWALL_CONFIG_KEY} "
                        "(pulumi config set --path ...). With postgresNetwork private the server has no public "
                        "endpoint at all: run Pulumi from inside its VNet (a self-hosted runner; "
                        "docs/network-and-edge.md, 'Network').") from None
                time.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _scrub(self, text: str, props: dict[str, Any]) -> str:
        password = props.get("password")
        return text.replace(password, "***") if isinstance(password, str) and password else text



@dataclass
class PgConnectionArgs:
    host: pulumi.Input[str]
    database: pulumi.Input[str]
    user: pulumi.Input[str]
    password: pulumi.Input[str]
    port: int = 5432
    sslmode: str = "require"
