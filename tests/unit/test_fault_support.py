"""Preflight refuses a fault its runtime cannot inject: by the fault's line, the type
and the runtime, before anything is injected; what the runtime supports passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import Refused
from harness.experiment.faultsupport import refuse_unsupported_faults
from harness.experiment.run import run_experiment
from harness.specs.experiment import load_experiment
from tests.fakeruntime import FakeRuntime
from tests.unit.engineworld import assert_finished, names

EXPERIMENT = """\
version: harness/v1
name: two-faults
hypothesis: orders shrugs off a slow link and a full disk
targets:
  one: {service: orders, count: 1}
faults:
  - type: latency
    target: one
    latency_ms: 100
    duration: 30s
  - type: disk_fill
    target: one
    size_mb: 10
    duration: 30s
steady_state:
  - {name: up, query: up, op: ">=", threshold: 1}
blast_radius: {max_duration: 60s}
"""


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(EXPERIMENT)
    return path


def test_a_fault_the_runtime_cannot_inject_is_refused_by_its_line(source):
    runtime = FakeRuntime({}, supported=frozenset({"latency", "kill"}))
    with pytest.raises(Refused) as refused:
        refuse_unsupported_faults(load_experiment(source), runtime, source)
    assert str(refused.value) == (
        f"{source}:11: faults.1.type: disk_fill: the fake runtime cannot inject it "
        "(it can: kill, latency); nothing was injected"
    )
    assert runtime.signals == []


def test_a_supported_type_with_a_setting_the_runtime_cannot_honour_is_refused(source):
    runtime = FakeRuntime({}, supported=frozenset({"latency", "disk_fill"}))
    runtime.refusals = {"latency": "latency: direction upstream: it delays only responses"}
    with pytest.raises(Refused) as refused:
        refuse_unsupported_faults(load_experiment(source), runtime, source)
    assert str(refused.value) == (
        f"{source}:7: faults.0: latency: direction upstream: it delays only responses; "
        "the fake runtime refuses it: nothing was injected"
    )


def test_faults_the_runtime_supports_pass(source):
    runtime = FakeRuntime({}, supported=frozenset({"latency", "disk_fill"}))
    refuse_unsupported_faults(load_experiment(source), runtime, source)


def test_a_run_with_a_fault_its_runtime_cannot_inject_is_refused_before_anything(world):
    ctx = world.ctx()  # one latency fault on a link
    runtime = ctx.env.runtime
    runtime.supported_faults = lambda: frozenset({"kill"})  # type: ignore[method-assign]
    outcome = run_experiment(ctx)
    assert_finished(ctx, outcome, "refused", 3)
    assert "faults.0.type: latency: the local runtime cannot inject it" in outcome.reasons[0]
    assert "fault.applying" not in names(ctx)
    assert world.fake.all_toxics() == []
