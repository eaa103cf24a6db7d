"""The edge: the DNS label, the hostname, the ACME issuer, the e-mail addresses."""

from __future__ import annotations

import re

from components.edge import ISSUERS
from components.stack_config import StackConfig


DNS_LABEL = re.compile(r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$")
HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def default_dns_label(stack: str) -> str:
    return f"openwebui-{re.sub(r'[^a-z0-9-]', '-', stack.lower())}"


def check_edge(c: StackConfig, stack: str) -> list[str]:
    errors = []
    label = c.dns_label or default_dns_label(stack)
    if not DNS_LABEL.match(label):
        errors.append(f"dnsLabel: {label!r} is not an Azure DNS label (3-63 lowercase letters, digits and hyphens, "
                      "starting with a letter); the site's default hostname is built from it.")
    if c.hostname and not HOSTNAME.match(c.hostname):
        errors.append(f"hostname: {c.hostname!r} is not a fully qualified lowercase DNS name such as "
                      "'chat.example.com' (no scheme, port or path); the certificate is issued for exactly this name.")
    if c.acme_issuer not in ISSUERS:
        errors.append(f"acmeIssuer: {c.acme_issuer!r} must be one of {', '.join(ISSUERS)} (staging certificates "
                      "are untrusted by browsers; production's rate limits are strict).")
    for key in ("acmeEmail", "alertEmail"):
        if c.value(key) and not EMAIL.match(c.value(key)):
            errors.append(f"{key}: {c.value(key)!r} is not an email address; leave it empty for none.")
    return errors
