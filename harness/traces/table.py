"""The trace table of a report: per fault window, the slowest and the failed requests,
each with its trace id and the top hop of its critical path.

The load generator starts a trace per request (`Record.trace_id`); Jaeger holds what
the services made of it. A request Jaeger does not answer for still gets its row (id,
latency, status), with the reason in place of the hop. What holds for a whole table is
said once, not on every row: a service that has sent Jaeger no span at all
(`TraceRow.no_spans`), and a trace backend that is not there or stopped answering
(`TraceRow.no_backend`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from harness.clients.jaeger import JaegerClient, JaegerError, Trace, TraceNotFound
from harness.load.generator import Record
from harness.runtime.local.jaegerconfig import query_url
from harness.specs.topology import Topology
from harness.traces.critical import Hop, critical_path, failed_calls, root_span, top_hop

__all__ = ["TraceRow", "Window", "report_rows", "trace_table"]

DEFAULT_SLOWEST = 5
DEFAULT_MAX_FAILED = 10
LOOKUP_TIMEOUT = 2.0
# a span reaches Jaeger within the apps' export delay (OTEL_BSP_SCHEDULE_DELAY, 1 s in
# the local stack) plus Jaeger's batch (0.2 s): a table asked for sooner waits that long
SETTLE = 2.5
_NOT_FOUND = "not in Jaeger"
NO_BACKEND = "the topology runs no trace backend (its jaeger is disabled)"
UNREACHABLE = "Jaeger stopped answering"


class Window(Protocol):
    """A fault window: wall-clock start and end (None: still open). Its `type` and
    `targets`, when it has them, label the rows (harness.experiment's FaultWindow)."""

    @property
    def start(self) -> float: ...

    @property
    def end(self) -> float | None: ...


@dataclass(frozen=True)
class TraceRow:
    """One request of a fault window, ready to render."""

    window: int  # 1-based, in the order the windows were given
    window_label: str  # "latency on gateway_orders-2"
    why: str  # "slowest", "failed" or "slowest, failed"
    trace_id: str  # "" when the request carried none
    route: str  # "GET /orders/{id}"
    at: float  # when the request was due (unix seconds)
    latency_ms: float
    status: str  # "200", "503", or the client's error ("ReadTimeout")
    hop: str  # "+300 ms in gateway_orders-2 (orders-2)", or why there is none
    hop_ms: float | None = None
    hop_where: str | None = None  # the link or replica the top hop names
    window_requests: int = 0  # requests due in the window (the table shows a few)
    window_failed: int = 0  # of which failed
    failed_calls: str = ""  # "gateway_orders-1 (ConnectError), gateway_orders-2 (503)"
    trace_url: str = ""  # the trace in Jaeger's UI
    no_spans: str = ""  # the service the request entered, when it sends Jaeger no spans
    no_backend: str = ""  # why no trace was looked up at all (NO_BACKEND, UNREACHABLE)


def report_rows(
    records: Sequence[Record],
    windows: Sequence[Window],
    topo: Topology,
    *,
    offset: float,
    jaeger_url: str | None = None,
    slowest: int = DEFAULT_SLOWEST,
    max_failed: int = DEFAULT_MAX_FAILED,
    settle: float = SETTLE,
) -> list[TraceRow]:
    """The trace table for a report. `offset` turns `Record.scheduled` (monotonic) into
    wall-clock time: `time.time() - time.monotonic()`, taken in the process that ran the
    load. Jaeger is the topology's (or `jaeger_url`); with neither, rows have no hop.
    Asked within `settle` seconds of a window's end, it first waits for the last spans."""
    url = jaeger_url or (query_url(topo) if topo.jaeger.enabled else None)
    jaeger = JaegerClient(url, timeout=LOOKUP_TIMEOUT) if url else None
    if jaeger is not None:
        ends = [w.end for w in windows if w.end is not None]
        time.sleep(min(settle, max(0.0, max(ends, default=0.0) + settle - time.time())))
    try:
        return trace_table(
            records,
            windows,
            jaeger,
            offset=offset,
            topo=topo,
            slowest=slowest,
            max_failed=max_failed,
        )
    finally:
        if jaeger is not None:
            jaeger.close()


def trace_table(
    records: Sequence[Record],
    windows: Sequence[Window],
    jaeger: JaegerClient | None,
    *,
    offset: float = 0.0,
    topo: Topology | None = None,
    slowest: int = DEFAULT_SLOWEST,
    max_failed: int = DEFAULT_MAX_FAILED,
) -> list[TraceRow]:
    """Per window: the `slowest` slowest requests due in it, then up to `max_failed` of
    its failed ones (the slowest first), each looked up in `jaeger` (None: no lookups).
    After Jaeger fails to answer once, the rest are not asked (each would wait)."""
    lookup = _Lookup(jaeger, topo)
    rows: list[TraceRow] = []
    for number, window in enumerate(windows, 1):
        due = _within(records, window, offset)
        counts = (len(due), sum(1 for r in due if not r.ok))
        label = _label(window)
        for record, why in _chosen(due, slowest, max_failed):
            rows.append(lookup.row(number, label, why, record, offset, counts))
    return rows


def _within(records: Sequence[Record], window: Window, offset: float) -> list[Record]:
    end = math.inf if window.end is None else window.end
    return [r for r in list(records) if window.start <= r.scheduled + offset <= end]


def _chosen(records: list[Record], slowest: int, max_failed: int) -> list[tuple[Record, str]]:
    by_latency = sorted(records, key=lambda r: r.latency, reverse=True)
    slow = by_latency[:slowest]
    failed = [r for r in by_latency if not r.ok][:max_failed]
    out = [(r, "slowest, failed" if not r.ok else "slowest") for r in slow]
    return out + [(r, "failed") for r in failed if not any(r is s for s in slow)]


def _label(window: Window) -> str:
    kind = getattr(window, "type", None)
    targets = getattr(window, "targets", None) or ()
    if kind is None:
        return ""
    return f"{kind} on {', '.join(map(str, targets))}" if targets else str(kind)


class _Lookup:
    """Fetches traces and names their top hop; remembers that Jaeger stopped answering."""

    def __init__(self, jaeger: JaegerClient | None, topo: Topology | None) -> None:
        self.jaeger, self.topo = jaeger, topo
        self.down: str | None = None if jaeger is not None else NO_BACKEND
        self.known: set[str] | None = None  # the services Jaeger has spans of (asked once)
        self.silent: set[str] = set()  # services that sent it none

    def row(
        self,
        window: int,
        label: str,
        why: str,
        record: Record,
        offset: float,
        counts: tuple[int, int],
    ) -> TraceRow:
        entered = self._entered(record)
        silent = entered if entered in self.silent else ""
        trace, missing = (None, "—") if silent else self._fetch(record)
        if trace is None and missing == _NOT_FOUND and self._sends_no_spans(entered):
            silent, missing = entered, "—"
        no_backend = missing if missing in (NO_BACKEND, UNREACHABLE) else ""
        missing = "—" if no_backend else missing
        hop, text = (None, missing) if trace is None else _top(trace, record, self.topo)
        trace_id = record.trace_id or ""
        return TraceRow(
            window=window,
            window_label=label,
            why=why,
            trace_id=trace_id,
            route=record.route,
            at=record.scheduled + offset,
            latency_ms=round(record.latency * 1000, 1),
            status=str(record.status) if record.status else (record.error or "no response"),
            hop=text,
            hop_ms=None if hop is None else round(hop.self_ms, 1),
            hop_where=None if hop is None else (hop.peer or hop.instance or hop.service),
            window_requests=counts[0],
            window_failed=counts[1],
            failed_calls=", ".join(failed_calls(trace, self.topo)) if trace else "",
            trace_url=self.jaeger.ui_url(trace_id) if self.jaeger and trace_id else "",
            no_spans=silent,
            no_backend=no_backend,
        )

    def _entered(self, record: Record) -> str:
        """The service whose edge the request went through ("" when not known)."""
        if self.topo is None:
            return ""
        edges = [lk.target for lk in self.topo.links if lk.kind == "edge"]
        replica = record.target or (edges[0] if edges else "")
        if replica not in {r.name for r in self.topo.replicas}:
            return ""
        return self.topo.replica_named(replica).service

    def _sends_no_spans(self, service: str) -> bool:
        """The service has sent Jaeger no span at all (Jaeger is asked once)."""
        if not service or self.jaeger is None:
            return False
        if self.known is None:
            try:
                self.known = set(self.jaeger.services())
            except JaegerError:
                self.known = {service}  # not known to be silent: say nothing of it
        if service in self.known:
            return False
        self.silent.add(service)
        return True

    def _fetch(self, record: Record) -> tuple[Trace | None, str]:
        """The request's trace, or None and why there is none."""
        if self.down is not None or self.jaeger is None:
            return None, self.down or NO_BACKEND
        if not record.trace_id:
            return None, "no trace id"
        try:
            return self.jaeger.trace(record.trace_id), ""
        except TraceNotFound:
            return None, _NOT_FOUND
        except JaegerError as exc:
            if exc.status is not None:
                return None, f"Jaeger answered {exc.status}"
            self.down = UNREACHABLE
            return None, self.down


def _top(trace: Trace, record: Record, topo: Topology | None) -> tuple[Hop | None, str]:
    """The top hop of the critical path, or the time before the trace began when that
    is larger (the edge proxy, or the client itself, held the request)."""
    hop = top_hop(critical_path(trace, topo))
    root = root_span(trace)
    if hop is None or root is None:
        return None, "empty trace"
    outside = _outside(record, root.duration / 1000, root.instance, topo)
    if outside is not None and outside.self_ms > hop.self_ms:
        hop = outside
    return hop, hop.describe()


def _outside(
    record: Record, root_ms: float, instance: str | None, topo: Topology | None
) -> Hop | None:
    """The time the client saw that the trace does not cover, as a hop at the edge."""
    gap = record.latency * 1000 - root_ms
    if gap <= 0:
        return None
    edge = None
    if topo is not None and instance is not None:
        edge = next(
            (lk.name for lk in topo.links if lk.kind == "edge" and lk.target == instance), None
        )
    return Hop(
        span_id="",
        service="client",
        instance=None,
        operation="before the trace",
        kind="edge",
        self_ms=gap,
        duration_ms=gap,
        peer=edge,
        peer_target=instance,
    )
