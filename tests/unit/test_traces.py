"""Critical paths and the trace table, on traces recorded from a real stack.

tests/data/jaeger/ holds `/api/traces/{id}` answers of Jaeger v2 from the shop's stack
shifted by +3000 (tests/integration/stackfixture.py): gateway_orders-2 listens on 21352.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from harness.clients.jaeger import JaegerClient, Span, Trace, parse_trace
from harness.clients.prometheus import PrometheusClient
from harness.load.generator import Record
from harness.outcome import Outcome, PhaseSpan
from harness.report.html import write_html
from harness.specs.experiment import load_experiment
from harness.specs.topology import Topology, load_topology
from harness.traces import critical_path, report_rows, root_span, top_hop, trace_table
from harness.traces.critical import failed_calls
from harness.traces.table import NO_BACKEND, UNREACHABLE
from tests.integration.stackfixture import shifted_stack
from tests.unit.test_jaeger_client import LATENCY_TRACE, jaeger_serving, recorded

ROOT = Path(__file__).resolve().parents[2]
REFUSED_TRACE = "48f387b7f10128aebf0ee21ced268619"
OK_TRACE = "1d2801de625f36b02a0f3a5d26bf8900"
FILES = {
    LATENCY_TRACE: "latency-300ms-gateway_orders-2.json",
    REFUSED_TRACE: "orders-refused-503.json",
    OK_TRACE: "post-orders-ok.json",
}


@pytest.fixture(scope="module")
def topo(tmp_path_factory) -> Topology:
    """The topology the traces were recorded on."""
    return load_topology(shifted_stack(tmp_path_factory.mktemp("t") / "stack.yaml", 3000))


def trace_of(name: str) -> Trace:
    return parse_trace(recorded(name))


def test_300ms_on_one_orders_link_reads_as_300ms_in_that_link(topo):
    hops = critical_path(trace_of(FILES[LATENCY_TRACE]), topo)
    top = top_hop(hops)
    assert top is not None
    assert (top.peer, top.peer_target, top.kind) == ("gateway_orders-2", "orders-2", "client")
    assert 300 <= top.self_ms < 310
    assert top.describe() == "+302 ms in gateway_orders-2 (orders-2)"


def test_the_shares_of_the_critical_path_add_up_to_the_request(topo):
    trace = trace_of(FILES[LATENCY_TRACE])
    hops = critical_path(trace, topo)
    root = root_span(trace)
    assert root is not None and root.instance == "gateway-1"
    assert sum(h.self_ms for h in hops) == pytest.approx(root.duration / 1000)
    # the order the path reaches them: the gateway, catalog, the gateway, orders-2's link ...
    assert [h.peer or h.instance for h in hops][:3] == [
        "gateway-1",
        "gateway_catalog-1",
        "catalog-1",
    ]
    server = next(h for h in hops if h.instance == "orders-2")
    assert server.describe().startswith("+5 ms in orders-2 (POST /orders)")


def test_without_a_topology_the_peer_is_the_address_called():
    top = top_hop(critical_path(trace_of(FILES[LATENCY_TRACE])))
    assert top is not None and top.peer == "127.0.0.1:21352"


def test_failed_calls_name_each_link_and_why(topo):
    calls = failed_calls(trace_of(FILES[REFUSED_TRACE]), topo)
    assert calls == [f"gateway_orders-{i} (ConnectError)" for i in (1, 2, 3)]
    # between the refused attempts the gateway waits (retry backoff): its own time
    top = top_hop(critical_path(trace_of(FILES[REFUSED_TRACE]), topo))
    assert top is not None and (top.instance, top.peer) == ("gateway-1", None)


def _span(sid: str, parent: str | None, start: int, end: int, kind: str = "internal") -> Span:
    return Span(sid, parent, sid, "svc", None, start, end - start, kind, {}, False)


def test_concurrent_children_count_only_where_they_hold_the_path():
    # A [0,100] calls B [10,50] and C [20,90] at once: the path is A, C, A
    spans = (
        _span("A", "client", 0, 100),
        _span("B", "A", 10, 50),
        _span("C", "A", 20, 90),
        _span("D", "C", 30, 200),  # runs past its parent: clipped to it
    )
    hops = {h.span_id: h.self_ms * 1000 for h in critical_path(Trace("t", spans))}
    assert hops == {"A": 30, "C": 10, "D": 60}


def test_a_trace_without_spans_has_no_path():
    assert critical_path(Trace("t", ())) == []
    assert top_hop([]) is None


@dataclass
class _Window:
    start: float
    end: float | None
    type: str = "latency"
    targets: tuple[str, ...] = ("gateway_orders-2",)


def _record(trace_id: str | None, latency: float, status: int = 201, at: float = 10.0) -> Record:
    error = None if status else "ReadTimeout"
    return Record("POST /orders", at, latency, status, error, trace_id=trace_id)


def test_the_table_has_the_slowest_and_the_failed_requests_of_each_window(topo):
    records = [_record(f"{i:032x}", 0.01 * i, at=10.0 + i / 10) for i in range(1, 30)]
    records += [
        _record(LATENCY_TRACE, 0.320, at=11.0),
        _record(REFUSED_TRACE, 0.074, status=503, at=11.5),
        _record(None, 5.0, status=0, at=12.0),
        _record(LATENCY_TRACE, 9.0, at=50.0),  # due outside every window
    ]
    offset = 1000.0  # wall = monotonic + offset
    with jaeger_serving(FILES) as jaeger:
        rows = trace_table(records, [_Window(1010.0, 1013.0)], jaeger, offset=offset, topo=topo)
    assert [(r.why, r.latency_ms) for r in rows] == [
        ("slowest, failed", 5000.0),
        ("slowest", 320.0),
        ("slowest", 290.0),
        ("slowest", 280.0),
        ("slowest", 270.0),
        ("failed", 74.0),
    ]
    timeout, slow, *_, refused = rows
    assert (timeout.status, timeout.trace_id, timeout.hop) == ("ReadTimeout", "", "no trace id")
    assert slow.hop == "+302 ms in gateway_orders-2 (orders-2)"
    assert (slow.hop_ms, slow.hop_where, slow.at) == (302.5, "gateway_orders-2", 1011.0)
    assert slow.trace_url == f"http://127.0.0.1:1/trace/{LATENCY_TRACE}"
    assert slow.window_label == "latency on gateway_orders-2" and slow.window == 1
    assert (slow.window_requests, slow.window_failed) == (32, 2)
    assert rows[2].hop == "not in Jaeger"
    assert refused.status == "503"
    assert refused.failed_calls == ", ".join(
        f"gateway_orders-{i} (ConnectError)" for i in (1, 2, 3)
    )


def test_time_the_trace_does_not_cover_is_put_on_the_edge(topo):
    # the client saw 900 ms, the gateway's span lasted 30 ms: the edge proxy held it
    rows = _table([_record(OK_TRACE, 0.900)], topo)
    assert rows[0].hop.startswith("+870 ms in client_gateway-1 (gateway-1)")


def test_without_an_edge_proxy_the_time_outside_the_trace_says_so():
    rows = _table([_record(OK_TRACE, 0.900)], None)
    assert rows[0].hop == "+870 ms outside the trace (before gateway-1)"
    assert rows[0].hop_where == "client"  # the client side of the first span


def test_an_open_window_reaches_to_the_end_of_the_load(topo):
    rows = _table([_record(OK_TRACE, 0.036, at=99.0)], topo, _Window(5.0, None))
    assert len(rows) == 1 and rows[0].hop == "+15 ms in orders-1 (POST /orders)"


def test_jaeger_down_is_asked_once_and_said_once_for_the_table(topo):
    calls: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused", request=request)

    jaeger = JaegerClient("http://127.0.0.1:1", transport=httpx.MockTransport(refuse))
    records = [_record(LATENCY_TRACE, 0.3), _record(OK_TRACE, 0.2)]
    rows = trace_table(records, [_Window(0.0, 100.0)], jaeger, topo=topo)
    assert [(r.hop, r.no_backend) for r in rows] == [("—", UNREACHABLE), ("—", UNREACHABLE)]
    assert len(calls) == 1


def test_report_rows_without_a_trace_backend_still_lists_the_requests(topo):
    off = topo.model_copy(update={"jaeger": topo.jaeger.model_copy(update={"enabled": False})})
    window = _Window(time.time() - 1, time.time())  # just ended: no Jaeger, so no wait
    started = time.monotonic()
    rows = report_rows(
        [_record(LATENCY_TRACE, 0.3, at=window.start + 0.5)], [window], off, offset=0.0
    )
    assert time.monotonic() - started < 1
    assert [(r.trace_id, r.hop, r.trace_url, r.no_backend) for r in rows] == [
        (LATENCY_TRACE, "—", "", NO_BACKEND)
    ]


def test_the_report_says_once_above_the_table_that_there_is_no_trace_backend(topo, tmp_path):
    off = topo.model_copy(update={"jaeger": topo.jaeger.model_copy(update={"enabled": False})})
    now = time.time()
    window = _Window(now - 10, now)
    records = [_record(OK_TRACE, 0.1 * i, at=window.start + i) for i in range(1, 6)]
    rows = report_rows(records, [window], off, offset=0.0)
    exp = load_experiment(ROOT / "experiments" / "orders-latency-one-replica.yaml")
    outcome = Outcome(verdict="held", phases=[PhaseSpan("load", now - 20, now)])
    page = tmp_path / "report.html"
    asks = httpx.Client(transport=httpx.MockTransport(_no_answer))
    prom = PrometheusClient("http://127.0.0.1:1", client=asks)
    write_html(page, exp, outcome, [], prom, "r", now - 20, [], end=now, traces=rows)
    html = page.read_text()
    assert len(rows) == 5
    assert html.count(NO_BACKEND) == 1
    assert html.index(NO_BACKEND) < html.index("<th>where the time went</th>")
    assert html.count("no trace backend") == 1  # not once more on every row


def _no_answer(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"the report asked Prometheus {request.url}")


def _table(records: list[Record], topo: Topology | None, window: _Window | None = None) -> list:
    with jaeger_serving(FILES) as jaeger:
        return trace_table(records, [window or _Window(0.0, 20.0)], jaeger, topo=topo)


def test_report_rows_waits_for_the_last_spans_of_a_window_that_just_ended(topo, monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    now = time.time()
    report_rows([], [_Window(now - 5, now - 1), _Window(now - 3, None)], topo, offset=0.0)
    assert len(slept) == 1 and 1.0 < slept[0] <= 1.5  # settle 2.5 s after the last end
    report_rows([], [_Window(now - 9, now - 5)], topo, offset=0.0)
    assert slept[-1] == 0.0


def test_recorded_files_are_the_answers_of_the_stack_at_offset_3000(topo):
    assert topo.links[0].name == "client_gateway-1"
    assert {lk.name: lk.listen_port for lk in topo.links}["gateway_orders-2"] == 21352
    assert Path(__file__).parents[1].joinpath("data", "jaeger", "README.md").is_file()
