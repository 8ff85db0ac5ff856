"""What faults act through: a runtime without Toxiproxy (Kubernetes without proxies) has
proxy faults say so by name; injecting asks the runtime only for the services it hits."""

from __future__ import annotations

import pytest

from harness.errors import StackError
from harness.faults.base import FaultEnv, live_targets, toxiproxy_of
from harness.faults.network import DisableProxy, ToxicOn
from harness.faults.process import signal_actions
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


class _Planned:
    def __init__(self, replicas: tuple[str, ...], services: tuple[str, ...]) -> None:
        self.index, self.replicas, self.links, self.services = 0, replicas, (), services


class _Counting(FakeRuntime):
    def __init__(self) -> None:
        super().__init__({"api-1": "api", "api-2": "api", "db-1": "db"})
        self.asked: list[str | None] = []

    def instances(self, service=None):
        self.asked.append(service)
        return super().instances(service)


def test_injecting_lists_only_the_services_of_the_planned_replicas():
    runtime = _Counting()
    actions = signal_actions(_Planned(("api-2",), ("api",)), FaultEnv(None, runtime), "SIGKILL")
    assert [a.replica for a in actions] == ["api-2"] and runtime.asked == ["api"]


def test_a_plan_that_does_not_know_its_services_lists_every_one():
    runtime = _Counting()
    assert set(live_targets(_Planned(("db-1",), ()), runtime)) == {"api-1", "api-2", "db-1"}
    assert runtime.asked == [None]
