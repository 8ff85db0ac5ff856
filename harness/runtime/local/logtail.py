"""The last lines of a component's log: what `harness up` shows when the component fails.

A component's log grows across restarts and stacks (it is opened for appending), so
the tail starts where the failing process began writing: earlier runs' lines would
only mislead. Reading is bounded whatever the file's size.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["TAIL_LINES", "log_size", "tail"]

TAIL_LINES = 20
_MAX_BYTES = 64 * 1024  # a tail of 20 lines never needs more
_MAX_LINE = 400  # characters of one line shown; a minified blob is cut


def log_size(path: Path) -> int:
    """Where the next process's output begins (0 for a log not written yet)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def tail(path: Path, lines: int = TAIL_LINES, start: int = 0) -> list[str]:
    """The last `lines` lines written to `path` from byte `start` on (none if unreadable)."""
    try:
        with path.open("rb") as fh:
            end = fh.seek(0, 2)
            fh.seek(max(start, end - _MAX_BYTES))
            data = fh.read()
    except OSError:
        return []
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
    kept = [line.rstrip() for line in text.split("\n")]
    while kept and not kept[-1]:
        kept.pop()
    return [_cut(line) for line in kept[-lines:]]


def _cut(line: str) -> str:
    return line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 1] + "…"
