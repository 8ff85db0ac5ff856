"""One page for a suite: every experiment's verdict, whether it was the designed one,
its times, alerts proven, budget burnt, and a link to its report."""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from harness.outcome import Outcome
from harness.secrets import redact

__all__ = ["write_suite"]


class _Run(Protocol):  # experiment.runner.RunResult, without importing the runner
    @property
    def name(self) -> str: ...
    @property
    def outcome(self) -> Outcome: ...
    @property
    def out_dir(self) -> Path: ...
    @property
    def seconds(self) -> float: ...
    @property
    def designed(self) -> str: ...


def write_suite(runs_dir: Path, results: Sequence[_Run]) -> Path:
    """`runs_dir/suite-<time>.html`, links relative to it."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = runs_dir / f"suite-{stamp}.html"
    rows = []
    for r in results:
        o = r.outcome
        ok = o.verdict == r.designed
        proven = sum(1 for a in o.alerts if a.ok)
        alerts = f"{proven} of {len(o.alerts)}" if o.alerts else "—"
        burnt = (
            ", ".join(
                f"{b.slo} {b.burnt:.1%}" if b.burnt is not None else f"{b.slo}: no data"
                for b in o.budget
            )
            or "—"
        )
        recovery = o.figures.recovery_seconds
        link = html.escape(str((r.out_dir / "report.html").relative_to(runs_dir)))
        notes = o.reasons[:3]
        if o.ramp is not None and not any(x.startswith("ramp:") for x in notes):
            notes = [*notes, f"ramp: {o.ramp.summary()}"]  # a held ramp's finding
        why = "<br>".join(html.escape(x) for x in notes)
        rows.append(
            f"<tr><td><a href='{link}'>{html.escape(r.name)}</a></td>"
            f"<td class='{'pass' if ok else 'fail'}'>{html.escape(str(o.verdict))}</td>"
            f"<td>{html.escape(r.designed)}{'' if ok else ' (NOT as designed)'}</td>"
            f"<td class='num'>{r.seconds:.0f}</td>"
            f"<td class='num'>{'—' if recovery is None else f'{recovery:.1f}'}</td>"
            f"<td>{alerts}</td><td>{html.escape(burnt)}</td><td>{why}</td></tr>"
        )
    off = sum(1 for r in results if r.outcome.verdict != r.designed)
    head = "every experiment as designed" if not off else f"{off} NOT as designed"
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>suite {stamp}: {head}</title><style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 80rem; }}
table {{ border-collapse: collapse; width: 100%; }} th, td {{ border: 1px solid #ddd;
padding: .25rem .5rem; text-align: left; vertical-align: top; }} th {{ background: #f5f5f5; }}
td.num {{ text-align: right; }} .pass {{ color: #2e7d32; font-weight: 600; }}
.fail {{ color: #c62828; font-weight: 600; }}</style></head><body>
<h1>Suite {stamp}: {head}</h1>
<p>{len(results)} experiments, {sum(r.seconds for r in results):.0f} s in all.</p>
<table><tr><th>experiment</th><th>verdict</th><th>designed</th><th>seconds</th>
<th>recovery (s)</th><th>alerts proven</th><th>budget burnt</th><th>why</th></tr>
{"".join(rows)}</table></body></html>
"""
    path.write_text(redact(page), encoding="utf-8")
    return path
