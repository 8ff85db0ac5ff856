"""SIGINT/SIGTERM become one typed exception while a run holds faults, so rollback runs."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["Interrupted", "hold_signals", "raise_on_signals"]


class Interrupted(Exception):  # noqa: N818 — it is an event, not an error
    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


@contextmanager
def raise_on_signals(*signums: signal.Signals) -> Iterator[None]:
    """Install handlers that raise Interrupted; restore the previous ones on exit."""
    signums = signums or (signal.SIGINT, signal.SIGTERM)

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in signums}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def hold_signals(
    signums: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM),
) -> list[int]:
    """From now on, note SIGINT/SIGTERM instead of raising: rollback must not be cut short.

    The handlers installed by `raise_on_signals` are restored when its block exits.
    """
    seen: list[int] = []
    for s in signums:
        signal.signal(s, lambda signum, frame: seen.append(signum))
    return seen
