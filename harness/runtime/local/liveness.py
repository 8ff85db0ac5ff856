"""Liveness, as a kubelet judges it: a replica whose `live_path` fails N probes in a row
is restarted.

`LiveCheck` is the judgement alone (probe results in, a verdict out, the clock passed
in), so it is tested without processes or sockets; `probe` is one HTTP GET; the
supervisor runs the probes off its loop and kills a condemned replica by its recorded
identity. A replica is judged only once it has answered since it (re)started: one
still starting is not dead, and a crash is the exit the supervisor already sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

__all__ = ["PROBE_TIMEOUT", "LiveCheck", "LiveProbe", "probe", "probe_client"]

PROBE_TIMEOUT = 1.0  # seconds, a kubelet's default timeoutSeconds


@dataclass(frozen=True)
class LiveProbe:
    """What the topology says: where to probe, how often, how many failures in a row."""

    url: str
    period: float
    failures: int


class LiveCheck:
    """One replica's liveness bookkeeping between two restarts."""

    def __init__(self, spec: LiveProbe, now: float) -> None:
        self.spec = spec
        self.restarted(now)

    def restarted(self, now: float) -> None:
        """A new process: nothing held against it, judged once it has answered."""
        self.armed, self.in_row, self.last_error = False, 0, ""
        self.next_at = now + self.spec.period

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def begin(self, now: float) -> None:
        """A probe starts now; the next one is a period later (not after this one ends)."""
        self.next_at = now + self.spec.period

    def record(self, error: str | None) -> str | None:
        """A probe's outcome (None: it answered); the reason to restart, once it is due."""
        if error is None:
            self.armed, self.in_row = True, 0
            return None
        if not self.armed:
            return None  # never answered yet: still starting, not judged
        self.in_row, self.last_error = self.in_row + 1, error
        if self.in_row < self.spec.failures:
            return None
        return (
            f"liveness failed: {self.spec.url} {error} "
            f"({self.in_row} probes in a row, {self.spec.period:g}s apart)"
        )


def probe_client(transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """A client for probes: a new connection each time (a replaced process on the same
    port must not fail on a pooled connection to its predecessor), no redirects."""
    return httpx.Client(
        transport=transport,
        timeout=PROBE_TIMEOUT,
        limits=httpx.Limits(max_keepalive_connections=0),
        follow_redirects=False,
    )


def probe(client: httpx.Client, url: str) -> str | None:
    """None when `url` answers 2xx or 3xx within the client's timeout, else what went wrong."""
    try:
        status = client.get(url).status_code
    except httpx.TimeoutException:
        return f"did not answer within {PROBE_TIMEOUT:g}s"
    except httpx.HTTPError as exc:
        return f"failed: {type(exc).__name__}: {exc}"
    return None if 200 <= status < 400 else f"answered HTTP {status}"
