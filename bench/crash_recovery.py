"""Kill the harness at random points of real runs; count what it leaves behind.

Brings up its own stack (ports shifted by -7000, a temporary run dir) and runs a short
experiment mixing fault types — a latency toxic on a catalog link (0–3 s), an orders
replica's database link refused (4–7 s), an orders replica paused (5–8 s) — so kill
points land before, during and between injections. The shortest of three unkilled
runs is the run's span; each kill point is uniform over it (seeded). Two modes:

- `harness`: SIGKILL the `harness run` process only; its watchdog must revert.
- `both`: freeze the harness, SIGKILL its watchdog (its children, and the pointer's
  `watchdog_pid`) and then the harness; run `harness recover` at once.

After each kill it polls (deadline 30 s) until nothing is left: no toxic on any
proxy, no disabled proxy, no replica stopped (state T), no active-run pointer, and
(mode `harness`) the watchdog gone. Reports, per mode, the runs that left nothing
and the time from kill to clean over the kills that had a fault in place.

    .venv/bin/python -m bench.crash_recovery [--runs 20] [--seed 1] [--modes harness both]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import save
from bench.leftovers import (
    POINTER,
    Leftovers,
    children,
    cmdline,
    count,
    journal_events,
    open_at,
    phase_at,
)
from harness.clients.toxiproxy import ToxiproxyClient
from harness.runtime.local.state import read_state
from tests.integration.stackfixture import HARNESS, ROOT, Stack, start_stack, stop_stack

OFFSET, DEADLINE = -7000, 30.0
BEFORE_FAULTS = ("startup", "preflight", "load", "steady state before")

EXPERIMENT = """
version: harness/v1
name: bench-crash
hypothesis: whatever kills the harness, every fault comes off
targets:
  slow-catalog: {service: catalog, count: 1}
  orders-db: {service: orders, count: 1, hop: database}
  frozen-orders: {service: orders, count: 1}
faults:
  - {type: latency, target: slow-catalog, latency_ms: 200, start_after: 0s, duration: 3s}
  - {type: refused, target: orders-db, start_after: 4s, duration: 3s}
  - {type: pause, target: frozen-orders, start_after: 5s, duration: 3s}
steady_state:
  - {name: targets-up, query: "count(up == 1)", op: ">=", threshold: 1}
blast_radius:
  max_duration: 20s
