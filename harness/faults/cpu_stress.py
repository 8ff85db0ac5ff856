"""cpu_stress: take CPU away from each targeted replica with a CPU quota of its own.

For the fault, each targeted replica's process moves into a cgroup the harness creates
as a child of the replica's own cgroup (`harness-<run>-f<fault>-<replica>`), limited to
(100 - load)% of one CPU over a short period, so every request waits for CPU time it
no longer gets: its latency shows it. The cgroup v2 `cpu.max` where the v2 hierarchy
has the cpu controller, else cgroup v1's `cpu.cfs_quota_us` (why not a CPU hog such
as stress-ng: docs/decisions.md). Revert moves every process in that cgroup back to
its parent and removes it; the journaled cgroup path is all it needs, so the watchdog
and `harness recover` undo it after a crash. Local replicas only (PID + start time):
a runtime that cannot inject it leaves it out of `supported_faults()`, and preflight
refuses it there, before anything is injected.
"""

from __future__ import annotations

import errno
import math
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from harness.errors import HarnessError
from harness.faults.base import Action, FaultEnv, register
from harness.faults.settings import FaultSettings, Planned, kind
from harness.runtime.base import Instance
from harness.runtime.local.runtime import process_of

__all__ = ["CpuHierarchy", "CpuQuota", "CpuStress", "cgroup_path", "cpu_hierarchy", "quota_for"]

PERIOD_US = 2_000  # the shortest period that fits the minimum quota: an even slowdown
MIN_QUOTA_US = 1_000  # the kernel's smallest quota (cgroup v1 refuses less)


def quota_for(load: int) -> tuple[int, int]:
    """(quota, period) in microseconds leaving (100 - load)% of one CPU."""
    share = (100 - load) / 100
    period = max(PERIOD_US, math.ceil(MIN_QUOTA_US / share))
    return round(period * share), period


@dataclass(frozen=True)
class CpuHierarchy:
    root: Path  # where the hierarchy with the cpu controller is mounted
    version: str  # "v2" (cpu.max) or "v1" (cpu.cfs_quota_us)


def cpu_hierarchy(mountinfo: str | None = None) -> CpuHierarchy | None:
    """The cgroup hierarchy with the cpu controller: v2 if it has it, else v1; None if none."""
    text = Path("/proc/self/mountinfo").read_text() if mountinfo is None else mountinfo
    v1 = None
    for line in text.splitlines():
        mine, _, fs = line.partition(" - ")
        fields, tail = mine.split(), fs.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        mount = Path(fields[4])
        if tail[0] == "cgroup2" and "cpu" in _read(mount / "cgroup.controllers").split():
            return CpuHierarchy(mount, "v2")
        if tail[0] == "cgroup" and "cpu" in tail[2].split(",") and v1 is None:
            v1 = CpuHierarchy(mount, "v1")
    return v1


def cgroup_path(proc_cgroup: str, hierarchy: CpuHierarchy) -> Path:
    """The cgroup a process is in (from its /proc/<pid>/cgroup text), in `hierarchy`."""
    for line in proc_cgroup.splitlines():
        _, controllers, path = line.split(":", 2)
        v2 = hierarchy.version == "v2" and controllers == ""
        if v2 or (hierarchy.version == "v1" and "cpu" in controllers.split(",")):
            return hierarchy.root / path.strip().lstrip("/")
    raise HarnessError(f"no {hierarchy.version} cpu cgroup in {proc_cgroup!r}")


@register
@dataclass(frozen=True)
class CpuQuota:
    """One replica held to a CPU quota in a cgroup the harness made (its parent: the
    replica's own cgroup, where revert puts back whatever is inside)."""

    kind: ClassVar[str] = "cpu_quota"
    replica: str
    service: str
    identity: str
    cgroup: str
    version: str
    quota_us: int
    period_us: int

    @property
    def instance(self) -> Instance:
        return Instance(self.service, self.replica, self.identity)

    def apply(self, env: FaultEnv) -> None:
        ref = process_of(self.instance)
        if not ref.alive():
            raise HarnessError(f"{self.replica} ({self.identity}) is gone; nothing to slow down")
        path = Path(self.cgroup)
        _mkdir(path)
        if self.version == "v2":
            if "cpu" not in _read(path.parent / "cgroup.subtree_control").split():
                _write(path.parent / "cgroup.subtree_control", "+cpu")
            _write(path / "cpu.max", f"{self.quota_us} {self.period_us}")
        else:
            _write(path / "cpu.cfs_period_us", str(self.period_us))
            _write(path / "cpu.cfs_quota_us", str(self.quota_us))
        if not ref.alive():  # the check right before the move: never another process
            raise HarnessError(f"{self.replica} ({self.identity}) is gone; nothing to slow down")
        _write(path / "cgroup.procs", str(ref.pid))

    def revert(self, env: FaultEnv) -> None:
        path = Path(self.cgroup)
        if not path.is_dir():
            return  # never made, or already removed
        for pid in _read(path / "cgroup.procs").split():
            _move(int(pid), path.parent)
        _rmdir(path)

    def describe(self) -> str:
        share = 100 * self.quota_us / self.period_us
        return (
            f"cpu quota {share:g}% of one CPU on {self.replica} ({self.identity}) in {self.cgroup}"
        )

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


class CpuStress(FaultSettings):
    """Each targeted replica may use at most (100 - load)% of one CPU for the duration."""

    family: ClassVar[Literal["network", "process"]] = "process"

    type: Literal["cpu_stress"] = kind(
        "cpu_stress", "hold each replica to (100 - load)% of one CPU (a cgroup CPU quota)"
    )
    load: int = Field(
        80,
        ge=1,
        le=99,
        description="percent of one CPU taken away: the replica keeps (100 - load)% of one CPU",
    )

    def actions(self, planned: Planned, env: FaultEnv, run_id: str) -> list[Action]:
        hierarchy = cpu_hierarchy()
        if hierarchy is None:
            raise HarnessError(
                "cpu_stress needs the cgroup cpu controller (v2 cpu.max or v1 cpu.cfs_quota_us)"
                " and this machine mounts neither"
            )
        live = {i.name: i for i in env.runtime.instances()}
        quota, period = quota_for(self.load)
        actions: list[Action] = []
        for name in planned.replicas:
            inst = live.get(name)
            if inst is None:
                raise HarnessError(f"{name} is not live: nothing to slow down")
            pid = process_of(inst).pid
            home = cgroup_path(_read(Path(f"/proc/{pid}/cgroup")), hierarchy)
            own = home / _safe(f"harness-{run_id}-f{planned.index}-{name}")
            actions.append(
                CpuQuota(
                    name, inst.service, inst.identity, str(own), hierarchy.version, quota, period
                )
            )
        return actions


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _write(path: Path, value: str) -> None:
    try:
        with open(path, "w") as fh:
            fh.write(value)
    except OSError as exc:
        raise HarnessError(f"cpu_stress: cannot write {value!r} to {path}: {exc}") from exc


def _mkdir(path: Path) -> None:
    try:
        path.mkdir(exist_ok=True)
    except OSError as exc:
        raise HarnessError(f"cpu_stress: cannot create the cgroup {path}: {exc}") from exc


def _move(pid: int, cgroup: Path) -> None:
    try:
        with open(cgroup / "cgroup.procs", "w") as fh:
            fh.write(str(pid))
    except ProcessLookupError:
        return  # it exited meanwhile: it left the cgroup on its own


def _rmdir(path: Path, timeout: float = 2.0) -> None:
    """Remove the cgroup; a process that just left may keep it busy for a moment."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
