"""Time to firing and to notification of every alert the shop's suite proves, against
the floor, over repeated runs.

Runs each shipped experiment that carries `expectations.alerts` (the database outage,
the frozen catalog replica, the catalog blackhole) `--runs` times against the stack
`harness up` started, and reads each proof from the run's journal: time from the
fault's start to the first firing evaluation (Prometheus ALERTS) and to the
notification's arrival at the harness's receiver, the floor the harness computed from
the rule, and the slack (measured - floor). Medians per alert.

    .venv/bin/python -m bench.alert_detection [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.common import median, save

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = [
    ROOT / "experiments" / "orders-database-outage-pages.yaml",
    ROOT / "experiments" / "catalog-pause-one.yaml",
    ROOT / "experiments" / "catalog-blackhole-all.yaml",
]
FIGURES = (
    "time_to_fire",
    "floor_fire",
    "slack_fire",
    "time_to_notify",
    "floor_notify",
    "slack_notify",
    "time_to_resolve",
)


def one_run(experiment: Path, runs: Path) -> list[dict[str, Any]]:
    before = set(runs.glob("*/journal.json"))
    done = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(experiment), "--results-dir", str(runs)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=ROOT,
    )
    [journal_path] = set(runs.glob("*/journal.json")) - before
    journal = json.loads(journal_path.read_text())
    if journal["verdict"] != "held":
        print(f"  {experiment.stem}: {journal['verdict']}: {journal['reasons']}", flush=True)
        print(done.stdout[-2000:], flush=True)
    return list(journal["alerts"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    samples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            for experiment in EXPERIMENTS:
                for proof in one_run(experiment, Path(tmp)):
                    key = proof["alert"] + "".join(
                        f" {k}={v}" for k, v in sorted(proof["labels"].items())
                    )
                    samples[key].append(proof)
                    print(
                        f"run {i + 1} {key}: fire {proof['time_to_fire']} "
                        f"(floor {proof['floor_fire']}), notify {proof['time_to_notify']} "
                        f"(floor {proof['floor_notify']}), ok={proof['ok']}",
                        flush=True,
                    )
    result: dict[str, Any] = {"runs": args.runs, "alerts": {}}
    print(f"\n{'alert':48} {'n':>2} " + " ".join(f"{f:>15}" for f in FIGURES))
    for key, proofs in sorted(samples.items()):
        row = {f: median([p[f] for p in proofs]) for f in FIGURES}
        row["proven"] = sum(1 for p in proofs if p["ok"])
        row["n"] = len(proofs)
        result["alerts"][key] = row
        shown = " ".join(f"{_fmt(row[f]):>15}" for f in FIGURES)
        print(f"{key:48} {len(proofs):>2} {shown}")
    save("alert_detection", result)
    return 0 if all(r["proven"] == r["n"] for r in result["alerts"].values()) else 1


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    sys.exit(main())
