"""How far back a probe's value reaches: what must lie inside a fault before a `during`
evaluation says anything about the fault.

A client probe counts the requests of its last `window`; a PromQL probe reads its
longest range selector (with its offset) plus one scrape interval, the age of the
newest sample; a Kubernetes probe reads the cluster as it is now (a restarts `window`:
that last stretch). Until that much of the fault has passed, the value still holds what
happened before it: right after an injection a 2 s error ratio is mostly pre-fault
successes. An explicit `settle:` on a probe overrides the look-back either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from harness.promqltree import parse_or_none, walk
from harness.specs.probes import AnyProbe, ClientProbe, KubernetesProbe

__all__ = ["Settle", "range_seconds", "settle_of"]


@dataclass(frozen=True)
class Settle:
    """Seconds after the fault's start before a probe's evaluations are judged."""

    seconds: float
    basis: str  # what sets it: "2 s window", "10 s range + 1 s scrape", "settle of 3 s"
    why: str  # why an evaluation before then is not judged


def settle_of(probe: AnyProbe, evaluation: float) -> Settle:
    """The look-back of `probe` (`evaluation`: the stack's scrape interval, in seconds)."""
    if isinstance(probe, ClientProbe):
        why = "window still holds pre-fault requests"
        if probe.settle is not None:
            return Settle(probe.settle, f"settle of {probe.settle:g} s", why)
        return Settle(probe.window, f"{probe.window:g} s window", why)
    if isinstance(probe, KubernetesProbe):
        return _kubernetes(probe)
    why = "look-back still holds pre-fault samples"
    if probe.settle is not None:
        return Settle(probe.settle, f"settle of {probe.settle:g} s", why)
    reach = range_seconds(probe.query)
    basis = f"{reach:g} s range + {evaluation:g} s scrape" if reach else f"{evaluation:g} s scrape"
    return Settle(reach + evaluation, basis, why)


def _kubernetes(probe: KubernetesProbe) -> Settle:
    """A reading of the cluster as it is now reaches back nothing; a restarts `window`
    reaches back that far."""
    window = probe.kubernetes.window
    why = "window still holds pre-fault restarts"
    if probe.settle is not None:
        return Settle(probe.settle, f"settle of {probe.settle:g} s", why)
    if window is not None:
        return Settle(window, f"{window:g} s window", why)
    return Settle(0.0, "reading of now", why)


def range_seconds(query: str) -> float:
    """The furthest back `query` reads: its longest range selector with its offset, a
    subquery's range on top of what its inner query reads (0: no range, or the query
    does not parse)."""
    tree = parse_or_none(query)
    return 0.0 if tree is None else _reach(tree)


def _reach(tree: Any) -> float:
    longest = 0.0
    for node in walk(tree):
        kind = type(node).__name__
        if kind == "MatrixSelector":
            offset = _seconds(getattr(node.vector_selector, "offset", None))
            longest = max(longest, _seconds(node.range) + offset)
        elif kind == "SubqueryExpr":
            own = _seconds(node.range) + _seconds(getattr(node, "offset", None))
            longest = max(longest, own + _reach(node.expr))
    return longest


def _seconds(value: Any) -> float:
    """A parser duration (a timedelta) in seconds; a missing or negative offset is 0."""
    if isinstance(value, timedelta):
        return max(0.0, value.total_seconds())
    return 0.0
