"""Runs the policy pack the way the Pulumi engine does: as `python -m pulumi.policy <engine> policy/`, talking to
the analyzer gRPC server it starts (its port is the first line it prints).

Resources come from a mock run of the program (offline_plan/mock_engine.py): each becomes an AnalyzerResource with its
inputs, parent, dependencies and property dependencies, and is analyzed one by one (Analyze) and as a stack
(AnalyzeStack), with the stack's policy config (policy/<stack>.json) sent through Configure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Iterable, Optional

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from offline_plan.mock_engine import Registration

ROOT = Path(__file__).resolve().parent.parent
POLICY_DIR = ROOT / "policy"
ENFORCEMENT = {"advisory": analyzer_pb2.ADVISORY, "mandatory": analyzer_pb2.MANDATORY,
               "disabled": analyzer_pb2.DISABLED, "remediate": analyzer_pb2.REMEDIATE}
ENFORCEMENT_NAMES = {v: k for k, v in ENFORCEMENT.items()}


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement: str
    message: str
    urn: str

    @property
    def mandatory(self) -> bool:
        return self.enforcement == "mandatory"


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(value)
    return s


def analyzer_resource(r: Registration) -> analyzer_pb2.AnalyzerResource:
    return analyzer_pb2.AnalyzerResource(
        type=r.type, properties=struct(r.inputs), urn=r.urn, name=r.name,
        options=analyzer_pb2.AnalyzerResourceOptions(protect=r.protect, parent=r.parent),
        parent=r.parent, dependencies=r.dependencies,
        propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                              for k, v in r.property_dependencies.items()})


def policy_config_for(stack: str) -> dict[str, Any]:
    path = POLICY_DIR / f"{stack}.json"
    return json.loads(path.read_text()) if path.exists() else {}


class PolicyPackServer:
    """The pack as a subprocess serving the analyzer protocol on 127.0.0.1."""

    def __enter__(self) -> "PolicyPackServer":
        # Started here, connected on first use: the pack's start-up overlaps whatever the caller does meanwhile.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pulumi.policy", "127.0.0.1:0", str(POLICY_DIR)], cwd=POLICY_DIR,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.channel: Optional[grpc.Channel] = None
        return self

    @property
    def stub(self) -> analyzer_pb2_grpc.AnalyzerStub:
        if self.channel is None:
            assert self.process.stdout is not None
            line = self.process.stdout.readline().decode().strip()
            if not line.isdigit():
                self.process.kill()
                _, err = self.process.communicate(timeout=10)
                raise RuntimeError(f"the policy pack did not start: {line}\n{err.decode()}")
            self.channel = grpc.insecure_channel(f"127.0.0.1:{line}")
            self._stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)
        return self._stub

    def __exit__(self, exc_type: Optional[type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        if self.channel is not None:
            self.channel.close()
        self.process.terminate()
        self.process.wait(10)

    def info(self) -> analyzer_pb2.AnalyzerInfo:
        info: analyzer_pb2.AnalyzerInfo = self.stub.GetAnalyzerInfo(empty_pb2.Empty())
        return info

    def configure(self, config: dict[str, Any]) -> None:
        """Per-policy config as the CLI sends it: enforcementLevel plus the policy's properties."""
        policy_config = {}
        for name, values in config.items():
            values = dict(values)
            level = ENFORCEMENT[values.pop("enforcementLevel", "advisory")]
            policy_config[name] = analyzer_pb2.PolicyConfig(enforcementLevel=level, properties=struct(values))
        self.stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=policy_config))

    def analyze(self, registrations: Iterable[Registration]) -> list[Violation]:
        """Every resource through Analyze, then the whole stack through AnalyzeStack."""
        resources = [analyzer_resource(r) for r in registrations]
        # All in flight at once, as the engine sends them while it steps: the pack answers each on its own.
        pending = [self.stub.Analyze.future(analyzer_pb2.AnalyzeRequest(
            type=r.type, properties=r.properties, urn=r.urn, name=r.name, options=r.options)) for r in resources]
        pending.append(self.stub.AnalyzeStack.future(analyzer_pb2.AnalyzeStackRequest(resources=resources)))
        diagnostics = [d for call in pending for d in call.result().diagnostics]
        return [Violation(d.policyName, ENFORCEMENT_NAMES.get(d.enforcementLevel, str(d.enforcementLevel)),
                          d.message, d.urn) for d in diagnostics]


def check_stack(pack: PolicyPackServer, stack: str, registrations: list[Registration]) -> list[Violation]:
    """The pack's verdict on a stack, with that stack's policy config."""
    pack.configure(policy_config_for(stack))
    return pack.analyze(registrations)
