"""A service that sends the trace backend no spans is named once, not "not in Jaeger"
on every row of the trace table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.clients.jaeger import JaegerClient
from harness.load.generator import Record
from harness.specs.topology import load_topology
from harness.traces import trace_table
from tests.unit.test_jaeger_client import recorded

ROOT = Path(__file__).resolve().parents[2]
TOPO = load_topology(ROOT / "examples" / "httpbin" / "stack.yaml")


@dataclass
class _Window:
    start: float
    end: float | None
    type: str = "latency"
    targets: tuple[str, ...] = ("client_httpbin-1",)


def _jaeger(services: list[str], asked: list[str]) -> JaegerClient:
    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path == "/api/services":
            return httpx.Response(200, json={"data": services, "total": len(services)})
        return httpx.Response(404, json=recorded("not-found.json"))

    return JaegerClient("http://127.0.0.1:1", transport=httpx.MockTransport(answer))


def _records(target: str = "") -> list[Record]:
    return [
        Record("GET /get", 1.0 + i, 0.01 * (i + 1), 200, trace_id=f"{i + 1:032x}", target=target)
        for i in range(4)
    ]


def test_a_service_jaeger_never_heard_of_is_named_once_and_asked_about_once():
    asked: list[str] = []
    rows = trace_table(_records(), [_Window(0.0, 10.0)], _jaeger(["jaeger"], asked), topo=TOPO)
    assert len(rows) == 4
    assert {r.no_spans for r in rows} == {"httpbin"}
    assert {r.hop for r in rows} == {"—"}
    assert asked.count("/api/services") == 1
    assert sum(p.startswith("/api/traces/") for p in asked) == 1  # the rest are not looked up


def test_the_replica_a_request_went_through_names_its_service():
    asked: list[str] = []
    rows = trace_table(
        _records("legacy-1"), [_Window(0.0, 10.0)], _jaeger(["httpbin"], asked), topo=TOPO
    )
    assert {r.no_spans for r in rows} == {"legacy"}


def test_a_service_jaeger_knows_keeps_not_in_jaeger_per_request():
    asked: list[str] = []
    rows = trace_table(_records(), [_Window(0.0, 10.0)], _jaeger(["httpbin"], asked), topo=TOPO)
    assert {r.hop for r in rows} == {"not in Jaeger"} and {r.no_spans for r in rows} == {""}
    assert asked.count("/api/services") == 1


def test_when_jaeger_cannot_list_its_services_nothing_is_claimed():
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/services":
            return httpx.Response(500, json={"errors": [{"msg": "boom"}]})
        return httpx.Response(404, json=recorded("not-found.json"))

    jaeger = JaegerClient("http://127.0.0.1:1", transport=httpx.MockTransport(answer))
    rows = trace_table(_records(), [_Window(0.0, 10.0)], jaeger, topo=TOPO)
    assert {r.hop for r in rows} == {"not in Jaeger"} and {r.no_spans for r in rows} == {""}
