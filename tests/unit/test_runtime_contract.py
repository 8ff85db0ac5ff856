"""The seam's promises, kept by every runtime: the fake one the engine's unit tests use
and the local one (against child processes this test starts). A new runtime joins by
adding a driver to RUNTIMES below: how a test ends an instance behind the runtime's
back, brings a successor up under the same name, and takes the control plane away (the
Kubernetes driver, on the test bed, is in tests/k8s/test_runtime_contract_k8s.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.faults import FAULT_TYPES
from harness.runtime import Endpoints, Instance, Runtime, runtime_for
from harness.runtime.endpoints import endpoints_of
from harness.runtime.local.runtime import process_of
from harness.runtime.local.state import read_state, write_state
from tests.fakeruntime import FakeRuntime
from tests.fakes import LISTEN, Children, make_stack
from tests.waiting import wait_for

REPLICAS = {"catalog-1": "catalog", "catalog-2": "catalog", "orders-1": "orders"}


@dataclass
class Driver:
    """One runtime under test, and what the test does behind its back."""

    runtime: Runtime
    end: Callable[[Instance], None]  # the instance is gone; nothing replaces it
    replace: Callable[[Instance], None]  # a successor runs (and is ready) under its name
    stop_control_plane: Callable[[], None]
    stopped: Callable[[Instance], bool]  # is it stopped (SIGSTOP), as the OS would say
    ready_one: Instance  # an instance that is ready now
    known_faults: frozenset[str]
    # a replica's name in REPLICAS → the runtime's name for it (Kubernetes: "namespace/pod")
    name: Callable[[str], str] = field(default=lambda replica: replica)


def _fake(tmp_path: Path, children: Children) -> Driver:
    rt = FakeRuntime(REPLICAS, supported=frozenset({"latency", "kill"}))
    stopped: set[str] = set()
    original = rt.signal

    def signal_and_track(instance: Instance, sig: str) -> bool:
        sent = original(instance, sig)
        if sent and sig in ("SIGSTOP", "SIGCONT"):
            (stopped.add if sig == "SIGSTOP" else stopped.discard)(instance.identity)
        return sent

    rt.signal = signal_and_track  # type: ignore[method-assign]

    def replace(inst: Instance) -> None:
        rt.make_ready(rt.respawn_now(inst.service, inst.name))

    return Driver(
        rt,
        end=lambda inst: rt.end(inst.name),
        replace=replace,
        stop_control_plane=rt.stop_control_plane,
        stopped=lambda inst: inst.identity in stopped,
        ready_one=rt.instances()[0],
        known_faults=frozenset(FAULT_TYPES),
    )


def _local(tmp_path: Path, children: Children) -> Driver:
    stack = make_stack(tmp_path / "stack", children, apps=tuple(REPLICAS), serving=True)
    rt = runtime_for(stack.topo, stack.stack_file, stack.run.root)

    def end(inst: Instance) -> None:
        children.kill_and_reap(_ref(stack, inst.name))

    def replace(inst: Instance) -> None:
        _serve_as(stack, children, inst.name)

    def stop_control_plane() -> None:
        dead = children.start()
        children.kill_and_reap(dead)
        state = stack.state()
        state.supervisor_pid, state.supervisor_start_time = dead.pid, dead.start_time
        write_state(stack.run.state_file, state)

    ready_one = rt.instances()[0]
    return Driver(
        rt, end, replace, stop_control_plane, lambda i: process_of(i).stopped(), ready_one,
        frozenset(FAULT_TYPES),
    )  # fmt: skip


def _ref(stack: Any, name: str) -> Any:
    state = read_state(stack.run.state_file)
    assert state is not None
    ref = state.component(name).process()
    assert ref is not None
    return ref


def _serve_as(stack: Any, children: Children, name: str) -> int:
    """A listener on `name`'s port becomes that replica (as the supervisor would record
    a restart): the old process, if any, is killed first, freeing the port. Its pid."""
    state = stack.state()
    comp = state.component(name)
    old = comp.process()
    if old is not None and old.alive():
        children.kill_and_reap(old)
    port = stack.topo.replica_named(name).port
    log = stack.run.root / f"{name}.listen.log"
    new = children.start((sys.executable, "-c", LISTEN, str(port)), log=log)
    proc = children.popen(new)
    wait_for(
        lambda: "up" in log.read_text() or proc.poll() is not None,
        timeout=30,
        what=f"{name} to listen on {port}",
    )
    assert "up" in log.read_text(), f"{name} could not listen on {port}: {log.read_text()}"
    comp.pid, comp.start_time = new.pid, new.start_time
    write_state(stack.run.state_file, state)
    return new.pid


RUNTIMES = {"fake": _fake, "local": _local}


@pytest.fixture(params=sorted(RUNTIMES))
def driver(request, tmp_path, children) -> Iterator[Driver]:
    yield RUNTIMES[request.param](tmp_path, children)


def test_instances_have_stable_distinct_identities(driver):
    rt = driver.runtime
    first = rt.instances()
    assert [i.name for i in first] == [driver.name(n) for n in REPLICAS]
    assert [i.service for i in first] == list(REPLICAS.values())
    assert len({i.identity for i in first}) == len(first)
    assert rt.instances() == first  # asked again: the same identities
    assert [i.name for i in rt.instances("catalog")] == [
        driver.name("catalog-1"),
        driver.name("catalog-2"),
    ]
    assert rt.instances("nothing-by-this-name") == []


def test_a_gone_instance_is_not_listed_not_ready_and_not_signalled(driver):
    rt = driver.runtime
    gone = next(i for i in rt.instances() if i.name == driver.name("catalog-2"))
    driver.end(gone)
    wait_for(lambda: gone.name not in [i.name for i in rt.instances()], 5, "catalog-2 gone")
    assert not rt.ready(gone)
    assert rt.signal(gone, "SIGCONT") is False
    assert rt.replacement(gone) is None


def test_a_signal_goes_to_that_identity_only(driver):
    rt = driver.runtime
    old = next(i for i in rt.instances() if i.name == driver.name("orders-1"))
    assert rt.signal(old, "SIGSTOP")
    wait_for(lambda: driver.stopped(old), 5, "orders-1 to be stopped")
    assert rt.signal(old, "SIGCONT")
    wait_for(lambda: not driver.stopped(old), 5, "orders-1 to go on")
    driver.replace(old)
    (new,) = rt.instances("orders")
    assert rt.signal(old, "SIGSTOP") is False  # the name lives on; that identity does not
    assert not driver.stopped(new)


def test_the_replacement_is_the_same_name_with_a_new_identity(driver):
    rt = driver.runtime
    old = next(i for i in rt.instances() if i.name == driver.name("catalog-2"))
    assert rt.replacement(old) is None  # still itself
    driver.replace(old)
    new = rt.replacement(old)
    assert new is not None
    assert (new.name, new.service) == (old.name, old.service)
    assert new.identity != old.identity
    assert rt.replacement(new) is None
    assert rt.ready(new)


def test_ready_is_asked_of_one_identity(driver):
    rt = driver.runtime
    assert rt.ready(driver.ready_one)
    driver.end(driver.ready_one)
    wait_for(lambda: not rt.ready(driver.ready_one), 5, "a gone instance to be unready")


def test_the_control_plane_is_alive_until_it_is_not(driver):
    assert driver.runtime.control_plane_alive()
    driver.stop_control_plane()
    assert not driver.runtime.control_plane_alive()


def test_endpoints_are_base_urls(driver):
    ends = driver.runtime.endpoints()
    assert isinstance(ends, Endpoints)
    urls = [ends.prometheus, ends.alertmanager, ends.alert_receiver]
    urls += [ends.toxiproxy] if ends.toxiproxy is not None else []
    assert all(u.startswith(("http://", "https://")) and not u.endswith("/") for u in urls)
    assert len(set(urls)) == len(urls)


def test_supported_faults_are_known_fault_types(driver):
    supported = driver.runtime.supported_faults()
    assert isinstance(supported, frozenset) and supported
    assert supported <= driver.known_faults


def test_the_local_runtime_serves_the_topology_endpoints_and_every_fault(tmp_path, children):
    driver = _local(tmp_path, children)
    assert driver.runtime.endpoints() == endpoints_of(driver.runtime.topo)  # type: ignore[attr-defined]
    assert driver.runtime.supported_faults() == driver.known_faults
