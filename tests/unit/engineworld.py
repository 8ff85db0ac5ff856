"""A world for unit tests of the engine: a fake Toxiproxy (in memory and on loopback), a
stack of child processes, and RunContexts built on them; the watchdogs a run starts
are seen and always stopped. `make_world` backs the `world` fixture (conftest)."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import harness.experiment.run as engine
from harness.clients.prometheus import PrometheusClient
from harness.experiment.run import Outcome, RunContext
from harness.procs import ProcessRef
from harness.safety.journal import JOURNAL_FILE, Journal, read_events, rendered_path, still_open
from harness.safety.lock import RunLock, read_active
from harness.specs.experiment import Experiment
from tests.fakes import (
    Children,
    FakeStack,
    FakeToxiproxy,
    RecordingDisplay,
    fake_prometheus,
    fault_env,
    make_stack,
)

__all__ = [
    "EXPERIMENT",
    "LINK",
    "World",
    "assert_clean",
    "assert_finished",
    "events",
    "make_world",
    "names",
]

LINK = "gateway_catalog-1"

EXPERIMENT: dict[str, Any] = {
    "version": "harness/v1",
    "name": "unit-cleanup",
    "hypothesis": "the shop shrugs off latency on one catalog link",
    "targets": {"one-link": {"links": [LINK]}},
    "faults": [{"type": "latency", "target": "one-link", "latency_ms": 100, "duration": 0.3}],
    "steady_state": [{"name": "up", "query": "up", "op": ">=", "threshold": 1}],
    "expectations": {"recovery_within": 2},
    "blast_radius": {"max_duration": 5},
    "tick": 0.05,
    "guard_interval": 0.05,
    "settle": 0,
    "steady_wait": 0,
}


@dataclass
class World:
    tmp: Path
    fake: FakeToxiproxy
    stack: FakeStack
    children: Children
    watchdogs: list[tuple[subprocess.Popen[bytes], ProcessRef]] = field(default_factory=list)
    runs: int = 0

    def ctx(self, prom: PrometheusClient | None = None, **exp: Any) -> RunContext:
        self.runs += 1
        run_id = f"t{self.runs}"
        out_dir = self.tmp / "runs" / run_id
        out_dir.mkdir(parents=True)
        experiment = Experiment.model_validate({**EXPERIMENT, **exp})
        journal = Journal.create(out_dir / JOURNAL_FILE, "harness", run_id=run_id, seed=1)
        return RunContext(
            exp=experiment,
            source=self.tmp / "experiment.yaml",
            topo=self.stack.topo,
            stack_file=self.stack.stack_file,
            stack_run=self.stack.run,
            out_dir=out_dir,
            run_id=run_id,
            journal=journal,
            prom=prom or fake_prometheus(),
            env=fault_env(self.fake.client(), self.stack),
            display=RecordingDisplay(),
            seed=1,
        )

    def watchdog(self) -> tuple[subprocess.Popen[bytes], ProcessRef]:
        (only,) = self.watchdogs
        return only


def make_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    children = Children()
    fake = FakeToxiproxy()
    # served on loopback too: a watchdog that takes over acts on this same fake
    with fake.serve() as url:
        port = int(url.rsplit(":", 1)[1])
        stack = make_stack(tmp_path / "stack", children, toxiproxy_port=port, serving=True)
        for link in stack.topo.links:
            fake.add_proxy(link.name)
        w = World(tmp_path, fake, stack, children)
        real_start = engine.start_watchdog

        def start_watchdog(ctx: RunContext, heartbeat: Path) -> subprocess.Popen[bytes]:
            proc = real_start(ctx, heartbeat)
            w.watchdogs.append((proc, ProcessRef.of(proc.pid)))
            return proc

        monkeypatch.setattr(engine, "start_watchdog", start_watchdog)
        try:
            yield w
        finally:
            stop_watchdogs(w)
            children.close()


def stop_watchdogs(world: World) -> None:
    """Never leave a watchdog behind, whatever the test did: those we saw start, and the
    one the stack's pointer names (its PID and start time, so only that process)."""
    for proc, ref in world.watchdogs:
        if proc.poll() is None:
            ref.stop(timeout=2)
        proc.wait(timeout=5)
    pointer = read_active(world.stack.run.root)
    if pointer and pointer.watchdog_pid and pointer.watchdog_start_time:
        ProcessRef(pointer.watchdog_pid, pointer.watchdog_start_time).stop(timeout=2)


def events(ctx: RunContext) -> list[dict[str, Any]]:
    return read_events(ctx.journal.path)


def names(ctx: RunContext) -> list[str]:
    return [e["event"] for e in events(ctx)]


def assert_finished(ctx: RunContext, outcome: Outcome, verdict: str, exit_code: int) -> None:
    """The verdict is the journal's last word, rendered, and the lock is free."""
    assert (outcome.verdict, outcome.exit_code) == (verdict, exit_code)
    last = events(ctx)[-1]
    assert last["event"] == "verdict"
    assert (last["verdict"], last["exit_code"]) == (verdict, exit_code)
    doc = json.loads(rendered_path(ctx.journal.path).read_text())
    assert doc["verdict"] == verdict and doc["run_id"] == ctx.run_id
    with RunLock(ctx.stack_run.root, role="test"):
        pass  # free again
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert not [t for t in threading.enumerate() if t.name == "heartbeat"]
    assert not [p for p in ctx.out_dir.iterdir() if p.name.endswith(".tmp")]


def assert_clean(world: World, ctx: RunContext) -> None:
    """Every fault is off, the pointer is gone and the watchdog exited."""
    assert world.fake.all_toxics() == [] and world.fake.disabled() == []
    assert still_open(ctx.journal.path) == []
    assert read_active(world.stack.run.root) is None
    proc, _ = world.watchdog()
    assert proc.poll() is not None, "the run left its watchdog running"
    released = [e for e in events(ctx) if e["event"] == "watchdog.released"]
    assert [e["exit_code"] for e in released] == [0]


# -- a clean run ----------------------------------------------------------------------

