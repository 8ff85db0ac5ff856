"""The backfill helper against real promtool and Prometheus: PromQL reads back what was written.

One Prometheus per test (each starts in well under a second); no stack needed.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from sample_app.observability.metrics import ServerMetrics
from tests.backfill import Traffic, backfilled_prometheus, openmetrics

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
TOTAL = 'sum(rate(http_server_requests_total{service="gateway"}[30m]))'
FAMILIES = {"http_server_requests", "http_server_request_duration_seconds"}
ERRORS = 'sum(rate(http_server_requests_total{service="gateway",code=~"5.."}[30m]))'


def query(url: str, expr: str, at: float) -> list[float]:
    """The values of an instant query's result (empty: no data)."""
    reply = httpx.get(f"{url}/api/v1/query", params={"query": expr, "time": at}, timeout=5)
    reply.raise_for_status()
    return [float(r["value"][1]) for r in reply.json()["data"]["result"]]


def test_error_ratio_and_rate_of_the_last_hour(tmp_path: Path):
    now = time.time()
    hour = Traffic(now - HOUR - 5 * MINUTE, now - 5 * MINUTE, rps=10, error_ratio=0.02)
    with backfilled_prometheus(tmp_path, [hour]) as url:
        at = now - 10 * MINUTE
        assert query(url, f"{ERRORS} / {TOTAL}", at) == [pytest.approx(0.02, abs=1e-3)]
        assert query(url, TOTAL, at) == [pytest.approx(10, abs=1e-3)]


def test_a_week_ago_and_now_are_both_queryable(tmp_path: Path):
    now = time.time()
    week_ago = Traffic(now - 8 * DAY, now - 7 * DAY, rps=4, error_ratio=0.05)
    recent = Traffic(now - HOUR, now - 5 * MINUTE, rps=10, error_ratio=0.01)
    with backfilled_prometheus(tmp_path, [week_ago, recent]) as url:
        then = now - 7 * DAY - 2 * HOUR
        assert query(url, TOTAL, then) == [pytest.approx(4, abs=1e-3)]
        assert query(url, f"{ERRORS} / {TOTAL}", then) == [pytest.approx(0.05, abs=1e-3)]
        assert query(url, TOTAL, now - 10 * MINUTE) == [pytest.approx(10, abs=1e-3)]
        assert query(url, f"{ERRORS} / {TOTAL}", now - 10 * MINUTE) == [
            pytest.approx(0.01, abs=1e-3)
        ]
        week_earlier = TOTAL.replace("[30m]", "[30m] offset 1w")  # the gate's comparison
        assert query(url, week_earlier, now - 10 * MINUTE) == [pytest.approx(4, abs=1e-3)]


def test_a_gap_has_no_data_and_counters_carry_on_after_it(tmp_path: Path):
    now = time.time()
    before = Traffic(now - 3 * HOUR, now - 2 * HOUR, rps=10)
    after = Traffic(now - HOUR, now - 5 * MINUTE, rps=10)
    with backfilled_prometheus(tmp_path, [before, after]) as url:
        assert query(url, TOTAL, now - 2 * HOUR - MINUTE) == [pytest.approx(10, abs=1e-3)]
        assert query(url, TOTAL, now - HOUR - 5 * MINUTE) == []  # [30m] inside the gap
        assert query(url, TOTAL, now - 10 * MINUTE) == [pytest.approx(10, abs=1e-3)]
        resets = 'sum(resets(http_server_requests_total{service="gateway"}[4h]))'
        assert query(url, resets, now - 10 * MINUTE) == [0]
        first_after = 'sum(http_server_requests_total{service="gateway"})'
        assert query(url, first_after, now - HOUR) == [pytest.approx(10 * HOUR)]


def test_slow_ratio_is_the_share_above_half_a_second(tmp_path: Path):
    now = time.time()
    hour = Traffic(now - HOUR, now - 5 * MINUTE, rps=20, error_ratio=0.1, slow_ratio=0.15)
    fast = 'sum(rate(http_server_request_duration_seconds_bucket{service="gateway",le="0.5"}[30m]))'
    count = 'sum(rate(http_server_request_duration_seconds_count{service="gateway"}[30m]))'
    with backfilled_prometheus(tmp_path, [hour]) as url:
        assert query(url, f"1 - {fast} / {count}", now - 10 * MINUTE) == [
            pytest.approx(0.15, abs=1e-3)
        ]


def test_series_are_the_ones_the_sample_app_exports():
    registry = CollectorRegistry()
    app = ServerMetrics(registry, "gateway")
    app.observe("/products", "GET", 200, 0.02)
    app.observe("/products", "GET", 500, 0.02)
    exported = _series(generate_openmetrics(registry).decode(), drop=set())
    # one sample per series: prometheus_client's strict parser rejects a histogram with several
    # timestamps (promtool takes them), but checks buckets, +Inf and _count of a single one
    now = time.time()
    ours = _series(openmetrics([Traffic(now, now, rps=1)]), drop={"job", "replica"})
    assert ours == exported


def _series(text: str, drop: set[str]) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    """(sample name, labels) of the request counter and duration histogram, without `_created`
    samples and the `drop` labels."""
    return {
        (s.name, frozenset((k, v) for k, v in s.labels.items() if k not in drop))
        for family in text_string_to_metric_families(text)
        if family.name in FAMILIES
        for s in family.samples
        if not s.name.endswith("_created")
    }
