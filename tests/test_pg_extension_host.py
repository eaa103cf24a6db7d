"""The pickled PgExtensionProvider, served by the SDK's own dynamic-provider host (`python -m pulumi.dynamic`).

This is what the engine runs during `pulumi up`: it unpickles the provider from the `__provider` property and
calls it over gRPC. The host runs from an empty directory with no PYTHONPATH, so the provider must travel
whole in its pickle (it cannot import this repo's `components` package there).
"""

import os
import subprocess
import sys
from typing import Any, Iterator

import grpc
import psycopg
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import proto, rpc
from pulumi.runtime.proto import provider_pb2_grpc

from components.pg_extension import PgExtensionProvider
from testing.postgres_server import SUPERUSER, SUPERUSER_PASSWORD
from offline_plan.policy_client import struct

URN = "urn:pulumi:dev::openwebui-aks::pulumi-python:dynamic/postgres:Extension::vector"



@pytest.fixture
def host(tmp_path) -> Iterator[Any]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen([sys.executable, "-m", "pulumi.dynamic"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    port = int(proc.stdout.readline().decode().strip())
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = provider_pb2_grpc.ResourceProviderStub(channel)
    stub.Configure(proto.ConfigureRequest(args=struct({})))
    yield stub
    channel.close()
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def news(postgres, database) -> dict[str, Any]:
    return {"__provider": serialize_provider(PgExtensionProvider()), "host": postgres.host,
            "port": postgres.port, "database": database, "user": SUPERUSER, "password": SUPERUSER_PASSWORD,
            "sslmode": "disable", "name": "vector", "connect_retry_seconds": 0}


def test_host_runs_check_create_read_diff_delete(host, news, postgres, database):
    checked = host.Check(proto.CheckRequest(urn=URN, olds=struct({}), news=struct(news)))
    assert list(checked.failures) == []
    inputs = rpc.deserialize_properties(checked.inputs)
    assert inputs["sslmode"] == "disable" and inputs["drop_on_delete"] is False

    created = host.Create(proto.CreateRequest(urn=URN, properties=checked.inputs))
    outs = rpc.deserialize_properties(created.properties)
    assert created.id == f"{postgres.host}:{postgres.port}/{database}/vector"
    assert outs["installed_version"] == "0.8.6"

    read = host.Read(proto.ReadRequest(id=created.id, urn=URN, properties=created.properties))
    assert read.id == created.id
    assert rpc.deserialize_properties(read.properties)["installed_schema"] == "public"

    same = host.Diff(proto.DiffRequest(id=created.id, urn=URN, olds=created.properties, news=checked.inputs))
    assert same.changes == proto.DiffResponse.DIFF_NONE
    moved = host.Diff(proto.DiffRequest(id=created.id, urn=URN, olds=created.properties,
                                        news=struct({**inputs, "database": "elsewhere"})))
    assert moved.changes == proto.DiffResponse.DIFF_SOME
    assert list(moved.replaces) == ["database"]

    host.Delete(proto.DeleteRequest(id=created.id, urn=URN, properties=created.properties))
    with psycopg.connect(postgres.conninfo(dbname=database)) as conn:
        # the default delete keeps the extension (Open WebUI's vectors depend on it)
        assert conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone() == ("0.8.6",)


def test_host_reports_out_of_band_drop_as_gone(host, news, postgres, database):
    checked = host.Check(proto.CheckRequest(urn=URN, olds=struct({}), news=struct(news)))
    created = host.Create(proto.CreateRequest(urn=URN, properties=checked.inputs))
    with psycopg.connect(postgres.conninfo(dbname=database), autocommit=True) as conn:
        conn.execute("DROP EXTENSION vector")
    read = host.Read(proto.ReadRequest(id=created.id, urn=URN, properties=created.properties))
    assert read.id == ""


def test_host_check_failure_names_the_property(host, news):
    checked = host.Check(proto.CheckRequest(urn=URN, olds=struct({}), news=struct({**news, "name": "Bad Name"})))
    assert [(f.property, "extension name" in f.reason) for f in checked.failures] == [("name", True)]


def test_host_error_never_shows_the_password(host, news):
    checked = host.Check(proto.CheckRequest(urn=URN, olds=struct({}),
                                            news=struct({**news, "password": "wrong-secret-pw"})))
    with pytest.raises(grpc.RpcError) as failed:
        host.Create(proto.CreateRequest(urn=URN, properties=checked.inputs))
    assert "cannot log in" in str(failed.value.details())
    assert "wrong-secret-pw" not in str(failed.value.details())