"""


def launch(stack: Stack, exp: Path, runs: Path) -> subprocess.Popen[bytes]:
    runs.mkdir(parents=True)
    argv = [*HARNESS, "run", str(exp), "--stack", str(stack.stack_file)]
    argv += ["--stack-dir", str(stack.run_dir), "--results-dir", str(runs)]
    with (runs / "harness.log").open("wb") as log:
        return subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def calibrate(stack: Stack, exp: Path, tmp: Path, tp: ToxiproxyClient, runs: int = 3) -> float:
    """Seconds of the shortest of `runs` whole, unkilled runs (the first on a fresh stack
    waits for Prometheus's first scrapes); each must end clean."""
    spans = []
    for i in range(runs):
        start = time.monotonic()
        code = launch(stack, exp, tmp / f"calibration-{i}").wait(timeout=120)
        spans.append(time.monotonic() - start)
        left = count(tp, stack.run_dir)
        if code != 0 or not left.clean:
            raise RuntimeError(f"calibration run: exit {code}, left {left.to_json()}")
    print(f"calibration runs: {', '.join(f'{s:.2f}s' for s in spans)}", flush=True)
    return min(spans)


def watchdogs(run_dir: Path, candidates: list[int]) -> list[int]:
    """The run's watchdog among `candidates` and the pointer's `watchdog_pid`."""
    pids = set(candidates)
    try:
        pointer = json.loads((run_dir / POINTER).read_text(encoding="utf-8"))
        if pointer.get("watchdog_pid"):
            pids.add(int(pointer["watchdog_pid"]))
    except (OSError, ValueError):
        pass
    return sorted(p for p in pids if "harness.safety.watchdog" in cmdline(p))


def kill(proc: subprocess.Popen[bytes], mode: str, run_dir: Path) -> list[int]:
    """SIGKILL the harness (mode `both`: its watchdog first, the harness frozen meanwhile).

    The watchdog also acts on a stopped harness, so the frozen window is kept short: the
    /proc scan for its children (~1 ms) comes before SIGSTOP.
    """
    candidates = children(proc.pid)
    if mode == "both":
        proc.send_signal(signal.SIGSTOP)  # it cannot start another watchdog meanwhile
    found = watchdogs(run_dir, candidates)
    for pid in found if mode == "both" else []:
        os.kill(pid, signal.SIGKILL)
    proc.kill()
    proc.wait()
    return found


def await_clean(
    tp: ToxiproxyClient, run_dir: Path, wds: list[int], killed: float
) -> tuple[float | None, Leftovers]:
    """Seconds from `killed` until nothing is left (None: not within DEADLINE)."""
    while True:
        left = count(tp, run_dir)
        if left.clean and not [p for p in wds if "harness.safety.watchdog" in cmdline(p)]:
            seconds = time.monotonic() - killed
            time.sleep(0.5)  # catch a late arrival (a request in flight when we looked)
            left = count(tp, run_dir)
            return (round(seconds, 3) if left.clean else None), left
        if time.monotonic() - killed > DEADLINE:
            return None, left
        time.sleep(0.05)


def recover(stack: Stack) -> str:
    argv = [*HARNESS, "recover", "--stack", str(stack.stack_file), "--stack-dir", str(stack.run_dir)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    return f"exit {done.returncode}: {(done.stdout + done.stderr).strip()}"


def one_kill(stack: Stack, exp: Path, runs: Path, at: float, mode: str) -> dict[str, Any]:
    """Run, kill at `at` s, wait for the watchdog (or recover), count leftovers."""
    tp = ToxiproxyClient(stack.toxiproxy)
    proc = launch(stack, exp, runs)
    try:
        code = proc.wait(timeout=at)
    except subprocess.TimeoutExpired:
        code = None
    if code is not None:  # it ended before the kill point
        left = count(tp, stack.run_dir)
        tp.close()
        return {"mode": mode, "at": at, "killed": False, "exit": code, "clean": left.clean}
    wds = kill(proc, mode, stack.run_dir)
    killed, wall = time.monotonic(), time.time()
    seen = count(tp, stack.run_dir)
    recovered = recover(stack) if mode == "both" else None
    seconds, left = await_clean(tp, stack.run_dir, wds, killed)
    events = journal_events(runs)
    sample = {"mode": mode, "at": at, "killed": True, "phase": phase_at(events, wall)}
    sample |= {"open_at_kill": open_at(events, wall), "seen_at_kill": seen.to_json()}
    sample |= {"watchdogs": wds, "recover": recovered, "seconds_to_clean": seconds}
    sample |= {"clean": left.clean, "left": left.to_json()}
    sample["pointer_without_faults"] = not left.pointer and (stack.run_dir / POINTER).exists()
    if not left.clean:
        sample["journal_tail"] = events[-12:]
        tidy(stack, tp)
    tp.close()
    return sample


def where(sample: dict[str, Any]) -> str:
    """before / during / between injections / after, from the journal at the kill."""
    phase = sample["phase"]
    if phase == "fault":
        return "during" if sample["open_at_kill"] else "between"
    return "before" if phase.removeprefix("after ") in BEFORE_FAULTS else "after"


def tidy(stack: Stack, tp: ToxiproxyClient) -> None:
    """After a failed sample: recover, then reset by hand so the next run starts clean."""
    print(f"  tidy: {recover(stack)}", flush=True)
    tp.reset()
    state = read_state(stack.run_dir / "state.json")
    for comp in state.components if state else []:
        ref = comp.process()
        if ref is not None and ref.stopped():
            ref.send(signal.SIGCONT)
    (stack.run_dir / POINTER).unlink(missing_ok=True)


def await_ready(stack: Stack, timeout: float = 60) -> None:
    """Every replica answers /health/ready before the next run."""
    deadline = time.monotonic() + timeout
    pending = [r.name for r in stack.topo.replicas]
    while pending and time.monotonic() < deadline:
        pending = [name for name in pending if not _ready(stack.replica_url(name))]
        time.sleep(0.2 if pending else 0)
    if pending:
        raise RuntimeError(f"not ready after {timeout:g}s: {', '.join(pending)}")


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def summarise(samples: list[dict[str, Any]]) -> dict[str, Any]:
    in_place = [
        s for s in samples if s["killed"] and (_faults(s["seen_at_kill"]) or s["open_at_kill"])
    ]
    timed = [s["seconds_to_clean"] for s in in_place if s["clean"]]
    kinds = [where(s) if s["killed"] else "ended" for s in samples]
    return {
        "runs": len(samples),
        "clean": sum(1 for s in samples if s["clean"]),
        "kill_points": {k: kinds.count(k) for k in sorted(set(kinds))},
        "with_faults_in_place": len(in_place),
        "clean_seconds_median": statistics.median(timed) if timed else None,
        "clean_seconds_max": max(timed) if timed else None,
    }


def _faults(left: dict[str, Any]) -> int:
    return len(left["toxics"]) + len(left["disabled"]) + len(left["stopped"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--modes", nargs="+", default=["harness", "both"], choices=["harness", "both"])
    args = ap.parse_args()
    samples: dict[str, list[dict[str, Any]]] = {m: [] for m in args.modes}
    with tempfile.TemporaryDirectory(prefix="bench-crash-") as tmp_name:
        tmp = Path(tmp_name)
        stack = start_stack(tmp, OFFSET)
        try:
            exp = tmp / "bench-crash.yaml"
            exp.write_text(EXPERIMENT)
            with ToxiproxyClient(stack.toxiproxy) as tp:
                span = calibrate(stack, exp, tmp, tp)
            rng = random.Random(args.seed)
            points = [round(rng.uniform(0, span), 3) for _ in range(args.runs)]
            print(f"run span {span:.2f}s; kill points {points}", flush=True)
            for mode in args.modes:
                for i, at in enumerate(points):
                    await_ready(stack)
                    sample = one_kill(stack, exp, tmp / mode / str(i), at, mode)
                    samples[mode].append(sample)
                    print(f"{mode} {i + 1}: {json.dumps(sample, default=str)}", flush=True)
        finally:
            stop_stack(stack)
    summary = {m: summarise(s) for m, s in samples.items()}
    for mode, s in summary.items():
        print(f"{mode}: {s['clean']} of {s['runs']} runs left nothing behind; {s}")
    print(
        f"saved {save('crash_recovery', {'args': vars(args), 'span': span, 'summary': summary, 'samples': samples})}"
    )


if __name__ == "__main__":
    main()
