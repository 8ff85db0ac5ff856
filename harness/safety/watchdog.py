"""The dead-man's switch: a process outside the harness that undoes a run's faults
when the harness stops heart-beating (killed with -9, hung, or stopped).

The engine writes the stack's active-run pointer, starts this process before the
first injection, and beats a heartbeat file from a thread for the whole run. When
the heartbeat is older than `--stale` seconds, or the harness is gone or stopped
(SIGSTOP), or the harness hands over a rollback it could not finish
(`rollback.handed_over`: it acts at once, not a stale period later), the watchdog
journals that it takes over, then reverts every fault the journal lists as still in
place, retrying with backoff (capped at a second) until every revert succeeds,
the journal says the faults are gone (someone else removed them), or the stack
itself is down (its faults went with it). When the run removes its own faults it
clears the pointer, and the watchdog exits quietly.

Run as: python -m harness.safety.watchdog --stack stack.yaml --run-dir .run --stale 5
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from harness.faults import FaultEnv
from harness.faults.base import toxiproxy_of
from harness.procs import ProcessRef
from harness.rundir import RunDir
from harness.runtime import Runtime, runtime_for
from harness.safety.events import Event, EventName, HandedOver
from harness.safety.journal import Journal, still_open
from harness.safety.lock import ActiveRun, clear_active, read_active
from harness.safety.recover import journaled_runtime, pending, recover_journal, try_lock
from harness.safety.rollback import Backoff
from harness.specs.topology import load_topology

__all__ = [
    "Backoff",
    "handed_over",
    "main",
    "recover_through",
    "recover_until_done",
    "stale_reason",
    "watch",
]

POLL = 0.2
BY = "watchdog"


def _log(msg: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} watchdog[{os.getpid()}]: {msg}", flush=True)


def stale_reason(owner: ProcessRef, heartbeat_age: float, stale: float) -> str | None:
    """Why the watchdog must act now, or None while the harness is alive and beating."""
    if not owner.alive():
        return f"the harness (pid {owner.pid}) is gone"
    if owner.stopped():
        return f"the harness (pid {owner.pid}) is stopped"
    if heartbeat_age > stale:
        return f"no heartbeat for {heartbeat_age:.1f}s (stale after {stale:g}s)"
    return None


def handed_over(events: list[Event]) -> str | None:
    """Why the watchdog must act now because the harness gave its rollback up, or None."""
    for event in events:
        if isinstance(event, HandedOver):
            left = ", ".join(event.still_open)
            return f"the harness handed over its rollback ({event.reason}; open: {left})"
    return None


def recover_until_done(
    journal_path: Path,
    env: FaultEnv,
    stack_alive: Callable[[], bool],
    sleep: Callable[[float], None] = time.sleep,
    backoff: Backoff | None = None,
) -> bool:
    """Revert until the journal lists nothing open (and the runtime's fault engine holds
    nothing of the run); False when the stack went down first."""
    backoff = backoff or Backoff()
    while pending(journal_path, env):
        if not stack_alive():
            Journal(journal_path, BY).record(
                EventName.WATCHDOG_STACK_GONE,
                open=[f.fault_id for f in still_open(journal_path)],
            )
            _log("the stack is down: its proxies and replicas went with it; stopping")
            return False
        report = recover_journal(journal_path, env, BY)
        for line in report.reverted:
            _log(f"reverted {line}")
        for line in report.failed:
            _log(f"FAILED to revert {line}; retrying")
        if report.ok:
            break
        sleep(backoff.next())
    return True


def watch(stack_file: Path, run_dir: Path, stale: float) -> int:
    run = RunDir(run_dir)
    first = read_active(run.root)
    if first is None:
        _log("no active run; nothing to watch")
        return 0
    owner = ProcessRef(first.pid, first.start_time)
    _log(f"watching pid {owner.pid} (journal {first.journal}, stale after {stale:g}s)")
    # the harness injects nothing until it reads this: an unguarded run never starts
    journal = Journal(Path(first.journal), BY)
    journal.record(EventName.WATCHDOG_WATCHING, stale=stale)
    while True:
        active = read_active(run.root)
        if active is None or active.journal != first.journal:
            _log("the run removed its faults; exiting")
            return 0
        why = handed_over(journal.tail()) or stale_reason(
            owner, _age(Path(active.heartbeat)), stale
        )
        if why is None:
            time.sleep(POLL)
            continue
        _log(f"{why}: taking over")
        return _take_over(stack_file, run, active, why)


def _take_over(stack_file: Path, run: RunDir, active: ActiveRun, why: str) -> int:
    journal_path = Path(active.journal)
    Journal(journal_path, BY).record(EventName.WATCHDOG_RECOVERING, reason=why)
    lock = try_lock(run.root, BY)  # None when a hung harness still holds it: act anyway
    try:
        default = runtime_for(load_topology(stack_file), stack_file, run.root)
        done = recover_through(journal_path, journaled_runtime(journal_path, default))
        if read_active(run.root) == active:
            clear_active(run.root)
        return 0 if done else 1
    finally:
        if lock is not None:
            lock.release()


def recover_through(journal_path: Path, runtime: Runtime) -> bool:
    """Revert the journal's open faults through `runtime` until none is left; False when
    its control plane went away first (the stack is gone, and its faults with it)."""
    with toxiproxy_of(runtime) as tp:
        env = FaultEnv(toxiproxy=tp, runtime=runtime)
        return recover_until_done(journal_path, env, runtime.control_plane_alive)


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", type=Path, required=True)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--stale", type=float, default=5.0)
    args = parser.parse_args(argv)
    return watch(args.stack, args.run_dir, args.stale)


if __name__ == "__main__":
    sys.exit(main())
