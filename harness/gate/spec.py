"""Gate files (`version: harness/v1`, `kind: gate`): objectives, their criteria, policies.

An objective reads one indicator over the gate's range — an SLO's (`sli`,
`error_ratio`, `budget_remaining`, `burn_rate`, `page_burn`, `requests`) or any
PromQL (`query`, with `{{.range}}` for the range's window) — and compares it with
criteria: absolute (`threshold`, or `objective` for the SLO's own) or relative to a
baseline (`relative: "+10%"` of the baseline's value, or `"+0.001"` added to it). All
`pass` criteria must hold to pass; failing those but holding every `warn` criterion
warns. With no gate file, `default_gate` makes one from the SLOs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from harness.slo.spec import SloFile
from harness.specs.base import NAME, Strict
from harness.specs.checks import check_promql
from harness.specs.durations import Duration
from harness.specs.yamlload import FieldError, load_model

__all__ = [
    "Criterion",
    "GateFile",
    "GateSettings",
    "Indicator",
    "NoDataPolicy",
    "Objective",
    "default_gate",
    "load_gate",
    "relative_bound",
]

Indicator = Literal[
    "sli", "error_ratio", "budget_remaining", "burn_rate", "page_burn", "requests", "query"
]
NoDataPolicy = Literal["inconclusive", "fail", "ignore"]
SLO_INDICATORS = ("sli", "error_ratio", "budget_remaining", "burn_rate", "page_burn", "requests")
_RELATIVE = re.compile(r"^([+-])(\d+(?:\.\d+)?)(%?)$")
RANGE = re.compile(r"\{\{\s*\.range\s*\}\}")


class Criterion(Strict):
    """`value op threshold`: the threshold absolute, the SLO's objective, or relative."""

    op: Literal["<", "<=", ">", ">="]
    threshold: float | Literal["objective"] | None = Field(
        None, description="a number, or `objective`: the SLO's objective as a ratio"
    )
    relative: str | None = Field(
        None,
        description='to the baseline\'s value: "+10%" (times 1.1) or "+0.001" (added)',
    )

    @model_validator(mode="after")
    def _one(self) -> Criterion:
        if (self.threshold is None) == (self.relative is None):
            raise FieldError((), "give threshold or relative, not both and not neither")
        if self.relative is not None and not _RELATIVE.match(self.relative):
            raise FieldError(("relative",), 'write a signed change: "+10%", "-5%", "+0.001"')
        return self

    def describe(self) -> str:
        if self.relative is not None:
            return f"{self.op} baseline {self.relative}"
        return f"{self.op} {self.threshold}"


def relative_bound(baseline: float, relative: str) -> float:
    """The threshold a relative criterion sets from the baseline's value."""
    match = _RELATIVE.match(relative)
    assert match is not None  # validated on load
    sign = -1.0 if match.group(1) == "-" else 1.0
    amount = float(match.group(2)) * sign
    return baseline * (1 + amount / 100) if match.group(3) else baseline + amount


class Objective(Strict):
    name: str = Field(pattern=NAME, description="unique in the gate")
    indicator: Indicator = Field(description="what is measured over the gate's range")
    slo: str | None = Field(None, description="the SLO (its name) an SLO indicator reads")
    query: str | None = Field(
        None, description="for indicator: query — PromQL giving one number; {{.range}} = the range"
    )
    window: Duration | None = Field(
        None, gt=0, description="burn_rate: over this window ending at the range's end"
    )
    pass_: tuple[Criterion, ...] = Field((), alias="pass", description="all must hold to pass")
    warn: tuple[Criterion, ...] = Field(
        (), description="failing `pass` but holding all of these warns"
    )
    weight: float = Field(1.0, ge=0, le=1000)
    key: bool = Field(False, description="failing it fails the gate, whatever the score")
    no_data: NoDataPolicy = Field(
        "inconclusive", description="no value: inconclusive (default), fail, or ignore"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Objective:
        if not self.pass_:
            raise FieldError(("pass",), "an objective needs at least one pass criterion")
        if self.indicator == "query":
            if not self.query:
                raise FieldError(("query",), "indicator query needs a query")
            try:
                check_promql(RANGE.sub("1h", self.query))
            except ValueError as exc:
                raise FieldError(("query",), str(exc)) from None
        elif self.slo is None:
            raise FieldError(("slo",), f"indicator {self.indicator} reads an SLO: name it")
        if self.indicator == "burn_rate" and self.window is None:
            raise FieldError(("window",), "burn_rate needs a window (e.g. 1h)")
        uses_objective = any(c.threshold == "objective" for c in (*self.pass_, *self.warn))
        if uses_objective and self.slo is None:
            raise FieldError(("pass",), "threshold: objective needs an slo")
        return self


class GateSettings(Strict):
    min_requests: int = Field(
        100, ge=0, description="fewer requests in the range (every SLO's) is inconclusive"
    )
    max_no_data_share: float = Field(
        0.5, ge=0, le=1, description="more objectives than this share without data: inconclusive"
    )
    pass_score: float = Field(90, ge=0, le=100, alias="pass", description="score % to pass")
    warn_score: float = Field(75, ge=0, le=100, alias="warn", description="score % to warn")

    @model_validator(mode="after")
    def _ordered(self) -> GateSettings:
        if self.warn_score > self.pass_score:
            raise FieldError(("warn",), "the warn score cannot be above the pass score")
        return self


class GateFile(Strict):
    version: Literal["harness/v1"]
    kind: Literal["gate"]
    settings: GateSettings = GateSettings()
    objectives: tuple[Objective, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> GateFile:
        names = [o.name for o in self.objectives]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise FieldError(("objectives", i, "name"), f"a second objective named {name!r}")
        return self

    def check_slos(self, slos: list[SloFile], source: str) -> list[str]:
        """Objectives naming an SLO no file defines."""
        known = {s.name for f in slos for s in f.slos}
        return [
            f"{source}: objective {o.name}: no SLO named {o.slo!r} (known: {', '.join(sorted(known))})"
            for o in self.objectives
            if o.slo is not None and o.slo not in known
        ]


def load_gate(path: Path) -> GateFile:
    return load_model(path, GateFile)


def default_gate(slos: list[SloFile]) -> GateFile:
    """Per SLO: its SLI meets the objective (key), budget left (warn under 25%, fail when
    spent), no page-level burn at the end of the range, and enough traffic."""
    objectives: list[Objective] = []
    for spec in slos:
        for slo in spec.slos:
            objectives += [
                Objective.model_validate(
                    {
                        "name": f"{slo.name}-sli",
                        "indicator": "sli",
                        "slo": slo.name,
                        "pass": [{"op": ">=", "threshold": "objective"}],
                        "key": True,
                        "weight": 2,
                    }
                ),
                Objective.model_validate(
                    {
                        "name": f"{slo.name}-budget",
                        "indicator": "budget_remaining",
                        "slo": slo.name,
                        "pass": [{"op": ">=", "threshold": 0.25}],
                        "warn": [{"op": ">", "threshold": 0}],
                    }
                ),
                Objective.model_validate(
                    {
                        "name": f"{slo.name}-no-page-burn",
                        "indicator": "page_burn",
                        "slo": slo.name,
                        "pass": [{"op": "<", "threshold": 1}],
                    }
                ),
            ]
    return GateFile(version="harness/v1", kind="gate", objectives=tuple(objectives))
