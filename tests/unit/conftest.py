"""Fixtures shared by the unit tests of the safety code: real child processes, a fake
stack whose supervisor is the test process, and an in-memory Toxiproxy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes import Children, FakeStack, FakeToxiproxy, make_stack
from tests.unit.engineworld import World, make_world


@pytest.fixture
def children():
    kids = Children()
    yield kids
    kids.close()


@pytest.fixture
def stack(tmp_path, children) -> FakeStack:
    return make_stack(tmp_path / "stack", children)


@pytest.fixture
def fake(stack) -> FakeToxiproxy:
    return FakeToxiproxy.for_topology(stack.topo)


@pytest.fixture
def world(tmp_path, monkeypatch) -> Iterator[World]:
    """A fake stack and Toxiproxy to run the engine on (tests.unit.engineworld)."""
    yield from make_world(tmp_path, monkeypatch)
