"""Undo what a run left behind, from its journal: used by `harness recover`, the
watchdog, and the engine's own rollback bookkeeping."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.faults import FaultEnv, action_from_json
from harness.safety.journal import Journal, open_faults
from harness.safety.lock import clear_active, read_active

__all__ = ["RecoveryReport", "recover_journal", "recover_stack"]


@dataclass
class RecoveryReport:
    journal: str | None
    reverted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def recover_journal(journal: Journal, env: FaultEnv, by: str) -> RecoveryReport:
    """Revert every fault the journal lists as not removed, newest first."""
    report = RecoveryReport(str(journal.path))
    for entry in reversed(open_faults(journal.events)):
        action = action_from_json(entry["action"])
        try:
            action.revert(env)
        except Exception as exc:  # keep going: one stuck fault must not block the others
            journal.record("fault.revert_failed", fault_id=entry["fault_id"], by=by, error=str(exc))
            report.failed.append(f"{action.describe()}: {exc}")
            continue
        journal.record("fault.removed", fault_id=entry["fault_id"], by=by)
        report.reverted.append(action.describe())
    journal.record("recovered", by=by, reverted=len(report.reverted), failed=len(report.failed))
    return report


def recover_stack(
    stack_run_dir: Path, env: FaultEnv, by: str = "harness recover"
) -> RecoveryReport:
    """Recover the run the stack's pointer names (if any) and clear the pointer."""
    active = read_active(stack_run_dir)
    if active is None:
        return RecoveryReport(None)
    path = Path(active.journal)
    report = recover_journal(Journal(path), env, by) if path.exists() else RecoveryReport(str(path))
    if report.ok:
        clear_active(stack_run_dir)
    return report
