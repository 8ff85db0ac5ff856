"""Checks on parts of an experiment that need more than a type: PromQL, route templates.

They run while the file is validated (harness.specs.experiment calls them), so `validate` and
`run` reject the same files, before anything starts: a query Prometheus would refuse
mid-run, or a route whose `{placeholder}` the load generator cannot fill.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from string import Formatter

import promql_parser

from harness.secrets import REFERENCE
from harness.specs.credentials import header_problems
from harness.specs.yamlload import Loc, Problem

__all__ = ["MAX_QUERY_CHARS", "MAX_QUERY_NESTING", "UNIQUE", "check_promql", "route_problems"]

MAX_QUERY_CHARS = 10_000
MAX_QUERY_NESTING = 100  # the Rust parser overflows its stack somewhere past 5,000
_NOT_ONE_NUMBER = {"MatrixSelector": "a range vector", "SubqueryExpr": "a range vector"}
UNIQUE = {
    "uuid": "a fresh UUID4 per request",
    "seq": "the run's request counter (1, 2, 3, ...: one per request, across routes)",
}


def check_promql(query: str) -> str:
    """A pydantic validator: the query parses and yields an instant vector or a scalar.

    A probe compares one number per series with its threshold, so a range vector
    (`x[5m]`) or a string cannot be a probe even when Prometheus accepts it.
    """
    if len(query) > MAX_QUERY_CHARS:
        raise ValueError(f"PromQL query longer than {MAX_QUERY_CHARS} characters")
    if _nesting(query) > MAX_QUERY_NESTING:
        raise ValueError(f"PromQL query nested more than {MAX_QUERY_NESTING} levels deep")
    try:
        expr = promql_parser.parse(query)
    except ValueError as exc:
        raise ValueError(f"PromQL syntax: {exc}") from None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a Rust panic arrives as pyo3's PanicException
        raise ValueError(f"PromQL syntax: the parser gave up ({exc})") from None
    while type(expr).__name__ == "ParenExpr":
        expr = expr.expr  # type: ignore[attr-defined]
    kind = _NOT_ONE_NUMBER.get(type(expr).__name__)
    if kind is None and type(expr).__name__ == "StringLiteral":
        kind = "a string"
    if kind:
        raise ValueError(f"a probe needs an instant vector or a scalar, and this is {kind}")
    return query


def _nesting(query: str) -> int:
    depth = deepest = 0
    for char in query:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest


def route_problems(
    path: str,
    choices: Mapping[str, Sequence[object]],
    body: object,
    headers: Mapping[str, str] | None = None,
) -> list[Problem]:
    """Placeholders the load generator cannot fill, and choices with nothing to choose.

    `Route.render` fills every `{name}` from `choices`, or `{uuid}` and `{seq}` (see
    UNIQUE): in the path, in header values, and in every string of the JSON body at any
    depth (`{{` and `}}` are literal braces). `${...}` (a secret) is taken in header
    values only, where it is no placeholder.
    """
    problems: list[Problem] = [
        (("choices", name), "no values to choose from")
        for name, vals in choices.items()
        if not vals
    ]
    problems += [
        (("choices", name), f"{name} is reserved: {{{name}}} is {UNIQUE[name]}")
        for name in choices
        if name in UNIQUE
    ]
    problems += _template_problems(("path",), path, choices)
    found = header_problems(headers or {})
    problems += found
    for name, value in (headers or {}).items():
        if not any(loc == ("headers", name) for loc, _ in found):
            problems += _template_problems(("headers", name), REFERENCE.sub("", value), choices)
    for loc, text in _strings(body, ("json",)):
        problems += _template_problems(loc, text, choices)
    return problems


def _template_problems(
    loc: Loc, text: str, choices: Mapping[str, Sequence[object]]
) -> list[Problem]:
    if REFERENCE.search(text):
        return [(loc, "${...} (a secret) is taken in header values, URLs and basic_auth only")]
    try:
        fields = [(n, s, c) for _, n, s, c in Formatter().parse(text) if n is not None]
    except ValueError as exc:
        return [(loc, f"{text!r}: {exc} (write {{{{ and }}}} for braces)")]
    problems: list[Problem] = []
    for name, spec, conversion in fields:
        if not name.isidentifier() or spec or conversion:
            problems.append((loc, f"placeholder {{{name}}} must be a plain {{name}}"))
        elif name not in choices and name not in UNIQUE:
            problems.append((loc, f"placeholder {{{name}}} has no entry in choices"))
    return problems


def _strings(value: object, loc: Loc) -> Iterator[tuple[Loc, str]]:
    """Every string in a JSON value, with where it is."""
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, (*loc, key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _strings(item, (*loc, i))
