"""The openwebui-aks policy pack: `pulumi preview --policy-pack policy --policy-pack-config policy/<stack>.json`."""

from pulumi_policy import PolicyPack

from policies import POLICIES

PolicyPack(name="openwebui-aks", policies=POLICIES)
