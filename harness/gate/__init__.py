"""The release gate: may this release ship, decided from SLOs over a time range.

- `spec`: gate files (objectives, criteria, policies) and the default gate;
- `indicators`: each objective's value read from Prometheus, with its query and time;
- `evaluate`: the verdict — pass, warn, fail, inconclusive — and the score;
- `ranges`: the time range from `--since`, `--start/--end` or runs' journals;
- `render`: Markdown, JUnit XML and JSON (the baseline format).
"""

from __future__ import annotations

from harness.gate.evaluate import GateResult, evaluate
from harness.gate.spec import GateFile, default_gate, load_gate

__all__ = ["GateFile", "GateResult", "default_gate", "evaluate", "load_gate"]
