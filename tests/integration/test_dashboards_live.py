"""`harness dashboards lint` against a real stack's Prometheus, after load.

Every panel of the committed dashboards must show data on a stack that serves traffic;
a panel whose query returns nothing is reported by file and title. The stack is the
session's (tests/integration/conftest.py).
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.integration.stackfixture import ROOT, Stack, harness
from tests.waiting import wait_for

LOAD_SECONDS = 20.0


@pytest.fixture(scope="module")
def live_stack(stack: Stack) -> Stack:
    return stack


def _drive_load(stack: Stack, seconds: float) -> int:
    """Reads and writes through the edge proxy, about 10 a second; how many got a 2xx."""
    ok = 0
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=stack.edge, timeout=5) as client:
        while time.monotonic() < deadline:
            for request in (
                client.build_request("GET", "/products"),
                client.build_request("GET", "/products/3"),
                client.build_request(
                    "POST",
                    "/orders",
                    json={"product_id": 2, "quantity": 1},
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                ),
            ):
                ok += client.send(request).is_success
            time.sleep(0.3)
    return ok


def _scraped(stack: Stack) -> bool:
    """Prometheus has seen the load: at the gateway, through the edge proxy (Toxiproxy
    counts a connection's bytes when it closes: the load's client closed its own), and in
    the SLO rules."""
    return bool(
        stack.promql('sum(rate(http_server_requests_total{service="gateway"}[16s])) > 0')
        and stack.promql("toxiproxy_proxy_sent_bytes_total")
        and stack.promql("slo:sli_error:ratio_rate5m")
    )


@pytest.fixture(scope="module")
def loaded(live_stack: Stack) -> Stack:
    assert _drive_load(live_stack, LOAD_SECONDS) > 50
    wait_for(lambda: _scraped(live_stack), 30, "the load in Prometheus")
    return live_stack


def test_every_panel_of_the_committed_dashboards_has_data(loaded: Stack):
    result = harness("dashboards", "lint", "dashboards", "--stack", str(loaded.stack_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 dashboards, 0 findings" in result.stdout
    assert "live checks skipped" not in result.stderr


def test_an_empty_panel_is_reported_by_file_and_title(loaded: Stack, tmp_path: Path):
    board = json.loads((ROOT / "dashboards" / "chaos.json").read_text())
    ghost = copy.deepcopy(next(p for p in board["panels"] if p["type"] == "timeseries"))
    ghost["title"] = "Ghost requests"
    ghost["targets"] = [
        {**ghost["targets"][0], "expr": "sum(rate(ghost_requests_total[$__rate_interval]))"}
    ]
    board["panels"].append(ghost)
    path = tmp_path / "ghost.json"
    path.write_text(json.dumps(board))
    result = harness("dashboards", "lint", str(path), "--stack", str(loaded.stack_file))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines()[:-1] == [
        f'{path}: panel "Ghost requests": query returns no series'
    ]


def test_a_prometheus_given_explicitly_is_used(loaded: Stack):
    url = f"http://{loaded.topo.host}:{loaded.topo.prometheus.port}"
    result = harness(
        "dashboards", "lint", "dashboards", "--prometheus", url, "--scrape-interval", "1s"
    )
    assert result.returncode == 0, result.stdout + result.stderr
