"""The catalog's cache on a real stack (offset 7000): the shipped catalog-cache-fails
experiment ends as designed, the hit ratio is high before the faults and falls to about
zero during each of them, and the cache's failure never reaches a caller as a 5xx."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.integration.runs import assert_clean, events, run
from tests.integration.stackfixture import ROOT, Stack, start_stack, stop_stack

EXPERIMENT = ROOT / "experiments" / "catalog-cache-fails.yaml"
HIT_RATIO = """
  sum(rate(cache_requests_total{service="catalog",result="hit"}[10s]))
    / sum(rate(cache_requests_total{service="catalog"}[10s]))
"""


@pytest.fixture(scope="module")
def cache_stack(tmp_path_factory) -> Stack:
    running = start_stack(tmp_path_factory.mktemp("cache-stack"), offset=7000)
    yield running
    stop_stack(running)


def _at(stack: Stack, query: str, t: float) -> float:
    resp = httpx.get(
        f"{stack.prometheus}/api/v1/query", params={"query": query, "time": t}, timeout=5
    )
    resp.raise_for_status()
    result = resp.json()["data"]["result"]
    assert result, f"no data for {query} at {t}; {_scrapes(stack, t)}"
    return float(result[0]["value"][1])


def _scrapes(stack: Stack, t: float) -> str:
    """What Prometheus saw of the catalog around `t`: for a "no data" message."""
    query = 'up{service="catalog"}[15s]'
    resp = httpx.get(f"{stack.prometheus}/api/v1/query", params={"query": query, "time": t})
    series = resp.json()["data"]["result"]
    return "catalog scrapes in the 15 s before: " + "; ".join(
        f"{s['metric'].get('instance')}: {[v for _, v in s['values']]}" for s in series
    )


def _worst_in_last(stack: Stack, seconds: int, t: float) -> float:
    """The highest hit ratio over the last `seconds` before `t` (a subquery at 1 s steps),
    so one missed scrape cannot make the window "no data"."""
    return _at(stack, f"max_over_time(({HIT_RATIO})[{seconds}s:1s])", t)


def test_redis_runs_behind_a_proxy_per_catalog_replica(cache_stack: Stack):
    names = {c.name: c for c in cache_stack.state.components}
    assert names["redis"].kind == "redis" and names["redis"].port == 23379
    links = {lk.name: lk.listen_port for lk in cache_stack.topo.links if lk.target == "redis"}
    assert links == {"catalog-1_redis": 23381, "catalog-2_redis": 23382}


def test_the_cache_fails_and_the_shop_does_not_notice(cache_stack: Stack, tmp_path: Path):
    result, journal = run(cache_stack, EXPERIMENT, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert journal["verdict"] == "held", journal["reasons"]
    applied = [e["time"] for e in events(journal, "fault.applied")]
    removed = [e["time"] for e in events(journal, "fault.removed")]
    assert len(applied) == 4 and len(removed) == 4  # two faults on two links each
    start, middle, end = min(applied), sorted(removed)[1], max(removed)
    # before: the harness's own steady-state evidence, the last evaluation before the faults
    before = [
        e for e in events(journal, "probe") if e["name"] == "cache-hit-ratio" and e["time"] < start
    ][-1]
    assert before["status"] == "pass" and before["value"] > 0.5, before
    # the 10 s rate window is wholly inside each 20 s fault for its last 5 s
    blackholed = _worst_in_last(cache_stack, 5, middle - 1)
    slow = _worst_in_last(cache_stack, 5, end - 1)
    assert blackholed < 0.1 and slow < 0.1, (blackholed, slow)
    five_xx = 'sum(increase(http_server_requests_total{code=~"5.."}[%ds])) or vector(0)'
    window = int(end - start) + 5
    assert _at(cache_stack, five_xx % window, end + 2) == 0
    assert_clean(cache_stack)
