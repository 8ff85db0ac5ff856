"""cpu_stress and disk_fill: settings, what they journal, apply and revert on a fake stack,
and revert rebuilt from the journal alone (as the watchdog and `harness recover` do)."""

from __future__ import annotations

import errno
import os
from collections import namedtuple
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from harness.errors import HarnessError
from harness.faults import FaultSpec, action_from_json, actions_for
from harness.faults import disk_fill as df
from harness.faults.cpu_stress import (
    CpuHierarchy,
    CpuQuota,
    cgroup_path,
    cpu_hierarchy,
    quota_for,
)
from harness.faults.disk_fill import MIB, FillFile, fill, floor_bytes
from harness.safety.journal import Journal, still_open
from harness.safety.recover import recover_journal
from tests.fakes import fault_env

Usage = namedtuple("Usage", "total used free")
GIB = 1024 * MIB


class _Planned:
    def __init__(self, spec, replicas, index=2):
        self.index, self.spec, self.replicas, self.links = index, spec, replicas, ()
        self.services = ()  # not known: every service is listed


def _spec(settings):
    return TypeAdapter(FaultSpec).validate_python({"target": "t", "duration": 5, **settings})


def _journaled(tmp_path, env, actions) -> Journal:
    """Apply like the engine (journal first), then leave, like a killed harness."""
    (tmp_path / "j").mkdir()
    journal = Journal.create(tmp_path / "j" / "journal.jsonl", "harness", run_id="r1")
    for n, action in enumerate(actions):
        journal.record("fault.applying", fault_id=f"r1/f2/{n}", action=action.to_json())
        action.apply(env)
        journal.record("fault.applied", fault_id=f"r1/f2/{n}")
    return journal


# -- cpu_stress -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("load", "quota", "period"),
    [(1, 1980, 2000), (50, 1000, 2000), (80, 1000, 5000), (90, 1000, 10_000), (99, 1000, 100_000)],
)  # fmt: skip
def test_the_quota_leaves_100_minus_load_percent_never_under_the_kernel_minimum(
    load, quota, period
):
    assert quota_for(load) == (quota, period)


@pytest.mark.parametrize("load", [0, 100, -5, 150])
def test_load_is_bounded(load):
    with pytest.raises(ValidationError):
        _spec({"type": "cpu_stress", "load": load})


V1 = "30 25 0:27 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu\n"


