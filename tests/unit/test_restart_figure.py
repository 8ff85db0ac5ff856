"""Instance killed → replacement ready: measured while the fault window lasts, and after it
(up to the runtime's restart timeout) for a replica that comes back only then."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from harness.experiment.faultloop import _await_restarts, _Restart
from harness.outcome import Outcome
from harness.runtime.base import Instance

KILLED = Instance("orders", "orders-1", "pid:1:1")
NEW = Instance("orders", "orders-1", "pid:2:2")


class Runtime:
    """A replacement that runs at once and is ready `after` seconds from now."""

    def __init__(self, after: float, stages: dict[str, Any] | None = None) -> None:
        self.ready_at = time.monotonic() + after
        self.stages = stages

    def replacement_stages(self, killed: Instance) -> dict[str, Any] | None:
        return self.stages if killed == KILLED else None

    def replacement(self, killed: Instance) -> Instance | None:
        return NEW if killed == KILLED else None

    def ready(self, instance: Instance) -> bool:
        return time.monotonic() >= self.ready_at


class Journal:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def record(self, event: str, **fields: Any) -> None:
        self.events.append({"event": event, **fields})


def _ctx(after: float, timeout: float, stages: dict[str, Any] | None = None) -> Any:
    env = SimpleNamespace(runtime=Runtime(after, stages), restart_timeout=timeout)
    exp = SimpleNamespace(guard_interval=0.01)
    return SimpleNamespace(env=env, exp=exp, journal=Journal(), outcome=Outcome())


def test_a_replacement_ready_after_the_window_is_still_measured():
    ctx = _ctx(after=0.3, timeout=5)
    restart = _Restart(KILLED, time.monotonic() - 1.0)  # killed a second ago
    _await_restarts(ctx, [restart])
    seconds = ctx.outcome.figures.restart_seconds
    assert seconds is not None and 1.3 <= seconds < 2.0
    (back,) = ctx.journal.events
    assert (back["event"], back["replica"], back["identity"]) == (
        "replica.back",
        "orders-1",
        "pid:2:2",
    )
    assert "instance killed → replacement ready: " in ctx.outcome.figures.lines()[0]


def test_a_replacement_never_ready_is_left_unmeasured_after_the_timeout():
    ctx = _ctx(after=60, timeout=0.2)
    started = time.monotonic()
    _await_restarts(ctx, [_Restart(KILLED, started)])
    assert time.monotonic() - started < 1.0
    assert ctx.outcome.figures.restart_seconds is None and ctx.journal.events == []


def test_the_runtimes_own_stages_of_a_replacement_are_journaled_with_it():
    stages = {"created": 0.04, "running": 0.09, "ready": 0.09}
    ctx = _ctx(after=0, timeout=5, stages=stages)
    _await_restarts(ctx, [_Restart(KILLED, time.monotonic())])
    (back,) = ctx.journal.events
    assert (back["killed"], back["stages"]) == ("orders-1", stages)


def test_the_runtimes_own_ready_figure_is_the_one_reported():
    """The runtime times from the kill itself (a pod's delete, inside the API call or the
    Chaos Mesh object that made it): its Ready figure, not the engine's clock, is reported."""
    stages = {"created": 0.09, "running": 0.09, "ready": 0.091}
    ctx = _ctx(after=0, timeout=5, stages=stages)
    _await_restarts(ctx, [_Restart(KILLED, time.monotonic())])  # the engine would say ~0
    (back,) = ctx.journal.events
    assert back["seconds"] == 0.091 and ctx.outcome.figures.restart_seconds == 0.091


def test_without_a_ready_figure_of_its_own_the_engine_times_from_before_the_apply():
    ctx = _ctx(after=0, timeout=5, stages={"created": 0.04, "ready": None})
    _await_restarts(ctx, [_Restart(KILLED, time.monotonic() - 0.5)])
    seconds = ctx.outcome.figures.restart_seconds
    assert seconds is not None and 0.5 <= seconds < 1.0
