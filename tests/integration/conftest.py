"""One real stack for the integration tests that only need it running."""

from __future__ import annotations

import pytest

from harness.toxiproxy import ToxiproxyClient
from tests.integration.stackfixture import Stack, start_stack, stop_stack


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
    """A Toxiproxy client; every proxy is reset after the test, whatever happened."""
    client = ToxiproxyClient(stack.toxiproxy)
    yield client
    client.reset()
    client.close()
