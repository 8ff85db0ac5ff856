"""One real stack for the integration tests that only need it running."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness.clients.toxiproxy import ToxiproxyClient
from tests.integration.stackfixture import Stack, start_stack, stop_stack
from tests.waiting import wait_for


def pytest_collection_modifyitems(items):
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Stack:
    running = start_stack(tmp_path_factory.mktemp("stack"), offset=-5000)
    yield running
    stop_stack(running)


@pytest.fixture
def toxiproxy(stack: Stack):
    """A Toxiproxy client; after the test every proxy is reset and the shop healed."""
    client = ToxiproxyClient(stack.toxiproxy)
    yield client
    client.reset()
    client.close()
    await_healthy(stack)


def await_healthy(stack: Stack, timeout: float = 30) -> None:
    """Every replica ready, and the gateway routing to every upstream again."""
    for replica in stack.topo.replicas:
        wait_for(lambda r=replica: _ready(stack, r.name), timeout, f"{replica.name} ready")
    wait_for(lambda: _gateway_sees_all(stack), timeout, "the gateway to use every upstream")


def _ready(stack: Stack, name: str) -> bool:
    try:
        return httpx.get(f"{stack.replica_url(name)}/health/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _gateway_sees_all(stack: Stack) -> bool:
    text = httpx.get(f"{stack.replica_url('gateway-1')}/metrics", timeout=2).text
    health = [
        s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name == "upstream_healthy"
    ]
    return bool(health) and all(v == 1 for v in health)
