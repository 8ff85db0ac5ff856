"""The theoretical floor of an alert's detection time, read from its rule.

Time to firing cannot beat: up to one scrape + up to one rule evaluation + the time
the expression needs to cross its threshold + `for:` (+ one more evaluation when the
series it reads is recorded in another group). A ratio over a rate window W crosses
θ after θ·W/p when a share p of the requests fail; a quantile q crosses when the slow
share (1-q) of the window is filled: (1-q)·W/p. Time to notification adds
Alertmanager's `group_wait` (REFERENCE.md, "Alert detection: the floor").

What the expression does is read from its PromQL tree, following recording rules by
name: `and` waits for both sides (the longer crossing), `or` for either (the shorter).
A comparison this model cannot time (a drop below a threshold, a gauge) crosses at
once; the floor's note says so rather than pretending.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.alerts.rules import Rule
from harness.promqltree import parse_or_none, walk

__all__ = ["Floor", "ShareOf", "Timing", "floor_of", "prom_seconds"]

# the share p of requests the fault breaks, asked per comparison: ("ratio", θ) is the
# share that fails, ("quantile", θ) the share slower than θ seconds
ShareOf = Callable[[str, float], float]

_RISING = (">", ">=")
_LOGICAL = ("and", "or", "unless")
_PROM_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PROM_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")


@dataclass(frozen=True)
class Timing:
    """The stack's cadences, in seconds."""

    scrape: float
    evaluation: float
    group_wait: float


@dataclass(frozen=True)
class Floor:
    """Seconds from the fault's start; None when the alert cannot fire at this share."""

    fire: float | None
    notify: float | None
    parts: tuple[tuple[str, float], ...]
    note: str

    def explain(self) -> str:
        if not self.parts:  # read back from a journal: the explanation as recorded
            return self.note
        terms = " + ".join(f"{name} {value:g}s" for name, value in self.parts)
        head = "cannot fire" if self.fire is None else f"{self.fire:g}s"
        return f"{head} = {terms}" + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class _Load:
    share_of: ShareOf
    history: float  # seconds of traffic before the fault


@dataclass(frozen=True)
class _Crossing:
    seconds: float | None  # None: never crosses at this share
    note: str


def floor_of(
    alert: Rule,
    rules: Sequence[Rule],
    share: float | ShareOf,
    timing: Timing,
    history: float = math.inf,
) -> Floor:
    """The floor of `alert` when a share of requests (0 < p <= 1) is broken: one share
    for every comparison, or a function asked per comparison. `history`: seconds of
    traffic before the fault (a window only part full of traffic crosses sooner)."""
    records = [r for r in rules if r.kind == "record"]
    share_of = share if callable(share) else (lambda _kind, _threshold: float(share))
    load = _Load(share_of, history)
    tree = parse_or_none(alert.expr)
    cross = _crossing(tree, records, load, set()) if tree is not None else _Crossing(0, "")
    other_groups = sorted(
        {r.group for r in records if r.name in _selected(tree) and r.group != alert.group}
    )
    hold = prom_seconds(alert.for_) if alert.for_ else 0.0
    parts = [("scrape", timing.scrape), ("evaluation", timing.evaluation)]
    if other_groups:
        parts.append(("evaluation of another group", timing.evaluation))
    parts += [("crossing", round(cross.seconds or 0.0, 3)), ("for", hold)]
    if cross.seconds is None:
        return Floor(None, None, tuple(parts), cross.note)
    fire = round(sum(v for _n, v in parts), 3)
    parts.append(("group_wait", timing.group_wait))
    return Floor(fire, round(fire + timing.group_wait, 3), tuple(parts), cross.note)


def prom_seconds(text: str) -> float:
    """A Prometheus duration ("1m30s", "5m", "1d") in seconds; ValueError otherwise."""
    parts = _PROM_PART.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"{text!r} is not a Prometheus duration")
    return float(sum(int(n) * _PROM_UNITS[u] for n, u in parts))


def _crossing(node: object, records: list[Rule], load: _Load, seen: set[str]) -> _Crossing:
    kind = type(node).__name__
    if kind == "BinaryExpr":
        op = str(node.op)  # type: ignore[attr-defined]
        lhs, rhs = node.lhs, node.rhs  # type: ignore[attr-defined]
        if op in _LOGICAL:
            left = _crossing(lhs, records, load, seen)
            if op == "unless":
                return left
            right = _crossing(rhs, records, load, seen)
            return _combine(op, left, right)
        if op in _RISING or op in ("<", "<="):
            return _comparison(op, lhs, rhs, records, load, seen)
    if kind in ("ParenExpr", "AggregateExpr"):
        return _crossing(node.expr, records, load, seen)  # type: ignore[attr-defined]
    if kind == "VectorSelector" and node.name not in seen:  # type: ignore[attr-defined]
        recorded = _records_for(node, records)
        if recorded:
            inner = [parse_or_none(r.expr) for r in recorded]
            found = [
                _crossing(t, records, load, seen | {node.name})  # type: ignore[attr-defined]
                for t in inner
                if t is not None
            ]
            if found:
                return max(found, key=lambda c: float("inf") if c.seconds is None else c.seconds)
    return _Crossing(0.0, "")


