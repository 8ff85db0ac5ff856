"""Breach → rollback complete, over repeated runs of a fault that breaks the SLO at once.

The fault (every orders replica's database link refused) makes POST /orders fail from
the moment it is applied, so "breach" is the fault's application time. From each
run's journal: detection (fault applied → abort decision), rollback (abort decision →
every fault removed) and their sum (breach → rollback complete). Prometheus scrapes
every 1 s; the guardrail uses a 5 s rate window with 1 s ticks.

    .venv/bin/python -m bench.rollback_latency [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import db_down_experiment, save

EXPERIMENT = db_down_experiment(
    "bench-rollback",
    30,
    extra="""settle: 4s
load:
  rate: 30
  routes:
    - {method: POST, path: /orders, json: {product_id: 1, quantity: 1}}
""",
)


def one_run(tmp: Path, stack: Path, run_dir: Path) -> dict[str, float]:
    tmp.mkdir(parents=True)
    exp = tmp / "bench-rollback.yaml"
    exp.write_text(EXPERIMENT)
    runs = tmp / "runs"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "run",
            str(exp),
            "--stack",
            str(stack),
            "--stack-dir",
            str(run_dir),
            "--results-dir",
            str(runs),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    journal = json.loads(sorted(runs.glob("*/journal.json"))[-1].read_text())
    assert journal["verdict"] == "aborted", journal.get("reasons")
    applied = min(e["time"] for e in journal["events"] if e["event"] == "fault.applied")
    removed = max(e["time"] for e in journal["events"] if e["event"] == "fault.removed")
    return {
        "detection": journal["figures"]["detection_seconds"],
        "rollback": journal["figures"]["rollback_seconds"],
        "breach_to_rollback_complete": round(removed - applied, 3),
    }


def quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]  # noqa: E731
    return {"p50": pick(0.5), "p95": pick(0.95), "max": ordered[-1]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--stack", type=Path, default=Path("stack.yaml"))
    ap.add_argument("--run-dir", type=Path, default=Path(".run"))
    args = ap.parse_args()
    samples = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            sample = one_run(Path(tmp) / str(i), args.stack, args.run_dir)
            print(f"run {i + 1}: {sample}", flush=True)
            samples.append(sample)
    summary = {k: quantiles([s[k] for s in samples]) for k in samples[0]}
    for key, q in summary.items():
        print(f"{key:<28} p50 {q['p50']:.3f}s  p95 {q['p95']:.3f}s  max {q['max']:.3f}s")
    print(
        f"saved {save('rollback_latency', {'runs': args.runs, 'summary': summary, 'samples': samples})}"
    )


if __name__ == "__main__":
    main()
