"""Run the open-loop load generator in a background thread for the length of a run."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from harness.load.generator import LoadResult, Record, Route, Target, run_load
from harness.secrets import authorization, expand, strip_credentials, url_credentials
from harness.specs.experiment import LoadSpec

__all__ = ["BackgroundLoad", "routes_of"]


def routes_of(spec: LoadSpec, *, secrets_dir: Path) -> list[Route]:
    """The load generator's routes for a spec: method, path, weight, body, choices, headers.

    Secrets are resolved here, as the load starts (`secrets_dir`: the experiment file's
    directory): `${...}` in header values, and the Authorization of `basic_auth` (else
    of a password in the target URL) for every route that sets none. The routes share
    one `{seq}` counter.
    """
    auth = _authorization(spec, secrets_dir)
    seq = itertools.count(1)
    routes = []
    for r in spec.routes:
        headers = {k: expand(v, secrets_dir, braces=True) for k, v in r.headers.items()}
        if auth is not None and "authorization" not in {k.lower() for k in headers}:
            headers["Authorization"] = auth.replace("{", "{{").replace("}", "}}")
        choices: dict[str, Sequence[object]] = {k: list(v) for k, v in r.choices.items()}
        routes.append(
            Route(r.method, r.path, r.weight, r.json_body, choices, headers=headers, seq=seq)
        )
    return routes


def _authorization(spec: LoadSpec, secrets_dir: Path) -> str | None:
    if spec.basic_auth is not None:
        user = expand(spec.basic_auth.username, secrets_dir)
        return authorization(user, expand(spec.basic_auth.password, secrets_dir))
    if spec.target is not None and spec.target.url is not None:
        return url_credentials(spec.target.url, secrets_dir)[1]
    return None


class BackgroundLoad:
    """Start with `start()`, end with `stop()` which returns what the users saw.

    `targets` take the requests in turn (one: all of them; see `run_load`)."""

    def __init__(
        self,
        targets: Sequence[Target],
        spec: LoadSpec,
        max_seconds: float,
        seed: int,
        *,
        secrets_dir: Path,
    ) -> None:
        self._stop = threading.Event()
        self.records: list[Record] = []  # appended by the load thread as responses arrive
        self._result: LoadResult | None = None
        self._error: BaseException | None = None
        # credentials go in the routes' headers, never in a URL (errors and records show it)
        self._targets = [replace(t, url=strip_credentials(t.url)) for t in targets]
        self._routes = routes_of(spec, secrets_dir=secrets_dir)
        self._thread = threading.Thread(
            target=self._run, name="load", daemon=True, args=(spec, max_seconds, seed)
        )

    def _run(self, spec: LoadSpec, max_seconds: float, seed: int) -> None:
        try:
            self._result = asyncio.run(
                run_load(
                    self._targets,
                    spec.rate,
                    max_seconds,
                    self._routes,
                    timeout=spec.timeout,
                    stop=self._stop,
                    seed=seed,
                    sink=self.records,
                )
            )
        except BaseException as exc:  # surfaced by stop()
            self._error = exc

    def recent(self, window: float) -> list[Record]:
        """Requests that completed in the last `window` seconds (a copy; safe to iterate).

        Records are appended as their responses end, so completion times never decrease
        along the list: scanning back from its end stops at the window's start, and a
        guardrail read 20 times a second costs the window's records, not the whole run's.
        """
        since = time.monotonic() - window
        records = self.records
        start = len(records)  # read once: the load thread only ever appends
        while start > 0 and records[start - 1].scheduled + records[start - 1].latency >= since:
            start -= 1
        return records[start : len(records)]

    def start(self) -> BackgroundLoad:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> LoadResult | None:
        self._stop.set()
        self._thread.join(timeout)
        if self._error is not None:
            raise self._error
        return self._result
