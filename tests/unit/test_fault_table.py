"""One file per fault type, one line in the table: every type is known, and each says
what it does as journaled actions before anything happens."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import harness.faults
from harness.faults import FAULT_TYPES, FAULTS, NETWORK_FAULTS, PROCESS_FAULTS, actions_for
from harness.faults.network import DisableProxy, ToxicOn
from harness.faults.process import Signal
from harness.faults.settings import FaultSettings
from harness.runtime.base import Instance
from harness.specs.experiment import json_schema
from harness.specs.topology import Link

ROOT = Path(__file__).resolve().parents[2]
LINK = Link("api", "db-1", 20001, "service")


class _Planned:
    def __init__(self, spec, replicas=("api-1",), links=(LINK,)):
        self.index, self.spec, self.replicas, self.links = 3, spec, replicas, links
        self.services = ()  # not known: every service is listed


class _Runtime:
    kind = "fake"

    def instances(self, service=None):
        return [Instance("api", "api-1", "pid:10:20")]

    def own_actions(self, settings, planned, run_id):
        return None  # the faults' own actions


class _Env:
    runtime = _Runtime()


def _defined_faults() -> set[type[FaultSettings]]:
    """Every fault settings class defined in a module of harness/faults (one with a `type`)."""
    found = set()
    for module in pkgutil.iter_modules(harness.faults.__path__, "harness.faults."):
        for obj in vars(importlib.import_module(module.name)).values():
            if not (isinstance(obj, type) and obj.__module__ == module.name):
                continue  # imported, or not a class
            if issubclass(obj, FaultSettings) and "type" in obj.model_fields:
                found.add(obj)
    return found


def test_every_fault_has_its_own_file_and_one_line_in_the_table():
    here = Path(harness.faults.__file__).parent
    assert set(FAULTS) == _defined_faults()  # a fault's file without its line fails here
    assert len(set(FAULT_TYPES)) == len(FAULTS)
    assert {p.stem for p in here.glob("*.py")} >= set(FAULT_TYPES)
    assert set(NETWORK_FAULTS) | set(PROCESS_FAULTS) == set(FAULT_TYPES)
    assert set(NETWORK_FAULTS) & set(PROCESS_FAULTS) == set()


def test_the_schema_and_the_docs_name_what_the_table_holds():
    items = json_schema()["properties"]["faults"]["items"]
    assert list(items["discriminator"]["mapping"]) == sorted(FAULT_TYPES)
    text = (ROOT / "docs" / "experiments.md").read_text()
    listed = text[text.index("its **faults** (") :].split("each with")[0]
    assert re.findall(r"`(\w+)`", listed) == list(FAULT_TYPES)


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
