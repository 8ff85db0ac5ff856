"""The revert handles of a run's faults: pushed before each fault is applied, unwound
newest first, and never forgotten when a revert fails.

A handle leaves the stack only when its revert succeeded (journaled `fault.removed`);
a failed revert is journaled `fault.revert_failed` and the handle stays.

The final rollback (`roll_back`) retries what failed, with a backoff capped at one
second, for up to `REVERT_PATIENCE` seconds: a control plane back from a blip has its
faults removed within a second. The harness heart-beats from a thread meanwhile, so
its watchdog stays out of the way. When the patience runs out, or a signal asks the
run to end, the harness hands what is left to the watchdog in the journal
(`rollback.handed_over`), which takes over at once: at no moment does nobody retry.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from harness.faults import Action, FaultEnv
from harness.safety.events import EventName
from harness.safety.journal import Journal
from harness.safety.signals import noted_signals

__all__ = ["REVERT_PATIENCE", "Backoff", "Handle", "RevertStack"]

REVERT_PATIENCE = 30.0  # seconds the harness retries a failed revert before handing it over
_SLICE = 0.05  # how often a pause between retries looks for a signal


class Backoff:
    """A short first wait doubling to a one-second cap: retries that neither hammer a
    control plane nor leave a fault in place long after it came back."""

    def __init__(self, first: float = 0.25, cap: float = 1.0) -> None:
        self.delay, self.cap = first, cap

    def next(self) -> float:
        delay, self.delay = self.delay, min(self.delay * 2, self.cap)
        return delay


@dataclass(frozen=True)
class Handle:
    group: int  # the planned fault it belongs to: one fault's window can end alone
    fault_id: str
    action: Action

    def describe(self) -> str:
        return f"{self.action.describe()} [{self.fault_id}]"


class RevertStack:
    def __init__(self, journal: Journal, env: FaultEnv, patience: float | None = None) -> None:
        self.journal, self.env = journal, env
        self.patience = REVERT_PATIENCE if patience is None else patience
        self._handles: list[Handle] = []
        self.errors: dict[str, str] = {}  # fault id -> why its last revert failed

    def push(self, group: int, fault_id: str, action: Action) -> None:
        """Register the revert of an action that is about to be applied (fail safe)."""
        self._handles.append(Handle(group, fault_id, action))

    @property
    def pending(self) -> list[Handle]:
        return list(self._handles)

    def unwind(self, group: int | None = None) -> list[Handle]:
        """Revert every handle (of `group`) once, newest first; return the ones that failed."""
        failed = []
        for handle in reversed(self._handles):
            if group is not None and handle.group != group:
                continue
            if self._revert(handle):
                self._handles.remove(handle)
            else:
                failed.append(handle)
        return failed

    def roll_back(self, notify: Callable[[str], None] | None = None) -> list[Handle]:
        """Unwind every handle, retrying the ones that fail until they are removed, the
        patience runs out or a signal arrives; hand what is left to the watchdog and
        return it. `notify` hears once that reverts are being retried."""
        signals, deadline = len(noted_signals()), time.monotonic() + self.patience
        backoff, retries = Backoff(), 0
        failed = self.unwind()
        while failed:
            why = _stop_reason(signals, deadline, self.patience)
            if why is not None:
                self.journal.record(
                    EventName.ROLLBACK_HANDED_OVER,
                    still_open=[h.fault_id for h in failed],
                    reason=why,
                )
                return failed
            if notify is not None and retries == 0:
                _tell(
                    notify,
                    f"could not remove {len(failed)} fault(s); retrying for up to "
                    f"{self.patience:g}s (Ctrl-C hands them to the watchdog now)",
                )
            _pause(backoff.next(), signals, deadline)
            failed, retries = self.unwind(), retries + 1
        return failed

    def _revert(self, handle: Handle) -> bool:
        start = time.monotonic()
        try:
            handle.action.revert(self.env)
        except Exception as exc:  # one stuck fault must not keep the others in place
            self.journal.record(
                EventName.FAULT_REVERT_FAILED, fault_id=handle.fault_id, error=str(exc)
            )
            self.errors[handle.fault_id] = str(exc)
            return False
        self.errors.pop(handle.fault_id, None)
        seconds = round(time.monotonic() - start, 3)
        self.journal.record(EventName.FAULT_REMOVED, fault_id=handle.fault_id, seconds=seconds)
        return True


def _tell(notify: Callable[[str], None], line: str) -> None:
    """Say it if we can: what the terminal shows must never stop a revert."""
    with contextlib.suppress(Exception):  # a broken display is no reason to leave a fault
        notify(line)


def _stop_reason(signals: int, deadline: float, patience: float) -> str | None:
    """Why the harness stops retrying now (None: it goes on)."""
    noted = noted_signals()[signals:]
    if noted:
        return f"{signal.Signals(noted[0]).name} while retrying the revert"
    if time.monotonic() >= deadline:
        return f"the revert still failed after {patience:g}s of retries"
    return None


def _pause(seconds: float, signals: int, deadline: float) -> None:
    """Sleep between retries; a signal (only noted while faults come off) or the end of
    the patience cuts it short."""
    end = min(time.monotonic() + seconds, deadline)
    while time.monotonic() < end and len(noted_signals()) == signals:
        time.sleep(min(_SLICE, max(0.0, end - time.monotonic())))
