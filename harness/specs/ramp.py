"""Gradual chaos: an experiment's `ramp:`, the steps that widen its faults.

A ramp runs the experiment's faults once per step, each step wider than the last: more
replicas of one target (`count` or `percent`), or a larger magnitude (any setting of
the faults, such as `latency_ms` or `load`). Between steps every fault is rolled back
and the steady state must return. The ramp stops at the first step that breaks (a
guardrail breached, an expectation or a named SLO not met, no recovery) or at the
first step the blast radius refuses; the step before it is the breaking point's lower
bound, reported as "holds at ..., breaks at ...".
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.specs.base import MAX_COUNT, Strict
from harness.specs.yamlload import FieldError, Problem

__all__ = ["Ramp", "RampStep", "step_problems", "with_settings"]

MAX_STEPS = 20
_FIXED = ("type", "target", "family")  # what a step may not change in a fault


class RampStep(BaseModel):
    """One step: `count` or `percent` of the ramp's target, and/or fault settings.

    Any key other than count and percent is a setting of the experiment's faults
    (`latency_ms: 300`, `load: 90`, `duration: 20s`): it applies to every fault that
    has that setting, and at least one must.
    """

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)

    count: int | None = Field(
        None, ge=1, le=MAX_COUNT, description="this many live replicas of the ramp's target"
    )
    percent: float | None = Field(
        None, gt=0, le=100, description="this share of the target's live replicas (floor, >= 1)"
    )

    @model_validator(mode="after")
    def _one_width(self) -> RampStep:
        if self.count is not None and self.percent is not None:
            raise FieldError(("percent",), "give count or percent, not both")
        if self.count is None and self.percent is None and not self.settings:
            raise FieldError((), "a step sets count, percent or a fault setting")
        return self

    @property
    def settings(self) -> dict[str, Any]:
        """The fault settings this step overrides (everything but count and percent)."""
        return dict(self.model_extra or {})

    def describe(self, service: str | None = None) -> str:
        """ "2 replicas of orders", "latency_ms=300", or both."""
        parts = []
        if self.count is not None:
            parts.append(f"{self.count} {service or 'target'} replica{'s' * (self.count > 1)}")
        if self.percent is not None:
            parts.append(f"{self.percent:g}% of {service or 'target'} replicas")
        parts += [f"{k}={v}" for k, v in self.settings.items()]
        return ", ".join(parts)


class Ramp(Strict):
    target: str | None = Field(
        None,
        description="the name under `targets` (a service selector) whose count or percent "
        "the steps set; needed when a step sets count or percent",
    )
    steps: tuple[RampStep, ...] = Field(
        min_length=2,
        max_length=MAX_STEPS,
        description="from narrowest to widest; each runs every fault of the experiment once, "
        "with its count, percent or fault settings",
    )
    hold_through: int | None = Field(
        None,
        ge=0,
        description="the hypothesis: steps 1 to N hold (default: every step); a break at or "
        "before step N deviates (a guardrail breach aborts); 0 only measures",
    )
    slos: tuple[str, ...] = Field(
        (),
        description="SLOs of the stack (their `name` in its SLO files) judged on each step: "
        "the SLI over the step's fault window must meet the objective, and no data breaks it",
    )

    @property
    def must_hold(self) -> int:
        """How many steps the hypothesis says hold."""
        return len(self.steps) if self.hold_through is None else self.hold_through


def step_problems(ramp: Ramp, selectors: dict[str, Any], faults: tuple[Any, ...]) -> list[Problem]:
    """What in the ramp does not fit the experiment, located under `ramp`.

    A count or percent needs `target` naming a service selector; every setting must be
    one that some fault has, and every fault that has it must accept the value;
    `hold_through` is one of the steps.
    """
    problems: list[Problem] = []
    widens = any(s.count is not None or s.percent is not None for s in ramp.steps)
    if ramp.target is not None and ramp.target not in selectors:
        known = ", ".join(sorted(selectors))
        problems.append((("target",), f"unknown target {ramp.target!r} (known: {known})"))
    elif ramp.target is not None and selectors[ramp.target].service is None:
        problems.append((("target",), "a ramp widens a service selector (service: ...)"))
    elif widens and ramp.target is None:
        problems.append((("target",), "steps set count or percent: say of which target"))
    if ramp.target in selectors and not any(f.target == ramp.target for f in faults):
        problems.append((("target",), f"no fault hits {ramp.target!r}"))
    for i, step in enumerate(ramp.steps):
        problems += [(("steps", i, *loc), msg) for loc, msg in _setting_problems(step, faults)]
    if ramp.hold_through is not None and ramp.hold_through > len(ramp.steps):
        message = f"hold_through {ramp.hold_through} is past the last of {len(ramp.steps)} steps"
        problems.append((("hold_through",), message))
    return problems


def _setting_problems(step: RampStep, faults: tuple[Any, ...]) -> list[Problem]:
    problems: list[Problem] = []
    for key, value in step.settings.items():
        owners = [f for f in faults if key in type(f).model_fields and key not in _FIXED]
        if not owners:
            problems.append(((key,), f"no fault of this experiment has a setting {key!r}"))
            continue
        for fault in owners:
            try:
                type(fault).model_validate({**fault.model_dump(), key: value})
            except ValidationError as exc:
                message = "; ".join(e["msg"] for e in exc.errors())
                problems.append(((key,), f"{fault.type}: {message}"))
                break
    return problems


def with_settings(fault: Any, settings: dict[str, Any]) -> Any:
    """`fault` with the step's settings that it has (validated: step_problems checked them)."""
    mine = {k: v for k, v in settings.items() if k in type(fault).model_fields and k not in _FIXED}
    return type(fault).model_validate({**fault.model_dump(), **mine}) if mine else fault
