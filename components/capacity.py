"""The capacity family: what a stack wants at its peak against what it can ever have, checked before anything is
declared. Three members share this shape: the connection budget (connection_budget.py), the GPU capacity
(gpu_capacity.py) and the node capacity (node_capacity.py). Config validation, the offline plan and the policy pack
treat them alike: a check that is not within gives a violation naming the knobs as the caller calls them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Protocol


class Capacity(Protocol):
    @property
    def within(self) -> bool: ...

    def arithmetic(self) -> str: ...

    def violation(self, names: Mapping[str, str]) -> str: ...


@dataclass(frozen=True)
class CapacityCheck:
    title: str
    """What it checks, as the plan heads it."""
    capacity: Capacity
    keys: Mapping[str, str]
    """The check's knobs ('replicas', 'max_nodes', ...) as this program's config calls them."""

    def error(self) -> Optional[str]:
        return None if self.capacity.within else self.capacity.violation(self.keys)
