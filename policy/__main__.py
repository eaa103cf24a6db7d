"""The openwebui-aks policy pack: `pulumi preview --policy-pack policy --policy-pack-config policy/<stack>.json`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the program's components/, for its arithmetic

from pulumi_policy import PolicyPack  # noqa: E402

from policies import POLICIES  # noqa: E402

PolicyPack(name="openwebui-aks", policies=POLICIES)
