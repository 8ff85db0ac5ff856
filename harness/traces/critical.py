"""Where the time of one request went: the critical path of its trace.

Walking back from the end of the root span, the path goes into the child that finished
last, then, from that child's start, into the child that finished last before it, and
so on; what no child covers is the span's own time (as Jaeger's UI computes its
critical path). Each span on the path gets its share, and the shares add up to the
root's duration. In a trace without concurrent children a span's share is its self
time: its duration minus the time its children cover.

A client span's peer is the Toxiproxy link it went through: the apps call every
dependency through its proxy, so the port of the URL they called names the link (with
a topology) — a fault that slowed one replica's link reads "+300 ms in
gateway_orders-2 (orders-2)".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlsplit

from harness.clients.jaeger import Span, Trace
from harness.specs.topology import Topology

__all__ = ["Hop", "critical_path", "failed_calls", "peer_port", "root_span", "top_hop"]

_URL_TAGS = ("url.full", "http.url")
_PORT_TAGS = ("server.port", "net.peer.port")


@dataclass(frozen=True)
class Hop:
    """One span's share of the critical path (times in milliseconds)."""

    span_id: str
    service: str
    instance: str | None  # the replica (service.instance.id), e.g. gateway-1
    operation: str
    kind: str  # the span kind (server, client, internal), or "edge": time outside the trace
    self_ms: float  # its time on the critical path
    duration_ms: float
    peer: str | None = None  # client spans: the link (gateway_orders-2), else host:port
    peer_target: str | None = None  # what the link leads to (orders-2)
    error: bool = False

    def describe(self) -> str:
        """`+300 ms in gateway_orders-2 (orders-2)`, or `+12 ms in gateway-1 (GET /x)`."""
        if self.kind == "edge" and self.peer is None:  # no edge proxy known in front
            return f"+{self.self_ms:.0f} ms outside the trace (before {self.peer_target or '?'})"
        if self.peer is not None:
            where, what = self.peer, self.peer_target or self.operation
        else:
            where, what = self.instance or self.service, self.operation
        return f"+{self.self_ms:.0f} ms in {where} ({what})"


def critical_path(trace: Trace, topo: Topology | None = None) -> list[Hop]:
    """The spans on the request's critical path, in the order the path reaches them,
    each with its share. `topo` names the links client spans went through."""
    root = root_span(trace)
    if root is None:
        return []
    children: dict[str, list[Span]] = defaultdict(list)
    for span in trace.spans:
        if span.parent_id is not None and span is not root:
            children[span.parent_id].append(span)
    sections: list[tuple[int, int, Span]] = []
    _walk(root, root.start, root.end, children, sections, set())
    shares: dict[str, int] = defaultdict(int)
    first: dict[str, tuple[int, Span]] = {}
    for start, end, span in sorted(sections, key=lambda s: s[0]):
        shares[span.span_id] += end - start
        first.setdefault(span.span_id, (start, span))
    ports = _link_ports(topo)
    return [
        _hop(span, shares[span.span_id], ports)
        for _, span in sorted(first.values(), key=lambda f: f[0])
        if shares[span.span_id] > 0
    ]


def top_hop(hops: list[Hop]) -> Hop | None:
    """The hop where most of the time went."""
    return max(hops, key=lambda h: h.self_ms, default=None)


def failed_calls(trace: Trace, topo: Topology | None = None) -> list[str]:
    """Each client call that failed, in time order: `gateway_orders-1 (ConnectError)`, or
    with its status code when a response came back (`gateway_orders-1 (503)`)."""
    ports = _link_ports(topo)
    out = []
    for span in sorted(trace.spans, key=lambda s: s.start):
        if span.kind == "client" and span.error:
            hop = _hop(span, span.duration, ports)
            out.append(f"{hop.peer or span.operation} ({_failure(span)})")
    return out


def _failure(span: Span) -> str:
    code = span.tags.get("http.status_code") or span.tags.get("http.response.status_code")
    if code:
        return str(code)
    described = str(span.tags.get("otel.status_description") or span.tags.get("error.type") or "")
    return described.split(":", 1)[0] or "error"


def root_span(trace: Trace) -> Span | None:
    """The earliest span whose parent is not in the trace (the load generator's own
    span, the parent of the gateway's, is never exported)."""
    ids = {s.span_id for s in trace.spans}
    roots = [s for s in trace.spans if s.parent_id is None or s.parent_id not in ids]
    return min(roots, key=lambda s: (s.start, -s.duration), default=None)


def _walk(
    span: Span,
    lo: int,
    hi: int,
    children: dict[str, list[Span]],
    out: list[tuple[int, int, Span]],
    seen: set[str],
) -> None:
    """Append the sections of [lo, hi] (the span clipped to its parent) on the path."""
    seen.add(span.span_id)
    kids = [
        (max(c.start, lo), min(c.end, hi), c)
        for c in children.get(span.span_id, ())
        if c.span_id not in seen and c.start < hi and c.end > lo
    ]
    cursor = hi
    for start, end, child in sorted(kids, key=lambda k: k[1], reverse=True):
        if end > cursor:  # overlaps the part of the path already taken
            continue
        out.append((end, cursor, span))
        _walk(child, start, end, children, out, seen)
        cursor = start
    out.append((lo, cursor, span))


def _hop(span: Span, share: int, ports: dict[int, tuple[str, str]]) -> Hop:
    peer = target = None
    if span.kind == "client":
        port = peer_port(span)
        peer, target = ports.get(port, (None, None)) if port is not None else (None, None)
        if peer is None and port is not None:
            peer = f"{_peer_host(span)}:{port}"
    return Hop(
        span_id=span.span_id,
        service=span.service,
        instance=span.instance,
        operation=span.operation,
        kind=span.kind,
        self_ms=share / 1000,
        duration_ms=span.duration / 1000,
        peer=peer,
        peer_target=target,
        error=span.error,
    )


def peer_port(span: Span) -> int | None:
    """The port a client span called (its URL, else the peer port tag)."""
    for key in _URL_TAGS:
        url = span.tags.get(key)
        if isinstance(url, str):
            try:
                port = urlsplit(url).port
            except ValueError:
                port = None
            if port is not None:
                return port
    for key in _PORT_TAGS:
        value = span.tags.get(key)
        if isinstance(value, int | str) and str(value).isdigit():
            return int(value)
    return None


def _peer_host(span: Span) -> str:
    for key in _URL_TAGS:
        url = span.tags.get(key)
        if isinstance(url, str) and urlsplit(url).hostname:
            return str(urlsplit(url).hostname)
    host = span.tags.get("server.address") or span.tags.get("net.peer.name")
    return str(host) if host else "?"


def _link_ports(topo: Topology | None) -> dict[int, tuple[str, str]]:
    """listen port → (link name, what it leads to)."""
    if topo is None:
        return {}
    return {link.listen_port: (link.name, link.target) for link in topo.links}
