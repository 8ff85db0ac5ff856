"""The heartbeat the watchdog reads: a file touched from a thread for the whole run.

Beating from the main loop made a long recovery phase, a slow tick or a kill revert
that waits for a restart look like a dead harness. A thread keeps beating while the
process runs; it stops only when the process dies or is stopped (SIGSTOP stops every
thread), which is exactly when the watchdog must act. Hangs of the main thread are
bounded by the timeouts on every control-plane call.
"""

from __future__ import annotations

import threading
from pathlib import Path

__all__ = ["Heartbeat"]


class Heartbeat:
    def __init__(self, path: Path, interval: float = 0.5) -> None:
        self.path, self.interval = path, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self.path.touch()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2 * self.interval + 1)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.path.touch()
            except OSError:
                continue  # a full or vanished directory: the watchdog will notice the silence

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
