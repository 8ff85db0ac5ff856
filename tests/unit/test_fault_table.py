"""One file per fault type, one line in the table: every type is known, and each says
what it does as journaled actions before anything happens."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.faults import FAULTS, NETWORK_FAULTS, PROCESS_FAULTS, actions_for
from harness.faults.network import DisableProxy, ToxicOn
from harness.faults.process import Signal
from harness.runtime.base import Instance
from harness.specs.topology import Link

LINK = Link("api", "db-1", 20001, "service")


class _Planned:
    def __init__(self, spec, replicas=("api-1",), links=(LINK,)):
        self.index, self.spec, self.replicas, self.links = 3, spec, replicas, links


class _Runtime:
    kind = "fake"

    def instances(self, service=None):
        return [Instance("api", "api-1", "pid:10:20")]


class _Env:
    runtime = _Runtime()


def test_every_fault_has_its_own_file_and_one_line_in_the_table():
    here = Path(__file__).resolve().parents[2] / "harness" / "faults"
    names = set(NETWORK_FAULTS) | set(PROCESS_FAULTS)
    assert len(names) == len(FAULTS) == 13
    assert {p.stem for p in here.glob("*.py")} >= names
    assert set(NETWORK_FAULTS) & set(PROCESS_FAULTS) == set()


TOXICS = [
    ({"type": "latency", "latency_ms": 100, "jitter_ms": 5}, "latency", {"latency": 100, "jitter": 5}),
    ({"type": "blackhole"}, "timeout", {"timeout": 0}),
    ({"type": "bandwidth", "rate_kb_per_s": 64}, "bandwidth", {"rate": 64}),
    ({"type": "reset_peer", "timeout_ms": 10}, "reset_peer", {"timeout": 10}),
    ({"type": "slow_close", "delay_ms": 7}, "slow_close", {"delay": 7}),
    ({"type": "slicer", "average_size": 8, "size_variation": 2, "delay_us": 9}, "slicer",
     {"average_size": 8, "size_variation": 2, "delay": 9}),
    ({"type": "limit_data", "bytes": 1000}, "limit_data", {"bytes": 1000}),
]  # fmt: skip


@pytest.mark.parametrize(("settings", "toxic", "attributes"), TOXICS)
def test_each_network_fault_is_its_toxic_on_each_link(settings, toxic, attributes):
    spec = _spec({**settings, "direction": "both"})
    actions = actions_for(_Planned(spec), _Env(), "r1")  # type: ignore[arg-type]
    assert [(a.proxy, a.name, a.type, a.stream, a.attributes) for a in actions] == [
        ("api_db-1", "harness-r1-f3-upstream", toxic, "upstream", attributes),
        ("api_db-1", "harness-r1-f3-downstream", toxic, "downstream", attributes),
    ]
    assert all(isinstance(a, ToxicOn) for a in actions)


def test_refused_disables_each_link():
    actions = actions_for(_Planned(_spec({"type": "refused"})), _Env(), "r1")  # type: ignore[arg-type]
    assert actions == [DisableProxy("api_db-1")]


@pytest.mark.parametrize(
    ("kind", "signal"), [("kill", "SIGKILL"), ("terminate", "SIGTERM"), ("pause", "SIGSTOP")]
)
def test_each_process_fault_is_a_signal_to_the_live_instance(kind, signal):
    actions = actions_for(_Planned(_spec({"type": kind})), _Env(), "r1")  # type: ignore[arg-type]
    assert actions == [Signal("api-1", "api", "pid:10:20", signal)]


def _spec(settings):
    from pydantic import TypeAdapter

    from harness.faults import FaultSpec

    return TypeAdapter(FaultSpec).validate_python({"target": "t", "duration": 1, **settings})
