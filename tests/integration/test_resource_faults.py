"""cpu_stress and disk_fill on a real stack of their own (ports +5000): the effect is
measured on the replica itself, and whatever exits the run, nothing is left behind."""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

import httpx
import pytest

from harness.clients.toxiproxy import ToxiproxyClient
from harness.faults import FaultEnv, actions_for
from harness.faults.cpu_stress import CpuHierarchy, cgroup_path, cpu_hierarchy
from harness.faults.disk_fill import MIB, FillFile, floor_bytes
from harness.runtime.local.runtime import LocalRuntime
from harness.safety.journal import read_events
from tests.integration.runs import experiment, run, start_run
from tests.integration.stackfixture import Stack, start_stack, stop_stack
from tests.waiting import wait_for

TARGET = "orders-1"


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory) -> Stack:
    running = start_stack(tmp_path_factory.mktemp("resource-stack"), offset=5000)
    yield running
    stop_stack(running)


@pytest.fixture(scope="module")
def hierarchy() -> CpuHierarchy:
    found = cpu_hierarchy()
    if found is None:
        pytest.skip("no cgroup cpu controller on this machine")
    return found


def p50_ms(stack: Stack, n: int = 40) -> float:
    """Median latency of `n` direct requests to the target replica (no proxy between)."""
    url = f"{stack.replica_url(TARGET)}/orders/1"
    took = []
    with httpx.Client(timeout=10) as client:
        client.get(url)
        for _ in range(n):
            start = time.perf_counter()
            client.get(url)
            took.append(time.perf_counter() - start)
    return 1000 * statistics.median(took)


def cgroup_of_target(stack: Stack, hierarchy: CpuHierarchy) -> Path:
    pid = next(c.pid for c in stack.state.components if c.name == TARGET)
    assert pid is not None
    return cgroup_path(Path(f"/proc/{pid}/cgroup").read_text(), hierarchy)


def cpu_experiment(tmp: Path, name: str, duration: str = "10s") -> Path:
    return experiment(
        tmp,
        name,
        f"one-orders: {{replicas: [{TARGET}]}}",
        f"- {{type: cpu_stress, target: one-orders, load: 90, duration: {duration}}}",
        blast="max_targets: 1\n  max_duration: 60s",
    )


def harness_cgroups(home: Path) -> list[Path]:
    return sorted(home.glob("harness-*"))


def test_cpu_stress_slows_the_replica_and_is_reverted(own_stack: Stack, hierarchy, tmp_path):
    home = cgroup_of_target(own_stack, hierarchy)
    before = p50_ms(own_stack)
    proc, journal = start_run(own_stack, cpu_experiment(tmp_path, "cpu-stress"), tmp_path)
    during = p50_ms(own_stack)
    inside = cgroup_of_target(own_stack, hierarchy)
    proc.communicate(timeout=120)
    after = p50_ms(own_stack)

    print(f"orders-1 p50: before {before:.2f} ms, during {during:.2f} ms, after {after:.2f} ms")
    assert inside.parent == home and inside.name.startswith("harness-")
    assert during > 3 * before and during > before + 2
    assert after < before + max(1.0, before)
    assert cgroup_of_target(own_stack, hierarchy) == home and harness_cgroups(home) == []
    removed = [e for e in read_events(journal) if e["event"] == "fault.removed"]
    assert [e["by"] for e in removed] == ["harness"]


def test_sigkill_of_the_harness_is_undone_by_the_watchdog(own_stack: Stack, hierarchy, tmp_path):
    home = cgroup_of_target(own_stack, hierarchy)
    proc, journal = start_run(own_stack, cpu_experiment(tmp_path, "cpu-crash", "40s"), tmp_path)
    assert cgroup_of_target(own_stack, hierarchy) != home
    killed_at = time.monotonic()
    proc.kill()
    proc.communicate(timeout=10)
    wait_for(
        lambda: cgroup_of_target(own_stack, hierarchy) == home and not harness_cgroups(home),
        15,
        "the watchdog to lift the CPU quota",
    )
    assert time.monotonic() - killed_at < 15
    removed = [e for e in read_events(journal) if e["event"] == "fault.removed"]
    assert [e["by"] for e in removed] == ["watchdog"]
    wait_for(lambda: not (own_stack.run_dir / "active-run.json").exists(), 10, "the pointer")


def test_disk_fill_takes_the_space_it_says_and_gives_it_back(own_stack: Stack, tmp_path):
    result, journal = run(
        own_stack,
        experiment(
            tmp_path,
            "disk-fill",
            f"one-orders: {{replicas: [{TARGET}]}}",
            "- {type: disk_fill, target: one-orders, size_mb: 256, duration: 5s}",
            blast="max_targets: 1\n  max_duration: 30s",
        ),
        tmp_path,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    applying = [e for e in journal["events"] if e["event"] == "fault.applying"]
    assert [e["action"]["kind"] for e in applying] == ["disk_fill"]
    assert not Path(applying[0]["action"]["path"]).exists()
    assert [e["by"] for e in journal["events"] if e["event"] == "fault.removed"] == ["harness"]


def test_disk_fill_frees_exactly_its_file(own_stack: Stack):
    data = LocalRuntime(own_stack.topo, own_stack.run_dir).run.postgres_data
    with ToxiproxyClient(own_stack.toxiproxy) as tp:
        env = FaultEnv(toxiproxy=tp, runtime=LocalRuntime(own_stack.topo, own_stack.run_dir))
        (action,) = actions_for(_planned({"type": "disk_fill", "size_mb": 256}), env, "it")  # type: ignore[arg-type]
        assert isinstance(action, FillFile) and Path(action.path).parent == data
        free = shutil.disk_usage(data).free
        action.apply(env)
        try:
            held = shutil.disk_usage(data).free
            assert Path(action.path).stat().st_size == 256 * MIB
            assert abs((free - held) - 256 * MIB) < 32 * MIB  # others write to this disk too
            assert held >= floor_bytes(shutil.disk_usage(data).total)
        finally:
            action.revert(env)
    assert not Path(action.path).exists()
    assert abs(shutil.disk_usage(data).free - free) < 32 * MIB


class _Planned:
    def __init__(self, spec):
        self.index, self.spec, self.replicas, self.links = 0, spec, (TARGET,), ()
        self.services = ()  # not known: every service is listed


def _planned(settings):
    from pydantic import TypeAdapter

    from harness.faults import FaultSpec

    return _Planned(
        TypeAdapter(FaultSpec).validate_python({"target": "t", "duration": 5, **settings})
    )
