"""A load spread over several targets: request i goes to target i mod N, each record names
its target, and the summary, the journal, the dry run and the report count per target."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from harness.experiment.loadtarget import LoadPlan
from harness.experiment.phases import describe_plan, start_load, stop_load
from harness.experiment.plan import Plan
from harness.load.generator import LoadResult, Record, Route, Target, run_load
from harness.outcome import LoadSummary, TargetLoad, verdict_fields
from harness.report.html import write_html
from harness.report.rebuild import outcome_from_events
from harness.safety.events import parse_events
from tests.unit.engineworld import events
from tests.waiting import wait_for

THREE = [Target(f"http://127.0.0.{i}:8000", f"web-{i}") for i in (1, 2, 3)]


def _spread(targets, answer, rate: float = 300, seconds: float = 0.1, **kw) -> tuple:
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return await answer(request)

    transport = httpx.MockTransport(handler)
    result = asyncio.run(
        run_load(targets, rate, seconds, [Route("GET", "/p")], **kw, transport=transport)
    )
    return seen, result


async def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200)


def test_requests_go_round_the_targets_in_order_and_each_record_names_its_target():
    seen, result = _spread(THREE, _ok)
    assert len(seen) == len(result.records) == 30  # the rate is shared, not multiplied
    hosts = [r.url.host for r in seen]
    assert hosts == ["127.0.0.1", "127.0.0.2", "127.0.0.3"] * 10
    by_schedule = sorted(result.records, key=lambda r: r.scheduled)
    assert [r.target for r in by_schedule] == ["web-1", "web-2", "web-3"] * 10
    assert result.targets == ("web-1", "web-2", "web-3")


def test_a_plain_url_load_names_no_target():
    async def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    for answer in (_ok, refused):
        _, result = _spread("http://127.0.0.1:1", answer, rate=100)
        assert len(result.records) == 10
        assert {r.target for r in result.records} == {""}
        assert result.targets == ("",)
    assert Record("GET /", 0.0, 0.1, 200).target == ""  # the last field, defaulted


def test_the_summary_counts_requests_errors_and_p99_per_target():
    async def second_fails(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503 if request.url.host == "127.0.0.2" else 200)

    _, result = _spread(THREE[:2], second_fails, rate=200)
    summary = LoadSummary.of(result)
    assert (summary.requests, summary.errors) == (20, 10)
    assert [(t.target, t.requests, t.errors, t.error_ratio) for t in summary.targets] == [
        ("web-1", 10, 0, 0.0),
        ("web-2", 10, 10, 1.0),
    ]
    assert all(t.p99_ms is not None and t.p99_ms >= 0 for t in summary.targets)


def test_a_target_that_got_no_answer_is_listed_with_zeros_and_drops_count_where_due():
    result = LoadResult(
        [Record("GET /", 0.0, 0.2, 200, target="a")], 0.0, 1.0, 3, 0.0, ("a", "b"), (1, 2)
    )
    assert result.by_target() == [
        {"target": "a", "requests": 2, "errors": 1, "error_ratio": 0.5, "p99_ms": 200.0},
        {"target": "b", "requests": 2, "errors": 2, "error_ratio": 1.0, "p99_ms": None},
    ]


def test_a_request_due_while_max_in_flight_are_outstanding_is_dropped_at_its_target():
    release = asyncio.Event()

    async def hold(request: httpx.Request) -> httpx.Response:
        if request.url.host == "127.0.0.1":
            await release.wait()
        return httpx.Response(200)

    async def run() -> LoadResult:
        async def let_go() -> None:  # long after the 0.1 s of schedule, even on a busy box
            await asyncio.sleep(1.0)
            release.set()

        waiter = asyncio.create_task(let_go())
        transport = httpx.MockTransport(hold)
        result = await run_load(
            THREE[:2], 100, 0.1, [Route("GET", "/")], max_in_flight=1, transport=transport
        )
        await waiter
        return result

    result = asyncio.run(run())
    # the first request (web-1) is held: all 9 after it find one in flight and are dropped
    assert (result.dropped, result.dropped_at) == (9, (4, 5))
    assert [(t["target"], t["requests"], t["errors"]) for t in result.by_target()] == [
        ("web-1", 5, 4),
        ("web-2", 5, 5),
    ]


def test_the_per_target_summary_survives_the_journal():
    summary = LoadSummary(10, 1, 0.1, 1.0, 2.0, 1.5, 10.0, (TargetLoad("web-1", 10, 1, 0.1, 2.0),))
    assert LoadSummary.from_json(asdict(summary)) == summary
    old = {k: v for k, v in asdict(summary).items() if k != "targets"}
    assert LoadSummary.from_json(old).targets == ()


# -- the run: journal, dry run, outcome, report --------------------------------------------


class _Answer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def two_edges() -> Iterator[tuple[Target, Target]]:
    """Two loopback servers standing in for two replicas' edge proxies: web-2's fails."""
    servers = []
    for status in (200, 500):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
        server.status = status  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield tuple(
        Target(f"http://127.0.0.1:{s.server_address[1]}", f"web-{i}")
        for i, s in enumerate(servers, 1)
    )
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_spread_load_is_journalled_summarised_and_reported_per_target(world, two_edges, tmp_path):
    load = {"rate": 40, "routes": [{"path": "/"}], "target": {"url": two_edges[0].url}}
    ctx = world.ctx(load=load)
    ctx.plan = Plan((), 1, LoadPlan(two_edges, two_edges[0].url))
    assert describe_plan(ctx)[-1] == (
        f"load: 40 req/s spread over 2 edge proxies (20 req/s each, in turn): "
        f"web-1 {two_edges[0].url}, web-2 {two_edges[1].url}"
    )
    start_load(ctx)
    assert ctx.load is not None
    wait_for(lambda: len(ctx.load.records) >= 10, 10, "ten answers")  # type: ignore[union-attr]
    stop_load(ctx)
    journal = events(ctx)
    (started,) = [e for e in journal if e["event"] == "load.started"]
    assert started["rate"] == 40
    assert started["targets"] == [
        {"target": "web-1", "url": two_edges[0].url},
        {"target": "web-2", "url": two_edges[1].url},
    ]
    (stopped,) = [e for e in journal if e["event"] == "load.stopped"]
    load_seen = ctx.outcome.load
    assert load_seen is not None
    per = {t.target: t for t in load_seen.targets}
    assert per["web-1"].errors == 0 and per["web-2"].errors == per["web-2"].requests > 0
    assert abs(per["web-1"].requests - per["web-2"].requests) <= 1
    assert stopped["targets"] == [
        {"target": t.target, "requests": t.requests, "errors": t.errors} for t in load_seen.targets
    ]
    ctx.outcome.reach("held")
    verdict = ctx.journal.record("verdict", **verdict_fields(ctx.outcome))
    assert outcome_from_events(parse_events([*journal, verdict])).load == load_seen
    page = tmp_path / "report.html"
    records = parse_events(journal)
    write_html(page, ctx.exp, ctx.outcome, records, ctx.prom, ctx.run_id, ctx.started, [])
    html = page.read_text()
    assert "through web-1's edge proxy: 0 errors" in html
    assert f"through web-2's edge proxy: {per['web-2'].errors} errors" in html


def test_a_load_through_one_target_adds_no_per_target_rows(world, two_edges, tmp_path):
    ctx = world.ctx(
        load={"rate": 40, "routes": [{"path": "/"}], "target": {"url": two_edges[0].url}}
    )
    ctx.plan = Plan((), 1, LoadPlan((Target(two_edges[0].url),), two_edges[0].url))
    start_load(ctx)
    wait_for(lambda: len(ctx.load.records) >= 4, 10, "four answers")  # type: ignore[union-attr]
    stop_load(ctx)
    assert ctx.outcome.load is not None
    assert [t.target for t in ctx.outcome.load.targets] == [""]
    page = tmp_path / "report.html"
    records = parse_events(events(ctx))
    write_html(page, ctx.exp, ctx.outcome, records, ctx.prom, ctx.run_id, ctx.started, [])
    assert "edge proxy:" not in page.read_text()


def test_recent_returns_exactly_the_records_completed_within_the_window(tmp_path, monkeypatch):
    """`recent` scans back from the newest record and stops at the window's start: it must
    give the same records as filtering the whole list, newest included, oldest excluded."""
    from harness.load import background
    from harness.load.background import BackgroundLoad
    from harness.specs.load import LoadSpec

    spec = LoadSpec.model_validate({"rate": 10, "routes": [{"path": "/"}]})
    load = BackgroundLoad([Target("http://127.0.0.1:9")], spec, 1.0, 0, secrets_dir=tmp_path)
    # completions at 1, 2, ..., 100 s, appended in that order (as the load thread does)
    load.records.extend(Record("GET /", t - 0.5, 0.5, 200) for t in range(1, 101))
    monkeypatch.setattr(background.time, "monotonic", lambda: 100.0)
    for window in (0.5, 1.0, 10.0, 99.0, 1000.0):
        expected = [r for r in load.records if r.scheduled + r.latency >= 100.0 - window]
        assert load.recent(window) == expected
    assert [r.scheduled + r.latency for r in load.recent(3.0)] == [97.0, 98.0, 99.0, 100.0]
