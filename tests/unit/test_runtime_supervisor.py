"""The supervisor with real child processes but no stack: a failing component is named
with its exit and its own log's tail and stays failed after the teardown; an init runs
before the replicas; sequential replicas start one after another; a replica whose
liveness fails is killed by identity and restarted with the reason recorded."""

from __future__ import annotations

import socket
import sys
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest

from harness.errors import StackError
from harness.procs import ProcessRef
from harness.rundir import RunDir
from harness.runtime.local.binaries import Binaries
from harness.runtime.local.components import Component
from harness.runtime.local.control import UP_TIMEOUT, up_timeout
from harness.runtime.local.liveness import LiveProbe
from harness.runtime.local.state import failure_text, read_state
from harness.runtime.local.supervisor import START_TIMEOUT, Supervisor
from harness.specs.topology import Topology
from tests.waiting import wait_for

BINS = Binaries(*(Path(f"/bin/{n}") for n in ("tp", "pg", "initdb", "prom", "am", "jaeger")))
PY = sys.executable
FAIL = "import sys; print('starting'); print('boom: migration lock'); sys.exit(3)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server(port: int, before: str = "") -> tuple[str, ...]:
    """A replica: listens on `port` (ready by TCP) after running `before`."""
    code = (
        f"import socket, time\n{before}\n"
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('127.0.0.1', {port})); s.listen(); print('listening', flush=True)\n"
        "time.sleep(60)\n"
    )
    return (PY, "-c", code)


def _app(name: str, argv: tuple[str, ...], port: int, **kw: object) -> Component:
    return Component(name, "app", argv, port, None, 1, service="web", **kw)  # type: ignore[arg-type]


def _supervisor(tmp_path: Path, comps: list[Component]) -> Supervisor:
    topo = Topology.model_validate(
        {
            "supervisor": {"metrics_port": _free_port()},
            "jaeger": {"enabled": False},
            "services": {"web": {"port_base": 21900, "command": {"argv": ["x"]}}},
        }
    )
    stack = tmp_path / "stack.yaml"
    stack.write_text("version: harness/v1\n")
    sup = Supervisor(stack, topo, RunDir(tmp_path / "run"), BINS, comps)
    sup.run.ensure()
    return sup


@pytest.fixture
def supervisors():
    made: list[Supervisor] = []
    yield made
    for sup in made:
        sup.request_stop()
        sup._stop_all()


def test_a_replica_failing_at_start_is_named_with_its_exit_and_its_own_log(
    tmp_path, supervisors, capsys
):
    port = _free_port()
    sup = _supervisor(tmp_path, [_app("web-1", (PY, "-c", FAIL), port)])
    supervisors.append(sup)
    sup.run.log("web-1").write_text("a line from an earlier stack\n")
    assert sup.serve() == 1
    state = read_state(sup.run.state_file)
    assert state is not None
    assert state.phase == "failed"  # the teardown does not hide the failure
    assert state.error == "web-1 exited with code 3 while starting"
    comp = state.component("web-1")
    assert (comp.status, comp.last_exit) == ("failed", 3)
    assert comp.log_tail == ["starting", "boom: migration lock"]  # this start's lines only
    text = failure_text(state)
    assert "supervisor: failed: web-1 exited with code 3 while starting" in capsys.readouterr().out
    assert text.splitlines() == [
        "web-1 exited with code 3 while starting",
        f"web-1: the last 2 lines of {sup.run.log('web-1')}:",
        "  starting",
        "  boom: migration lock",
    ]


def test_a_failing_init_stops_the_start_before_any_replica(tmp_path, supervisors):
    init = Component("web-init", "init", (PY, "-c", FAIL), None, None, 1, timeout=30.0)
    replica = _app("web-1", _server(_free_port()), 0, after="web-init")
    sup = _supervisor(tmp_path, [init, replica])
    supervisors.append(sup)
    with pytest.raises(StackError, match="^web-init exited with code 3$"):
        sup._start_tier(list(sup.children.values()))
    assert sup.state.component("web-init").log_tail[-1] == "boom: migration lock"
    assert sup.state.component("web-1").pid is None  # never started


def test_an_init_that_overruns_its_timeout_is_stopped_and_fails_the_start(tmp_path, supervisors):
    hang = (PY, "-c", "import time; print('waiting for a lock', flush=True); time.sleep(60)")
    init = Component("web-init", "init", hang, None, None, 1, timeout=0.5)
    sup = _supervisor(tmp_path, [init])
    supervisors.append(sup)
    with pytest.raises(StackError, match=r"^web-init did not finish within 0.5s \(stopped\)$"):
        sup._start_tier(list(sup.children.values()))
    child = sup.children["web-init"]
    assert child.proc is not None and child.proc.poll() is not None
    assert child.state.log_tail == ["waiting for a lock"]


