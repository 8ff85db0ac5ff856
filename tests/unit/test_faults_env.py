"""A runtime without Toxiproxy (Kubernetes without proxies): proxy faults say so, by name."""

from __future__ import annotations

import pytest

from harness.errors import StackError
from harness.faults.base import FaultEnv, toxiproxy_of
from harness.faults.network import DisableProxy, ToxicOn
from harness.runtime.base import Endpoints
from tests.fakeruntime import FakeRuntime


def _no_proxies() -> FakeRuntime:
    ends = Endpoints("http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3")
    return FakeRuntime({"api-1": "api"}, endpoints=ends)


def test_toxiproxy_of_a_runtime_without_one_is_none():
    with toxiproxy_of(_no_proxies()) as tp:
        assert tp is None


@pytest.mark.parametrize(
    "action",
    [ToxicOn("web_api-1", "t", "latency", "downstream", 1.0, {"latency": 5}), DisableProxy("p")],
)
def test_a_proxy_fault_without_toxiproxy_names_the_runtime(action):
    env = FaultEnv(toxiproxy=None, runtime=_no_proxies())
    with pytest.raises(StackError, match="the fake runtime has no Toxiproxy"):
        action.apply(env)
    with pytest.raises(StackError, match="no proxy fault acts here"):
        action.revert(env)
