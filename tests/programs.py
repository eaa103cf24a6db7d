"""The program a rendered Job's main container runs: a file of a ConfigMap it mounts, run by path."""

from __future__ import annotations

from offline_plan.mock_engine import MockRun


def job_program(run: MockRun, app: str) -> str:
    """The schema Job's program as rendered for the app `app`: the schema gate's ConfigMap holds it, the Job mounts
    it where its command names it, and Open WebUI is importable (a script's own folder comes first on sys.path, not
    the image's working directory Open WebUI imports from)."""
    migrate = run.named(f"{app}-migrate").inputs["spec"]["template"]["spec"]
    container = migrate["containers"][0]
    assert container["command"] == ["python", "/schema-gate/schema_job.py"]
    assert {"name": "schema-gate", "mountPath": "/schema-gate", "readOnly": True} in container["volumeMounts"]
    assert {"name": "schema-gate", "configMap": {"name": f"{app}-schema-gate"}} in migrate["volumes"]
    assert {"name": "PYTHONPATH", "value": "/app/backend"} in container["env"]
    return str(run.named(f"{app}-schema-gate").inputs["data"]["schema_job.py"])
