"""The dead-man's switch: a process outside the harness that undoes a run's faults
when the harness stops heart-beating (killed with -9, hung, or stopped).

The engine starts it before the first injection and touches a heartbeat file every
tick. When the heartbeat is older than `--stale` seconds or the harness process is
gone, the watchdog reverts every fault the journal lists as still in place, records
that in the journal, clears the stack's active-run pointer and exits. When the run
ends normally the pointer disappears and the watchdog exits quietly.

Run as: python -m harness.safety.watchdog --stack stack.yaml --run-dir .run --stale 5
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from harness.faults import FaultEnv
from harness.procs import ProcessRef
from harness.safety.lock import read_active
from harness.safety.recover import recover_stack
from harness.stack.layout import RunDir
from harness.stack.state import StackState, read_state
from harness.topology import load_topology
from harness.toxiproxy import ToxiproxyClient

POLL = 0.2


def _stack_state(run: RunDir) -> StackState:
    state = read_state(run.state_file)
    if state is None:
        raise RuntimeError(f"no stack state in {run.root}")
    return state


def _log(msg: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} watchdog[{os.getpid()}]: {msg}", flush=True)


def watch(stack_file: Path, run_dir: Path, stale: float) -> int:
    run = RunDir(run_dir)
    first = read_active(run.root)
    if first is None:
        _log("no active run; nothing to watch")
        return 0
    owner = ProcessRef(first.pid, first.start_time)
    _log(f"watching pid {owner.pid} (journal {first.journal}, stale after {stale:g}s)")
    while True:
        active = read_active(run.root)
        if active is None or active.journal != first.journal:
            _log("the run ended; exiting")
            return 0
        age = _age(Path(active.heartbeat))
        if owner.alive() and age <= stale and not owner.stopped():
            time.sleep(POLL)
            continue
        why = "the harness is gone" if not owner.alive() else f"no heartbeat for {age:.1f}s"
        _log(f"{why}: recovering")
        return _recover(stack_file, run)


def _recover(stack_file: Path, run: RunDir) -> int:
    topo = load_topology(stack_file)
    with ToxiproxyClient(f"http://{topo.host}:{topo.toxiproxy.port}") as tp:
        env = FaultEnv(toxiproxy=tp, stack_state=lambda: _stack_state(run))
        report = recover_stack(run.root, env, by="watchdog")
    for line in report.reverted:
        _log(f"reverted {line}")
    for line in report.failed:
        _log(f"FAILED to revert {line}")
    return 0 if report.ok else 1


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
