"""SIGINT/SIGTERM during a run: one typed exception, raised once, held while faults come off.

One handler is installed for the whole run (`raise_on_signals`) and never swapped:
what it does is a mode. While the mode is "raising", the first signal raises
`Interrupted` wherever the run is, so rollback runs in `finally`; raising consumes
the mode, so a second Ctrl-C cannot cut short the handling of the first. While faults
are being removed `deferred_signals` switches to "noting": a signal does not
interrupt the removal, and is raised as soon as the removal is done, so the run still
ends "interrupted" without waiting. `hold_signals` notes every signal from then on
(the run is ending: cleanup and the verdict must not be cut short either).

A handler whose behaviour is a flag has no window in which a signal meets the wrong
handler, as swapping handlers one signal at a time does.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

__all__ = [
    "SIGNALS",
    "Interrupted",
    "deferred_signals",
    "hold_signals",
    "noted_signals",
    "raise_on_signals",
]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(Exception):  # noqa: N818 — it is an event, not an error
    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


@dataclass
class _Gate:
    """Signals are process-wide, and so is this: the one handler's mode and memory."""

    raising: bool = False
    noted: list[int] = field(default_factory=list)


_gate = _Gate()


def _handler(signum: int, frame: FrameType | None) -> None:
    if _gate.raising:
        _gate.raising = False  # raised once: what handles it is not interrupted again
        raise Interrupted(signum)
    _gate.noted.append(signum)


@contextmanager
def raise_on_signals(*signums: signal.Signals) -> Iterator[None]:
    """Install the run's handler (raising); restore the previous handlers on exit."""
    previous = {s: signal.signal(s, _handler) for s in signums or SIGNALS}
    _gate.raising, _gate.noted = True, []
    try:
        yield
    finally:
        _gate.raising = False
        for s, old in previous.items():
            signal.signal(s, old)


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Note signals instead of raising for the block; then, if one arrived and the run
    was still raising, raise Interrupted for the first. An exception leaving the block
    goes on unchanged (the signal stays noted)."""
    was, start = _gate.raising, len(_gate.noted)
    _gate.raising = False
    try:
        yield
    finally:
        _gate.raising = was
    if was and len(_gate.noted) > start:
        _gate.raising = False  # as if the handler had raised it
        raise Interrupted(_gate.noted[start])


def hold_signals() -> None:
    """From now on only note signals: the run is ending and must end whole."""
    _gate.raising = False


def noted_signals() -> list[int]:
    """Signals that arrived while they were held or deferred, oldest first."""
    return list(_gate.noted)
