"""Grafana variables in PromQL: placeholders to parse a query, values to evaluate it.

Grafana writes variables as `$name`, `${name}`, `${name:format}` and `[[name]]`; none
is PromQL. To parse a query, each becomes a placeholder of the right kind: the time
variables (`$__rate_interval`, `$__range`, ...) distinctive durations (so a lint can
tell `[$__rate_interval]` from a fixed `[5m]`), the numeric ones numbers, a variable in a
range `[...]` a duration, any other an identifier. To evaluate a query against a live
Prometheus, a variable inside a `=~`/`!~` matcher becomes `.*` (any of its values), one
in a `=`/`!=` matcher its current value, and the time variables real durations.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import Any

import promql_parser

from harness.promqltree import walk

__all__ = [
    "RATE_INTERVAL",
    "PromQLError",
    "Unresolved",
    "matchers",
    "parse",
    "rate_ranges",
    "substitute",
    "variables_in",
    "with_placeholders",
]

VARIABLE = re.compile(
    r"\$\{(?P<braced>[A-Za-z_][\w.]*)(?::[^}]*)?\}"
    r"|\[\[(?P<bracketed>[A-Za-z_][\w.]*)(?::[^\]]*)?\]\]"
    r"|\$(?P<plain>[A-Za-z_]\w*)"
)
MATCHER = re.compile(r'(?P<op>=~|!~|!=|=)\s*"(?P<value>(?:[^"\\]|\\.)*)"')
# durations no dashboard writes by hand: a parsed range of exactly this is the variable
_DURATIONS = {"__rate_interval": 1000001, "__interval": 1000002, "__range": 1000003}
_NUMBERS = {"__interval_ms": 1000004, "__range_ms": 1000005, "__range_s": 1000006}
_NUMBERS |= {"__from": 1000007, "__to": 1000008}
_OTHER_DURATION = 1000009
RATE_INTERVAL = timedelta(seconds=_DURATIONS["__rate_interval"])
RATE_FUNCTIONS = frozenset({"rate", "irate"})


class PromQLError(ValueError):
    """A query that does not parse, even with its variables replaced."""


class Unresolved(ValueError):
    """A variable with no value to evaluate a query with (used outside a regex matcher)."""


def _name(match: re.Match[str]) -> str:
    return match["braced"] or match["bracketed"] or match["plain"]


def variables_in(text: str) -> set[str]:
    return {_name(m) for m in VARIABLE.finditer(text)}


def with_placeholders(expr: str) -> str:
    """The query with every variable replaced by a placeholder PromQL can parse."""

    def placeholder(match: re.Match[str]) -> str:
        name = _name(match)
        if name in _DURATIONS:
            return f"{_DURATIONS[name]}s"
        if name in _NUMBERS:
            return str(_NUMBERS[name])
        if expr[: match.start()].rstrip().endswith("["):
            return f"{_OTHER_DURATION}s"
        return f"var_{name.replace('.', '_')}"

    return VARIABLE.sub(placeholder, expr)


def parse(expr: str) -> Any:
    """The AST of a query with its variables replaced; PromQLError says why not."""
    try:
        return promql_parser.parse(with_placeholders(expr))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 — the parser's Rust panics are BaseExceptions
        raise PromQLError(" ".join(str(exc).split()) or type(exc).__name__) from None


def matchers(node: Any) -> Iterator[tuple[str, str, str]]:
    """(label, op, value) of every label matcher of every selector in the AST."""
    for current in walk(node):
        found = getattr(current, "matchers", None)
        if found is None or not hasattr(found, "matchers"):
            continue
        groups = [found.matchers, *getattr(found, "or_matchers", [])]
        for group in groups:
            for m in group:
                yield m.name, str(m.op).rsplit(".", 1)[-1], m.value


def rate_ranges(node: Any) -> Iterator[tuple[str, timedelta]]:
    """(function, range) of every rate() and irate() over a range selector."""
    for current in walk(node):
        func = getattr(getattr(current, "func", None), "name", "")
        args = list(getattr(current, "args", None) or [])
        if func in RATE_FUNCTIONS and args and isinstance(args[0], promql_parser.MatrixSelector):
            yield func, args[0].range


def substitute(
    expr: str,
    regex_value: Callable[[str], str],
    value: Callable[[str], str | None],
    times: Mapping[str, str],
) -> str:
    """The query as Prometheus can run it. `regex_value(name)` stands for a variable in a
    `=~`/`!~` matcher, `value(name)` for one elsewhere (None: Unresolved), `times` gives
    the time variables (`__rate_interval` → `16s`)."""

    def in_matcher(match: re.Match[str]) -> str:
        regex = match["op"] in ("=~", "!~")
        inner = VARIABLE.sub(lambda v: _one(v, regex_value if regex else value), match["value"])
        return f'{match["op"]}"{inner}"'

    def elsewhere(match: re.Match[str]) -> str:
        name = _name(match)
        return times[name] if name in times else _one(match, value)

    return VARIABLE.sub(elsewhere, MATCHER.sub(in_matcher, expr))


def _one(match: re.Match[str], lookup: Callable[[str], str | None]) -> str:
    name = _name(match)
    found = lookup(name)
    if found is None:
        raise Unresolved(f"${name} has no value to evaluate the query with")
    return found
