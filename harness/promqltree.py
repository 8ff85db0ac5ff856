"""PromQL syntax trees (promql-parser): parse without letting a panic escape, and walk
every node. The alert lints, the detection floor and the dashboard lints all read trees
through these, so a node one of them can reach the others reach too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import promql_parser

__all__ = ["parse_or_none", "walk"]

# where a node keeps its children, besides a call's `args`; `vector_selector` is the
# selector inside a range (`x[5m]`) and a subquery
_CHILDREN = ("lhs", "rhs", "expr", "param", "vector_selector")


def parse_or_none(expr: str) -> Any | None:
    """The tree of `expr`; None when it does not parse (whoever needs the reason uses
    promtool or `harness.specs.checks`)."""
    try:
        return promql_parser.parse(expr)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001 — the parser's Rust panics are BaseExceptions
        return None


def walk(node: Any) -> Iterator[Any]:
    """Every node of a tree, parents first, arguments in order."""
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        for attr in _CHILDREN:
            child = getattr(current, attr, None)
            if child is not None and not isinstance(child, int | float | str):
                todo.append(child)
        todo.extend(reversed(list(getattr(current, "args", None) or [])))