def _combine(op: str, left: _Crossing, right: _Crossing) -> _Crossing:
    note = "; ".join(n for n in (left.note, right.note) if n)
    if op == "and":
        if left.seconds is None or right.seconds is None:
            return _Crossing(None, note)
        return _Crossing(max(left.seconds, right.seconds), note)
    known = [c.seconds for c in (left, right) if c.seconds is not None]
    return _Crossing(min(known) if known else None, note)


def _comparison(
    op: str, lhs: object, rhs: object, records: list[Rule], load: _Load, seen: set[str]
) -> _Crossing:
    threshold, vector = _literal(rhs), lhs
    if threshold is None:
        threshold, vector = _literal(lhs), rhs
        op = {">": "<", ">=": "<=", "<": ">", "<=": ">="}[op]
    if threshold is None:
        return _Crossing(0.0, "a comparison of two series is not modelled: crossing 0")
    window, ratio, quantile = _shape(vector, records, seen)
    if window == 0:
        return _Crossing(0.0, "")
    if op not in _RISING:
        return _Crossing(0.0, f"a fall below {threshold:g} is not modelled: crossing 0")
    if quantile is not None:
        needed, what = 1 - quantile, f"(1-q) {1 - quantile:g}"
        share = load.share_of("quantile", threshold)
    elif ratio:
        needed, what = threshold, f"θ {threshold:g}"
        share = load.share_of("ratio", threshold)
    else:
        return _Crossing(0.0, f"a threshold on a rate ({threshold:g}) is not modelled: crossing 0")
    if share <= needed:
        return _Crossing(None, f"p {share:g} never reaches {what}")
    seconds, how = _cross_time(needed, window, share, load.history)
    return _Crossing(seconds, f"{what}, {how}, p {share:.3g}")


def _cross_time(needed: float, window: float, share: float, history: float) -> tuple[float, str]:
    """Seconds until a share `share` of failing requests lifts the windowed ratio to
    `needed`. A window full of steady traffic: needed·W/p. A window with only H seconds
    of traffic before the fault (a stack just started, a load just begun) fills as it
    goes: p·x / (H + x) reaches it at needed·H / (p - needed), if that is before the
    window is full."""
    held = min(history, window)
    early = needed * held / (share - needed)
    if held + early < window:
        return early, f"H {held:g}s of traffic before the fault in W {window:g}s"
    return needed * window / share, f"W {window:g}s"


def _shape(node: object, records: list[Rule], seen: set[str]) -> tuple[float, bool, float | None]:
    """(largest range in seconds, is a division, quantile) of a vector expression,
    through the recording rules it reads."""
    window, ratio, quantile = 0.0, False, None
    for item in walk(node):
        kind = type(item).__name__
        if kind == "MatrixSelector":
            window = max(window, item.range.total_seconds())  # type: ignore[attr-defined]
        elif kind == "BinaryExpr" and str(item.op) == "/":  # type: ignore[attr-defined]
            ratio = True
        elif kind == "Call" and item.func.name == "histogram_quantile":  # type: ignore[attr-defined]
            quantile = _literal(item.args[0])  # type: ignore[attr-defined]
        elif kind == "VectorSelector" and item.name not in seen:  # type: ignore[attr-defined]
            for rule in _records_for(item, records):
                tree = parse_or_none(rule.expr)
                if tree is None:
                    continue
                w, r, q = _shape(tree, records, seen | {item.name})  # type: ignore[attr-defined]
                window, ratio = max(window, w), ratio or r
                quantile = q if q is not None else quantile
    return window, ratio, quantile


def _records_for(selector: object, records: list[Rule]) -> list[Rule]:
    """Recording rules that write what the selector reads: same name, no label of the
    rule contradicting the selector's equality matchers."""
    name = getattr(selector, "name", None)
    if not name:
        return []
    wanted = {
        m.name: m.value
        for m in selector.matchers.matchers  # type: ignore[attr-defined]
        if str(m.op) == "MatchOp.Equal"
    }
    return [
        r
        for r in records
        if r.name == name and all(r.labels.get(k, v) == v for k, v in wanted.items())
    ]


def _selected(tree: object | None) -> set[str]:
    if tree is None:
        return set()
    return {
        str(item.name)  # type: ignore[attr-defined]
        for item in walk(tree)
        if type(item).__name__ == "VectorSelector"
    }


def _literal(node: object) -> float | None:
    """The value of a number, or of arithmetic over numbers (Sloth writes `(14.4 * 0.001)`)."""
    kind = type(node).__name__
    if kind == "NumberLiteral":
        return float(node.val)  # type: ignore[attr-defined]
    if kind == "ParenExpr":
        return _literal(node.expr)  # type: ignore[attr-defined]
    if kind == "UnaryExpr":
        inner = _literal(node.expr)  # type: ignore[attr-defined]
        return None if inner is None else -inner
    if kind == "BinaryExpr":
        a, b = _literal(node.lhs), _literal(node.rhs)  # type: ignore[attr-defined]
        if a is None or b is None:
            return None
        op = str(node.op)  # type: ignore[attr-defined]
        if op == "*":
            return a * b
        if op == "/":
            return a / b if b else None
        if op == "+":
            return a + b
        if op == "-":
            return a - b
    return None
