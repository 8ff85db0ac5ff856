"""Gradual chaos: how long a ramp takes to find its breaking point, and where it finds it.

Runs a ramp experiment (default: the shipped `experiments/orders-ramp-pause.yaml`)
`--runs` times with `harness run`, and reads each run's journal: the breaking step, the
seconds from the first injection to the decision that the step broke (the ramp's own
figure), the seconds from that step's first injection to its breach (detection inside
the step), and the run's wall time. Prints the medians. By default the bench starts a
stack of its own on ports +5000 and takes it down after; `--stack`/`--run-dir` use a
stack that is already up.

    .venv/bin/python -m bench.ramp [--runs 5] [--experiment experiments/orders-ramp-pause.yaml]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import save
from bench.cpu_stress import own_stack
from harness.safety.journal import read_events

ROOT = Path(__file__).resolve().parents[1]
HARNESS = (sys.executable, "-m", "harness")


def one_run(stack_file: Path, run_dir: Path, experiment: Path, out: Path) -> dict[str, Any]:
    started = time.monotonic()
    subprocess.run(
        [
            *HARNESS,
            "run",
            str(experiment),
            "--stack",
            str(stack_file),
            "--stack-dir",
            str(run_dir),
            "--results-dir",
            str(out),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        check=False,
        timeout=900,
    )
    wall = time.monotonic() - started
    (journal,) = out.glob("*/journal.jsonl")
    return {"wall_seconds": round(wall, 1), **figures(read_events(journal))}


def figures(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The breaking step and its times, from one run's journal."""
    verdict = next(e for e in events if e["event"] == "verdict")
    point = next((e for e in events if e["event"] == "ramp.breaking_point"), None)
    out: dict[str, Any] = {"verdict": verdict["verdict"], "breaking_step": None}
    if point is None:
        return out
    out["breaking_step"] = point["step"]
    out["seconds_to_break"] = point["seconds_to_break"]
    step_at = next(
        i for i, e in enumerate(events) if e["event"] == "ramp.step" and e["step"] == point["step"]
    )
    applied = next(e["time"] for e in events[step_at:] if e["event"] == "fault.applied")
    abort = next((e["time"] for e in events[step_at:] if e["event"] == "abort"), None)
    out["detection_in_step"] = None if abort is None else round(abort - applied, 3)
    return out


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def median(key: str) -> float | None:
        values = [r[key] for r in runs if r.get(key) is not None]
        return round(statistics.median(values), 3) if values else None

    return {
        "breaking_steps": dict(Counter(str(r["breaking_step"]) for r in runs)),
        "verdicts": dict(Counter(r["verdict"] for r in runs)),
        "seconds_to_break_median": median("seconds_to_break"),
        "detection_in_step_median": median("detection_in_step"),
        "wall_seconds_median": median("wall_seconds"),
    }


def measure(stack_file: Path, run_dir: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            out = Path(tmp) / f"run-{i}"
            result = one_run(stack_file, run_dir, args.experiment, out)
            print(f"run {i + 1}: {result}", flush=True)
            runs.append(result)
    return runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument(
        "--experiment", type=Path, default=ROOT / "experiments" / "orders-ramp-pause.yaml"
    )
    ap.add_argument("--stack", type=Path, help="a stack already up (default: start one)")
    ap.add_argument("--run-dir", type=Path, default=Path(".run"))
    ap.add_argument("--offset", type=int, default=5000, help="ports of the bench's own stack")
    args = ap.parse_args()
    args.experiment = args.experiment.resolve()
    if args.stack is not None:
        runs = measure(args.stack.resolve(), args.run_dir.resolve(), args)
    else:
        with own_stack(args.offset) as (stack_file, run_dir):
            runs = measure(stack_file, run_dir, args)
    result = {"experiment": args.experiment.name, "runs": runs, **summary(runs)}
    print({k: v for k, v in result.items() if k != "runs"})
    print(f"saved {save('ramp', result)}")


if __name__ == "__main__":
    main()
