"""The runtime seam, locally: live instances with an identity, signals by identity,
replacements after a kill, and a runtime rebuilt from what a journal describes."""

from __future__ import annotations

import signal

import pytest

from harness.errors import StackError
from harness.runtime import runtime_for, runtime_from
from harness.runtime.endpoints import endpoints_of
from harness.runtime.local.runtime import LocalRuntime, identity_of
from harness.runtime.local.state import read_state, write_state
from tests.waiting import wait_for


def test_instances_carry_pid_and_start_time_and_skip_the_dead(stack, children):
    rt = LocalRuntime(stack.topo, stack.run.root, stack.stack_file)
    names = [i.name for i in rt.instances()]
    assert names == ["gateway-1", "catalog-1", "catalog-2", "orders-1"]
    cat2 = stack.replicas["catalog-2"]
    (inst,) = [i for i in rt.instances("catalog") if i.name == "catalog-2"]
    assert inst.identity == identity_of(cat2.pid, cat2.start_time)
    children.kill_and_reap(cat2)
    assert [i.name for i in rt.instances("catalog")] == ["catalog-1"]


def test_a_signal_goes_to_that_identity_only(stack, children):
    rt = LocalRuntime(stack.topo, stack.run.root)
    (inst,) = rt.instances("orders")
    assert rt.signal(inst, "SIGSTOP")
    wait_for(stack.replicas["orders-1"].stopped, 5, "orders-1 to be stopped")
    assert rt.signal(inst, "SIGCONT")
    children.kill_and_reap(stack.replicas["orders-1"])
    assert not rt.signal(inst, "SIGCONT")  # gone: nothing is signalled by name


def test_the_replacement_is_the_same_name_with_a_new_identity(stack, children):
    rt = LocalRuntime(stack.topo, stack.run.root)
    (old,) = rt.instances("orders")
    assert rt.replacement(old) is None
    new = children.start()
    state = read_state(stack.run.state_file)
    assert state is not None
    comp = state.component("orders-1")
    comp.pid, comp.start_time = new.pid, new.start_time
    stack.replicas["orders-1"].send(signal.SIGKILL)
    write_state(stack.run.state_file, state)
    replaced = rt.replacement(old)
    assert replaced is not None and replaced.identity == identity_of(new.pid, new.start_time)


def test_a_runtime_is_rebuilt_from_its_journaled_description(stack):
    rt = LocalRuntime(stack.topo, stack.run.root, stack.stack_file)
    again = runtime_from(rt.describe())
    assert again.describe() == rt.describe()
    assert [i.identity for i in again.instances()] == [i.identity for i in rt.instances()]
    with pytest.raises(StackError, match="does not know"):
        runtime_from({"kind": "openshift"})


def test_the_factory_builds_from_the_topology_what_the_journal_rebuilds(stack):
    rt = runtime_for(stack.topo, stack.stack_file, stack.run.root)
    assert rt.kind == "local"
    again = runtime_from(rt.describe())
    assert again.describe() == rt.describe()
    assert again.endpoints() == rt.endpoints()


def test_the_topology_s_endpoints_are_its_host_and_ports(stack):
    ends = endpoints_of(stack.topo)
    assert ends.prometheus == "http://127.0.0.1:29090"
    assert ends.alertmanager == "http://127.0.0.1:29093"
    assert ends.toxiproxy == "http://127.0.0.1:28474"
    v6 = endpoints_of(stack.topo.model_copy(update={"host": "::1"}))
    assert v6.alert_receiver == f"http://[::1]:{stack.topo.alertmanager.receiver_port}"
