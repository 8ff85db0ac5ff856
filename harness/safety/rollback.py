"""The revert handles of a run's faults: pushed before each fault is applied, unwound
newest first, and never forgotten when a revert fails.

A handle leaves the stack only when its revert succeeded (journaled `fault.removed`);
a failed revert is journaled `fault.revert_failed` and the handle stays, so the final
rollback tries it again and, if it still fails, the run can say exactly which fault
may still be in place.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from harness.faults import Action, FaultEnv
from harness.safety.journal import Journal

__all__ = ["Handle", "RevertStack"]


@dataclass(frozen=True)
class Handle:
    group: int  # the planned fault it belongs to: one fault's window can end alone
    fault_id: str
    action: Action

    def describe(self) -> str:
        return f"{self.action.describe()} [{self.fault_id}]"


class RevertStack:
    def __init__(self, journal: Journal, env: FaultEnv) -> None:
        self.journal, self.env = journal, env
        self._handles: list[Handle] = []

    def push(self, group: int, fault_id: str, action: Action) -> None:
        """Register the revert of an action that is about to be applied (fail safe)."""
        self._handles.append(Handle(group, fault_id, action))

    @property
    def pending(self) -> list[Handle]:
        return list(self._handles)

    def unwind(self, group: int | None = None) -> list[Handle]:
        """Revert every handle (of `group`), newest first; return the ones that failed."""
        failed = []
        for handle in reversed(self._handles):
            if group is not None and handle.group != group:
                continue
            if self._revert(handle):
                self._handles.remove(handle)
            else:
                failed.append(handle)
        return failed

    def _revert(self, handle: Handle) -> bool:
        start = time.monotonic()
        try:
            handle.action.revert(self.env)
        except Exception as exc:  # one stuck fault must not keep the others in place
            self.journal.record("fault.revert_failed", fault_id=handle.fault_id, error=str(exc))
            return False
        seconds = round(time.monotonic() - start, 3)
        self.journal.record("fault.removed", fault_id=handle.fault_id, seconds=seconds)
        return True
