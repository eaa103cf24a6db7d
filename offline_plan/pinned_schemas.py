"""Checks for what kubernetes-validate does not know: custom resources against their CRD's pinned schema, and a
Helm release's values against its chart's own values.schema.json (both in offline_plan/schemas/, see its README)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMAS = Path(__file__).parent / "schemas"
CUSTOM_RESOURCES = {("cert-manager.io/v1", "ClusterIssuer"): "cert-manager-v1.21.1.clusterissuer.schema.json",
                    ("traefik.io/v1alpha1", "Middleware"): "traefik-41.3.0.middleware.schema.json",
                    ("azmonitoring.coreos.com/v1", "PodMonitor"): "azure-monitor-metrics-addon.podmonitor.schema.json"}
CHART_VALUES = {("traefik", "41.3.0"): "traefik-41.3.0.values.schema.json",
                ("cert-manager", "v1.21.1"): "cert-manager-v1.21.1.values.schema.json"}
CHART_CUSTOM_RESOURCES = {("traefik", "41.3.0"): {"tlsOptions": "traefik-41.3.0.tlsoption.schema.json"}}
"""Values a chart turns into custom resources, one per entry, the entry (less its labels) as the spec (traefik's
templates/tlsoption.yaml): checked against the CRD, since the chart's own schema says only 'object'."""


def is_custom_resource(obj: dict[str, Any]) -> bool:
    return (obj.get("apiVersion"), obj.get("kind")) in CUSTOM_RESOURCES


def _strict(schema: Any) -> Any:
    """The API server's strict field validation: an object schema admits only its declared fields (a typo in an
    issuer is an error here, not a field silently pruned)."""
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if "properties" in schema and "additionalProperties" not in schema \
                and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@cache
def _validator(file: str, strict: bool) -> Any:
    schema = json.loads((SCHEMAS / file).read_text())
    schema = _strict(schema) if strict else schema
    return jsonschema.validators.validator_for(schema)(schema)


def _errors(validator: Any, instance: Any, what: str) -> list[str]:
    return [f"{what}: {e.message} at {'.'.join(map(str, e.absolute_path)) or '(root)'}"
            for e in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))]


def validate_custom_resource(obj: dict[str, Any]) -> list[str]:
    file = CUSTOM_RESOURCES[(obj["apiVersion"], obj["kind"])]
    # metadata is the API server's to check (the CRD schema only says it is an object)
    return _errors(_validator(file, strict=True), obj, f"{obj['kind']}/{obj.get('metadata', {}).get('name')}")


def validate_release(inputs: dict[str, Any]) -> list[str]:
    chart, version = str(inputs.get("chart")), str(inputs.get("version"))
    file = CHART_VALUES.get((chart, version))
    if file is None:
        return [f"Helm release {inputs.get('name')}: no pinned values schema for chart {chart} {version}; "
                "add the chart's values.schema.json to offline_plan/schemas/ (see its README)."]
    values = inputs.get("values", {})
    errors = _errors(_validator(file, strict=False), values, f"Helm release {inputs.get('name')} values")
    for key, crd in CHART_CUSTOM_RESOURCES.get((chart, version), {}).items():
        for name, entry in (values.get(key) or {}).items():
            spec = {k: v for k, v in entry.items() if k != "labels"}
            errors += _errors(_validator(crd, strict=True), {"metadata": {"name": name}, "spec": spec},
                              f"Helm release {inputs.get('name')} values {key}.{name}")
    return errors