def test_an_init_then_sequential_replicas_each_after_the_one_before_is_ready(tmp_path, supervisors):
    ports = [_free_port(), _free_port()]
    marker = tmp_path / "migrated"
    init = (PY, "-c", f"import pathlib; pathlib.Path({str(marker)!r}).write_text('ok')")
    # replica 1 takes a while to listen; replica 2 says whether it found replica 1 ready
    slow = f"time.sleep(0.5); assert open({str(marker)!r}).read() == 'ok'"
    probe = (
        "c = socket.socket()\n"
        f"print('web-1 ready when web-2 started:', c.connect_ex(('127.0.0.1', {ports[0]})) == 0)"
    )
    comps = [
        Component("web-init", "init", init, None, None, 1, timeout=30.0),
        _app("web-1", _server(ports[0], slow), ports[0], after="web-init"),
        _app("web-2", _server(ports[1], probe), ports[1], after="web-1"),
    ]
    sup = _supervisor(tmp_path, comps)
    supervisors.append(sup)
    sup._start_tier(list(sup.children.values()))
    assert [sup.state.component(c.name).status for c in comps] == ["done", "running", "running"]
    assert "web-1 ready when web-2 started: True" in sup.run.log("web-2").read_text()


def _answered(result: str | None) -> Future[str | None]:
    future: Future[str | None] = Future()
    future.set_result(result)
    return future


def test_failed_liveness_kills_that_process_by_identity_and_restarts_it(tmp_path, supervisors):
    port = _free_port()
    url = f"http://127.0.0.1:{port}/live"
    sup = _supervisor(tmp_path, [_app("web-1", _server(port), port, live=LiveProbe(url, 1.0, 2))])
    supervisors.append(sup)
    sup._start_tier(list(sup.children.values()))
    child = sup.children["web-1"]
    old = child.state.process()
    assert old is not None
    answers = iter([None, "answered HTTP 500", "answered HTTP 500"])
    submitted = []

    def submit(probe_url: str) -> Future[str | None]:
        submitted.append(probe_url)
        return _answered(next(answers))

    now = child.started
    for _ in range(6):  # three probes, each started then judged a period later
        now += 1.0
        sup._check_live(child, now, submit)
    assert submitted == [url] * 3
    wait_for(lambda: not old.alive(), 5, "the unlive replica to be killed")
    assert sup._reap(child, now)
    reason = f"liveness failed: {url} answered HTTP 500 (2 probes in a row, 1s apart)"
    assert child.state.last_restart == reason
    assert child.state.status == "backoff"
    assert sup._maybe_restart(child, now + 10)
    new = child.state.process()
    assert new is not None and new != old and new.alive()
    assert child.state.restarts == 1
    assert child.probe is None and child.live is not None and not child.live.armed


def test_liveness_never_kills_a_process_that_is_no_longer_the_recorded_one(tmp_path, supervisors):
    port = _free_port()
    live = LiveProbe(f"http://127.0.0.1:{port}/live", 1.0, 1)
    sup = _supervisor(tmp_path, [_app("web-1", _server(port), port, live=live)])
    supervisors.append(sup)
    sup._start_tier(list(sup.children.values()))
    child = sup.children["web-1"]
    assert child.proc is not None
    running = ProcessRef.of(child.proc.pid)
    child.state.start_time = running.start_time + 1  # the record names another process
    assert not child.kill("liveness failed: test")
    assert running.alive()


def test_a_stop_during_the_start_is_a_failure_that_names_no_component(tmp_path, supervisors):
    port = _free_port()
    sup = _supervisor(tmp_path, [_app("web-1", _server(port, "time.sleep(30)"), port)])
    supervisors.append(sup)
    threading.Timer(0.3, sup.request_stop).start()
    assert sup.serve() == 1
    state = read_state(sup.run.state_file)
    assert state is not None
    assert (state.phase, state.error) == ("failed", "stopped while starting")
    assert state.component("web-1").status == "stopped"
    assert failure_text(state) == "stopped while starting"


def test_up_waits_longer_for_inits_and_replicas_that_start_one_after_another():
    web = {"port_base": 21900, "command": {"argv": ["x"]}}
    plain = Topology.model_validate({"services": {"web": web}})
    assert up_timeout(plain) == UP_TIMEOUT
    queued = {**web, "replicas": 3, "start": "sequential", "init": {"argv": ["y"], "timeout": 30}}
    slow = Topology.model_validate({"services": {"web": queued}})
    assert up_timeout(slow) == UP_TIMEOUT + 30 + 2 * START_TIMEOUT