def test_the_cpu_hierarchy_is_v2_when_it_has_the_controller_else_v1(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    v2 = f"35 25 0:30 / {tmp_path} rw shared:1 - cgroup2 cgroup2 rw\n"
    assert cpu_hierarchy(V1 + v2) == CpuHierarchy(tmp_path, "v2")
    (tmp_path / "cgroup.controllers").write_text("hugetlb\n")
    assert cpu_hierarchy(V1 + v2) == CpuHierarchy(Path("/sys/fs/cgroup/cpu"), "v1")
    assert cpu_hierarchy(v2) is None


def test_the_cgroup_of_a_process_is_read_from_its_proc_cgroup():
    text = "4:memory:/x\n2:cpuacct:/\n1:cpu:/harness/a\n0::/user.slice\n"
    v1 = CpuHierarchy(Path("/sys/fs/cgroup/cpu"), "v1")
    v2 = CpuHierarchy(Path("/sys/fs/cgroup"), "v2")
    assert cgroup_path(text, v1) == Path("/sys/fs/cgroup/cpu/harness/a")
    assert cgroup_path(text, v2) == Path("/sys/fs/cgroup/user.slice")
    assert cgroup_path("1:cpu,cpuacct:/\n", v1) == Path("/sys/fs/cgroup/cpu")


def test_a_cpu_quota_goes_through_the_journal_whole():
    action = CpuQuota("orders-1", "orders", "pid:1:2", "/sys/fs/cgroup/cpu/h", "v1", 2000, 10_000)
    assert action_from_json(action.to_json()) == action
    assert "20% of one CPU on orders-1 (pid:1:2)" in action.describe()


def _writable_cpu() -> CpuHierarchy | None:
    found = cpu_hierarchy()
    if found is None or os.geteuid() != 0:
        return None
    probe = (
        cgroup_path(Path("/proc/self/cgroup").read_text(), found) / f"harness-probe-{os.getpid()}"
    )
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError:
        return None
    return found


needs_cgroup = pytest.mark.skipif(
    _writable_cpu() is None, reason="no writable cgroup cpu controller"
)


def _cgroup_of(pid: int, hierarchy: CpuHierarchy) -> Path:
    return cgroup_path(Path(f"/proc/{pid}/cgroup").read_text(), hierarchy)


@needs_cgroup
def test_cpu_stress_holds_the_replica_to_its_quota_and_revert_puts_it_back(fake, stack):
    env = fault_env(fake.client(), stack)
    hierarchy = cpu_hierarchy()
    assert hierarchy is not None
    target = stack.replicas["orders-1"]
    home = _cgroup_of(target.pid, hierarchy)
    (action,) = actions_for(
        _Planned(_spec({"type": "cpu_stress", "load": 80}), ("orders-1",)), env, "r:1"
    )  # type: ignore[arg-type]
    assert isinstance(action, CpuQuota)
    assert action.cgroup == str(home / "harness-r_1-f2-orders-1")

    action.apply(env)
    own = Path(action.cgroup)
    assert _cgroup_of(target.pid, hierarchy) == own
    if hierarchy.version == "v1":
        assert (own / "cpu.cfs_quota_us").read_text().strip() == "1000"
        assert (own / "cpu.cfs_period_us").read_text().strip() == "5000"
    else:
        assert (own / "cpu.max").read_text().split() == ["1000", "5000"]
    others = [r for n, r in stack.replicas.items() if n != "orders-1"]
    assert all(_cgroup_of(r.pid, hierarchy) != own for r in others)

    action.revert(env)
    assert _cgroup_of(target.pid, hierarchy) == home and not own.exists()
    action.revert(env)  # twice: nothing left to do


@needs_cgroup
def test_a_crashed_runs_cpu_quota_is_reverted_from_the_journal_alone(tmp_path, fake, stack):
    env = fault_env(fake.client(), stack)
    hierarchy = cpu_hierarchy()
    assert hierarchy is not None
    planned = _Planned(_spec({"type": "cpu_stress"}), ("orders-1", "catalog-2"))
    homes = {n: _cgroup_of(stack.replicas[n].pid, hierarchy) for n in planned.replicas}
    actions = actions_for(planned, env, "r1")  # type: ignore[arg-type]
    journal = _journaled(tmp_path, env, actions)
    assert all(_cgroup_of(stack.replicas[n].pid, hierarchy) != homes[n] for n in homes)

    report = recover_journal(journal.path, fault_env(fake.client(), stack), "harness recover")

    assert report.ok and len(report.reverted) == 2
    assert all(_cgroup_of(stack.replicas[n].pid, hierarchy) == homes[n] for n in homes)
    assert not any(Path(a.cgroup).exists() for a in actions if isinstance(a, CpuQuota))
    assert still_open(journal.path) == []


@needs_cgroup
def test_a_failed_apply_leaves_nothing_for_the_revert_to_miss(fake, stack, children):
    env = fault_env(fake.client(), stack)
    (action,) = actions_for(_Planned(_spec({"type": "cpu_stress"}), ("orders-1",)), env, "r1")  # type: ignore[arg-type]
    children.kill_and_reap(stack.replicas["orders-1"])
    with pytest.raises(HarnessError, match="is gone"):
        action.apply(env)
    action.revert(env)  # the engine pushed it before apply: it cleans up what apply made
    assert not Path(action.cgroup).exists()  # type: ignore[attr-defined]


# -- disk_fill ------------------------------------------------------------------------


def test_the_floor_is_512_mib_or_5_percent_whichever_is_larger():
    assert floor_bytes(4 * GIB) == 512 * MIB
    assert floor_bytes(100 * GIB) == 5 * GIB


def _shrinking_disk(path: Path, total: int, free: int):
    """A disk whose free space is `free` minus what the file under test holds."""

    def usage(_where):
        held = path.stat().st_size if path.exists() else 0
        return Usage(total, total - free + held, free - held)

    return usage


def test_fill_stops_at_the_floor_whatever_was_asked(tmp_path):
    target = tmp_path / "fill.bin"
    usage = _shrinking_disk(target, total=1 * GIB, free=512 * MIB + 3 * MIB)
    written = fill(target, 100 * MIB, usage=usage, chunk=2 * MIB)
    assert written == target.stat().st_size == 3 * MIB
    assert usage(tmp_path).free == floor_bytes(GIB)


def test_fill_writes_what_was_asked_above_the_floor(tmp_path):
    target = tmp_path / "fill.bin"
    usage = _shrinking_disk(target, total=1 * GIB, free=800 * MIB)
    assert fill(target, 5 * MIB, usage=usage, chunk=2 * MIB) == 5 * MIB
    assert target.stat().st_size == 5 * MIB and os.stat(target).st_blocks * 512 >= 5 * MIB


def test_fill_writes_zeros_where_fallocate_is_not_supported(tmp_path, monkeypatch):
    def unsupported(fd, offset, size):
        raise OSError(errno.EOPNOTSUPP, "not supported")

    monkeypatch.setattr(df.os, "posix_fallocate", unsupported)
    target = tmp_path / "fill.bin"
    assert (
        fill(target, 3 * MIB + 5, usage=_shrinking_disk(target, GIB, 900 * MIB), chunk=MIB)
        == 3 * MIB + 5
    )
    assert target.read_bytes() == bytes(3 * MIB + 5)


def test_fill_never_takes_over_a_file_it_did_not_create(tmp_path):
    target = tmp_path / "theirs"
    target.write_text("keep")
    with pytest.raises(FileExistsError):
        fill(target, MIB)
    assert target.read_text() == "keep"


@pytest.mark.parametrize(
    "settings", [{"size_mb": 0}, {"until_free_mb": 0}, {"size_mb": 1, "until_free_mb": 1}, {"size_mb": 2**21}]
)  # fmt: skip
def test_disk_fill_amounts_are_bounded_and_exclusive(settings):
    with pytest.raises(ValidationError):
        _spec({"type": "disk_fill", **settings})


def test_disk_fill_fills_the_postgres_data_dir_of_its_writers(fake, stack, tmp_path):
    env = fault_env(fake.client(), stack)
    stack.run.postgres_data.mkdir(parents=True, exist_ok=True)
    (action,) = actions_for(
        _Planned(_spec({"type": "disk_fill", "size_mb": 2}), ("orders-1",)), env, "r1"
    )  # type: ignore[arg-type]
    assert action == FillFile(str(stack.run.postgres_data / ".harness-disk-fill-r1-f2"), 2, None)
    assert action_from_json(action.to_json()) == action

    journal = _journaled(tmp_path, env, [action])
    assert Path(action.path).stat().st_size == 2 * MIB  # type: ignore[attr-defined]
    report = recover_journal(journal.path, env, "watchdog")
    assert report.ok and not Path(action.path).exists()  # type: ignore[attr-defined]


def test_disk_fill_refuses_replicas_that_do_not_write_to_postgres(fake, stack):
    env = fault_env(fake.client(), stack)
    with pytest.raises(HarnessError, match="gateway-1 must depend on postgres"):
        actions_for(_Planned(_spec({"type": "disk_fill"}), ("gateway-1",)), env, "r1")  # type: ignore[arg-type]


@pytest.mark.parametrize("settings", [{"until_free_mb": 100}, {"size_mb": 600}])
def test_disk_fill_refuses_an_amount_that_would_cross_the_floor(fake, stack, monkeypatch, settings):
    monkeypatch.setattr(df.shutil, "disk_usage", lambda _p: Usage(GIB, 0, GIB))
    stack.run.postgres_data.mkdir(parents=True, exist_ok=True)
    env = fault_env(fake.client(), stack)
    with pytest.raises(HarnessError, match="never leaves less than 512 MB"):
        actions_for(_Planned(_spec({"type": "disk_fill", **settings}), ("orders-1",)), env, "r1")  # type: ignore[arg-type]


def test_until_free_mb_writes_the_difference(tmp_path, monkeypatch):
    target = tmp_path / "fill.bin"
    monkeypatch.setattr(df.shutil, "disk_usage", _shrinking_disk(target, 10 * GIB, 2 * GIB))
    monkeypatch.setattr(df, "fill", lambda path, want: want)
    assert FillFile(str(target), None, 1024).want(2 * GIB) == GIB
    assert FillFile(str(target), None, 4096).want(2 * GIB) == 0
    assert FillFile(str(target), 7, None).want(2 * GIB) == 7 * MIB
