"""Progress of a run: a live view on a terminal, plain timestamped lines otherwise.

Text is redacted before it is laid out (`harness.secrets`): a table cell may wrap a
line, and a secret cut in two would pass the console's own redaction.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.table import Table

from harness.probes.promql import ProbeResult
from harness.secrets import redact

__all__ = ["LiveDisplay", "PlainDisplay", "make_display"]


class PlainDisplay:
    def __init__(self, console: Console, name: str) -> None:
        self.console, self.name = console, name

    def phase(self, name: str, detail: str = "") -> None:
        self._line(f"phase {name}" + (f": {detail}" if detail else ""))

    def tick(self, phase: str, remaining: float | None, results: list[ProbeResult]) -> None:
        left = f" ({remaining:.0f}s left)" if remaining is not None else ""
        said = "; ".join(r.summary() for r in results)  # nothing to say: no dangling colon
        self._line(f"{phase}{left}: {said}" if said else f"{phase}{left}")

    def _line(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        line = redact(f"{stamp} {self.name}: {text}")
        self.console.print(line, markup=False, highlight=False)

    def close(self) -> None:
        return None


class LiveDisplay:
    """Phase, time left and the current probe values, redrawn in place."""

    def __init__(self, console: Console, name: str) -> None:
        self.name, self._phase, self._detail = name, "starting", ""
        self._remaining: float | None = None
        self._results: list[ProbeResult] = []
        self._live = Live(self._render(), console=console, refresh_per_second=4, transient=False)
        self._live.start()

    def phase(self, name: str, detail: str = "") -> None:
        self._phase, self._detail = name, detail
        self._live.update(self._render())

    def tick(self, phase: str, remaining: float | None, results: list[ProbeResult]) -> None:
        self._remaining, self._results = remaining, results
        self._live.update(self._render())

    def close(self) -> None:
        self._live.stop()

    def _render(self) -> Table:
        left = f" · {self._remaining:.0f}s left" if self._remaining is not None else ""
        title = redact(f"{self.name} · {self._phase}{left} {self._detail}")
        table = Table(title=title, expand=True)
        for col in ("probe", "value", "threshold", "status"):
            table.add_column(col)
        for r in self._results:
            value = "no data" if r.value is None else f"{r.value:.4g}"
            style = "green" if r.ok else "yellow" if r.status == "pending" else "red"
            table.add_row(
                r.name, value, f"{r.op} {r.threshold:g}", f"[{style}]{r.status}[/{style}]"
            )
        return table


def make_display(console: Console, name: str) -> PlainDisplay | LiveDisplay:
    return LiveDisplay(console, name) if console.is_terminal else PlainDisplay(console, name)
