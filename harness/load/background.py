"""Run the open-loop load generator in a background thread for the length of a run."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

from harness.load.generator import LoadResult, Record, Route, Target, run_load
from harness.specs.experiment import LoadSpec

__all__ = ["BackgroundLoad", "routes_of"]


def routes_of(spec: LoadSpec) -> list[Route]:
    """The load generator's routes for a spec: method, path, weight, body, choices, headers."""
    return [
        Route(
            r.method,
            r.path,
            r.weight,
            json=r.json_body,
            choices={k: list(v) for k, v in r.choices.items()},
            headers=dict(r.headers),
        )
        for r in spec.routes
    ]


class BackgroundLoad:
    """Start with `start()`, end with `stop()` which returns what the users saw.

    `targets` take the requests in turn (one: all of them; see `run_load`)."""

    def __init__(
        self, targets: Sequence[Target], spec: LoadSpec, max_seconds: float, seed: int
    ) -> None:
        self._stop = threading.Event()
        self.records: list[Record] = []  # appended by the load thread as responses arrive
        self._result: LoadResult | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, name="load", daemon=True, args=(targets, spec, max_seconds, seed)
        )

    def _run(
        self, targets: Sequence[Target], spec: LoadSpec, max_seconds: float, seed: int
    ) -> None:
        try:
            self._result = asyncio.run(
                run_load(
                    targets,
                    spec.rate,
                    max_seconds,
                    routes_of(spec),
                    timeout=spec.timeout,
                    stop=self._stop,
                    seed=seed,
                    sink=self.records,
                )
            )
        except BaseException as exc:  # surfaced by stop()
            self._error = exc

    def recent(self, window: float) -> list[Record]:
        """Requests that completed in the last `window` seconds (a copy; safe to iterate)."""
        since = time.monotonic() - window
        return [r for r in list(self.records) if r.scheduled + r.latency >= since]

    def start(self) -> BackgroundLoad:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> LoadResult | None:
        self._stop.set()
        self._thread.join(timeout)
        if self._error is not None:
            raise self._error
        return self._result
