"""Error budget burnt over a range, from the SLO's own queries (fake Prometheus)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from harness.clients.prometheus import PrometheusClient
from harness.slo import load_slo_file
from harness.slo.budget import budget_burnt, sli_queries

ROOT = Path(__file__).resolve().parents[2]
SHOP = load_slo_file(ROOT / "slo" / "shop.yaml")
DAY = 86400.0


def prometheus(answers: dict[str, float | None], status: int = 200) -> PrometheusClient:
    """Answers by substring of the query: the first key found in it wins."""
    asked: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        query = request.url.params["query"]
        asked.append(query)
        if status != 200:
            return httpx.Response(status, json={"status": "error", "error": "boom"})
        value = next((v for k, v in answers.items() if k in query), None)
        result = [] if value is None else [{"metric": {}, "value": [0, str(value)]}]
        data = {"resultType": "vector", "result": result}
        return httpx.Response(200, json={"status": "success", "data": data})

    http = httpx.Client(base_url="http://p.test", transport=httpx.MockTransport(handle))
    return PrometheusClient("http://p.test", client=http)


def test_queries_fill_the_window_in_whole_seconds() -> None:
    errors, total = sli_queries(SHOP.slos[0], 89.6)
    assert "[90s]" in errors and "[90s]" in total and "{{" not in errors + total


def test_burnt_share_is_burn_rate_times_range_over_period() -> None:
    # 2% errors against a 99.9% objective: burn rate 20; 120 s of a 30-day period
    prom = prometheus({'code=~"5.."': 0.4, "http_server_requests_total": 20.0})
    availability = budget_burnt(SHOP, prom, 1000.0, 1120.0, 30 * DAY)[0]
    assert availability.error_ratio == pytest.approx(0.02)
    assert availability.burn_rate == pytest.approx(20.0)
    assert availability.burnt == pytest.approx(20 * 120 / (30 * DAY))
    assert availability.requests == 2400
    assert "0.09% of the 30d budget burnt in 2m" in availability.summary()


def test_no_error_series_is_zero_errors_but_no_requests_is_no_data() -> None:
    answers = {'code=~"5.."': None, "http_server_requests_total": 5.0}
    quiet = budget_burnt(SHOP, prometheus(answers), 0, 60, DAY)
    assert quiet[0].burnt == 0.0
    empty = budget_burnt(SHOP, prometheus({}), 0, 60, DAY)
    assert empty[0].burnt is None and "no data" in empty[0].summary()


def test_prometheus_errors_are_named_not_zero() -> None:
    [first, _] = budget_burnt(SHOP, prometheus({}, status=400), 0, 60, DAY)
    assert first.burnt is None and first.problem.startswith("Prometheus error")
