"""Wall time of the experiment suite (`harness run experiments/`), and each verdict.

.venv/bin/python -m bench.suite_walltime
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import save


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "harness", "run", "experiments", "--results-dir", tmp],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.monotonic() - start
        verdicts = {}
        for journal in sorted(Path(tmp).glob("*/journal.json")):
            doc = json.loads(journal.read_text())
            verdicts[doc["experiment"]] = {"verdict": doc["verdict"], "figures": doc["figures"]}
    print(f"suite: {seconds:.1f}s, exit {proc.returncode}")
    for name, v in verdicts.items():
        print(f"  {name:<30} {v['verdict']:<10} {v['figures']}")
    print(
        f"saved {save('suite_walltime', {'seconds': round(seconds, 1), 'exit': proc.returncode, 'experiments': verdicts})}"
    )


if __name__ == "__main__":
    main()
