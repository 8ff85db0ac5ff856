"""SIGINT/SIGTERM become one typed exception during a run, and wait while faults come off.

`raise_on_signals` is installed for the whole run: a signal raises `Interrupted`
wherever the run is, so rollback runs in `finally`. While faults are being removed
`deferred_signals` notes a signal instead of raising (a second Ctrl-C must not cut a
rollback short) and raises it as soon as the removal is done: the run still ends
"interrupted", within the time the removal takes, instead of swallowing the signal.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["SIGNALS", "Interrupted", "deferred_signals", "raise_on_signals"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):  # noqa: N818 — it is an event, not an error
    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextmanager
def raise_on_signals(*signums: signal.Signals) -> Iterator[None]:
    """Install handlers that raise Interrupted; restore the previous ones on exit."""
    previous = {s: signal.signal(s, _raise) for s in signums or SIGNALS}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


@contextmanager
def deferred_signals(*signums: signal.Signals) -> Iterator[list[int]]:
    """Note SIGINT/SIGTERM instead of acting on them for the block; then restore the
    handlers and, if one arrived, raise Interrupted for the first.

    The block is not interrupted; a signal that arrived is not lost. When an exception
    already leaves the block, it goes on unchanged (the signal stays in the list).
    """
    seen: list[int] = []
    previous = {
        s: signal.signal(s, lambda signum, frame: seen.append(signum)) for s in signums or SIGNALS
    }
    try:
        yield seen
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
    if seen:
        raise Interrupted(seen[0])
