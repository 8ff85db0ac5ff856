"""Undo what a run left behind, from its journal: used by `harness recover` and the watchdog.

Only what the journal lists as applied-and-not-removed is reverted, newest first; each
success and each failure is appended to the same journal under the recoverer's name,
and a fault whose revert failed stays listed, so the next attempt tries it again.

A runtime with a fault engine of its own (Chaos Mesh on Kubernetes) is then swept: every
object labelled with the run's id is deleted, journaled or not. Objects are journaled
before they are created, so the journal names them all; the sweep covers a journal
line torn by a crash, and says so in the journal when it finds one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import Refused
from harness.faults import FaultEnv, action_from_json
from harness.runtime import Runtime, runtime_from
from harness.safety.events import EventName
from harness.safety.journal import Journal, read_records, render_json, run_start, still_open
from harness.safety.lock import RunLock, clear_active, read_active

__all__ = [
    "RecoveryReport",
    "journaled_runtime",
    "pending",
    "recover_journal",
    "recover_stack",
    "runtime_to_recover",
]


@dataclass
class RecoveryReport:
    journal: str | None
    reverted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def recover_journal(path: Path, env: FaultEnv, by: str) -> RecoveryReport:
    """Revert every fault the journal at `path` lists as not removed, newest first."""
    journal = Journal(path, by)
    report = RecoveryReport(str(path))
    for entry in reversed(still_open(path)):
        action = action_from_json(entry.action)
        try:
            action.revert(env)
        except Exception as exc:  # keep going: one stuck fault must not block the others
            journal.record(EventName.FAULT_REVERT_FAILED, fault_id=entry.fault_id, error=str(exc))
            report.failed.append(f"{action.describe()}: {exc}")
            continue
        journal.record(EventName.FAULT_REMOVED, fault_id=entry.fault_id)
        report.reverted.append(action.describe())
    _sweep(journal, env, report)
    journal.record(EventName.RECOVERED, reverted=len(report.reverted), failed=len(report.failed))
    render_json(path)
    return report


def _sweep(journal: Journal, env: FaultEnv, report: RecoveryReport) -> None:
    """Delete the run's labelled fault objects (a runtime without a fault engine: none)."""
    objects = env.runtime.fault_objects()
    start = run_start(read_records(journal.path))
    if objects is None or start is None or not start.run_id:
        return
    try:
        swept = objects.sweep(start.run_id)
    except Exception as exc:  # a stuck finalizer, an API that does not answer: retried
        journal.record(EventName.OBJECTS_SWEPT, objects=[], error=str(exc))
        report.failed.append(f"the run's {env.runtime.kind} fault objects: {exc}")
        return
    if swept:
        journal.record(EventName.OBJECTS_SWEPT, objects=swept)
        report.reverted += swept


def pending(journal_path: Path, env: FaultEnv) -> bool:
    """Whether recovering has work: open faults, or a fault engine to sweep for leftovers."""
    return bool(still_open(journal_path)) or env.runtime.fault_objects() is not None


def journaled_runtime(journal_path: Path, default: Runtime) -> Runtime:
    """The runtime the journal's run acted on, rebuilt from its `run.started` event
    (`default`: a journal from before runs described theirs, or none at all)."""
    start = run_start(read_records(journal_path))
    described = start.runtime if start is not None else None
    return runtime_from(described) if isinstance(described, dict) and described else default


def runtime_to_recover(stack_run_dir: Path, default: Runtime) -> Runtime:
    """The runtime of the run the stack's pointer names (`default` with no pointer)."""
    active = read_active(stack_run_dir)
    return journaled_runtime(Path(active.journal), default) if active else default


def recover_stack(
    stack_run_dir: Path, env: FaultEnv, by: str = "harness recover", lock: bool = True
) -> RecoveryReport:
    """Recover the run the stack's pointer names (if any) and clear the pointer.

    With `lock` (the CLI), the experiment lock is taken first: a live run, or a
    watchdog already recovering, makes this raise Refused naming its PID.
    """
    held = RunLock(stack_run_dir, role=by)
    if lock:
        try:
            held.acquire()
        except Refused as exc:
            raise Refused(
                f"{exc}; `harness recover` only undoes what a dead run left "
                "(a live run removes its own faults; its watchdog covers a crash)"
            ) from None
    try:
        active = read_active(stack_run_dir)
        if active is None:
            return RecoveryReport(None)
        path = Path(active.journal)
        report = recover_journal(path, env, by) if path.exists() else RecoveryReport(str(path))
        if report.ok:
            clear_active(stack_run_dir)
        return report
    finally:
        held.release()


def try_lock(stack_run_dir: Path, role: str) -> RunLock | None:
    """The lock if it is free, else None: the watchdog acts even when a hung harness holds it."""
    held = RunLock(stack_run_dir, role=role)
    try:
        held.acquire()
    except Refused:
        return None
    return held
