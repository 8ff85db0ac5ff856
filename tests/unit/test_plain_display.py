"""The plain progress lines: a tick with nothing to judge is the phase and time left alone."""

from __future__ import annotations

import io

from rich.console import Console

from harness.cli.display import PlainDisplay
from harness.probes.promql import ProbeResult


def _display() -> tuple[PlainDisplay, io.StringIO]:
    out = io.StringIO()
    return PlainDisplay(Console(file=out, width=200), "kill-one"), out


def test_a_tick_with_no_expectation_ends_at_the_time_left():
    display, out = _display()
    display.tick("fault", 3.0, [])
    assert out.getvalue().rstrip("\n").endswith("kill-one: fault (3s left)")


def test_a_tick_with_results_lists_them():
    display, out = _display()
    result = ProbeResult("up", "q", ">=", 1.0, 1.0, 0.0, "pass")
    display.tick("fault", 2.0, [result])
    assert out.getvalue().rstrip("\n").endswith(f"kill-one: fault (2s left): {result.summary()}")
