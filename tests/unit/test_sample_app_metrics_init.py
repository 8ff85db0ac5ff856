"""Error series exist from the start: an alert on a 5xx ratio then needs no extra scrape."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from sample_app.observability.metrics import ERROR_CODES, ServerMetrics


def test_declared_routes_have_zero_valued_5xx_series() -> None:
    registry = CollectorRegistry()
    metrics = ServerMetrics(registry, "gateway")
    metrics.declare_route("/orders", ["POST"])
    text = generate_latest(registry).decode()
    for code in ERROR_CODES:
        line = (
            f'http_server_requests_total{{code="{code}",method="POST",route="/orders",'
            f'service="gateway"}} 0.0'
        )
        assert line in text
    assert 'code="200"' not in text  # only error codes are declared up front
