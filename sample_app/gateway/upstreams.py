"""The gateway's view of the topology: `--upstream catalog-1=http://...` flags by dependency."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["DEPENDENCIES", "Upstream", "group_by_dependency", "parse_upstream"]

DEPENDENCIES = ("catalog", "orders")
_REPLICA = re.compile(r"(?P<service>[a-z][a-z0-9_]*(?:-[a-z0-9_]+)*)-(?P<index>\d+)")


@dataclass(frozen=True)
class Upstream:
    name: str  # replica name, e.g. orders-2: bounded by the topology, fine as a label
    url: str

    @property
    def dependency(self) -> str:
        """The service of a replica: its name minus the trailing `-N`."""
        match = _REPLICA.fullmatch(self.name)
        if match is None:
            raise ValueError(f"upstream name {self.name!r} is not <service>-<N>")
        return match["service"]


def parse_upstream(text: str) -> Upstream:
    """`name=url` -> Upstream; raises ValueError with what is wrong."""
    name, sep, url = text.partition("=")
    if not sep or not name or not url.startswith(("http://", "https://")):
        raise ValueError(f"--upstream wants NAME-N=http://host:port, got {text!r}")
    upstream = Upstream(name.strip(), url.strip().rstrip("/"))
    if upstream.dependency not in DEPENDENCIES:
        raise ValueError(f"unknown dependency {upstream.dependency!r} in {text!r}")
    return upstream


def group_by_dependency(upstreams: Iterable[Upstream]) -> dict[str, list[Upstream]]:
    """Replicas of each dependency, in flag order; every dependency must have one."""
    groups: dict[str, list[Upstream]] = {dep: [] for dep in DEPENDENCIES}
    for upstream in upstreams:
        if any(u.name == upstream.name for u in groups[upstream.dependency]):
            raise ValueError(f"upstream {upstream.name} given twice")
        groups[upstream.dependency].append(upstream)
    missing = [dep for dep, ups in groups.items() if not ups]
    if missing:
        raise ValueError(f"the gateway needs --upstream for: {', '.join(missing)}")
    return groups
