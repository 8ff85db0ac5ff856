"""`harness up | down | status`: start the supervisor, wait for it, stop exactly what it started."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.errors import PreflightError, Refused, StackError
from harness.rundir import RunDir
from harness.runtime.local import postgres, redis
from harness.runtime.local.binaries import find_binaries
from harness.runtime.local.components import START_TIMEOUT
from harness.runtime.local.state import ComponentState, StackState, failure_text, read_state
from harness.runtime.readiness import replica_ready
from harness.specs.topology import Topology, load_topology

__all__ = ["Health", "down", "health", "status", "up", "up_timeout"]

UP_TIMEOUT = 180.0  # the supervisor's own deadlines end a start sooner: this is a backstop


@dataclass(frozen=True)
class Health:
    component: ComponentState
    alive: bool
    healthy: bool


def up_timeout(topo: Topology) -> float:
    """How long `up` waits at most: a stack's inits and one-after-another replicas add
    their own deadlines to the rest's."""
    inits = sum(s.init.timeout for s in topo.services.values() if s.init is not None)
    queued = sum(s.count - 1 for s in topo.services.values() if s.start == "sequential")
    return UP_TIMEOUT + inits + queued * START_TIMEOUT


def up(stack_file: Path, run_dir: Path, timeout: float | None = None) -> tuple[StackState, bool]:
    """Start the stack unless it already runs; returns (state, started_now)."""
    topo = load_topology(stack_file)
    run = RunDir(run_dir)
    current = read_state(run.state_file)
    if current is not None and current.supervisor().alive() and current.phase == "ready":
        return current, False
    if current is not None:
        _cleanup(current)  # a dead or failed supervisor's leftovers, by recorded PID only
    find_binaries(stack_file.resolve().parent, jaeger=topo.jaeger.enabled)
    _check_ports(topo)
    run.ensure()
    run.forget_postgres()  # none runs (its port is free): a new stack, a new database
    run.state_file.unlink(missing_ok=True)
    log = run.log("supervisor").open("ab")
    with log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harness.runtime.local.supervisor",
                "--stack",
                str(stack_file.resolve()),
                "--run-dir",
                str(run.root.resolve()),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives this command; `down` stops it
        )
    return _await_ready(run, proc, timeout or up_timeout(topo)), True


def _await_ready(run: RunDir, proc: subprocess.Popen[bytes], timeout: float) -> StackState:
    """The supervisor's state once ready; its failure (what failed, its exit, the tail of
    its own log) as the error otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = read_state(run.state_file)
        if state is not None and state.phase == "ready":
            return state
        if state is not None and state.phase == "failed":
            _wait_exit(proc, 30)
            raise StackError(failure_text(read_state(run.state_file) or state))
        if proc.poll() is not None:
            state = read_state(run.state_file)
            if state is not None and state.phase == "failed":
                raise StackError(failure_text(state))
            raise StackError(
                f"the supervisor exited with {proc.returncode}: see {run.log('supervisor')}"
            )
        time.sleep(0.2)
    proc.terminate()
    _wait_exit(proc, 30)
    raise StackError(f"the stack was not ready after {timeout:.0f}s: see {run.logs}")


def _wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> None:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def down(run_dir: Path, stack_file: Path | None = None, timeout: float = 60.0) -> StackState | None:
    """Stop the supervisor (it stops its children); then any recorded child still alive.
    Given the topology file, refuse a run directory whose stack another file started."""
    run = RunDir(run_dir)
    state = read_state(run.state_file)
    if state is None:
        return None
    if stack_file is not None and Path(state.stack_file) != stack_file.resolve():
        raise Refused(
            f"the stack in {run_dir} was started from {state.stack_file}, not {stack_file}: "
            "give its --stack-dir, or that --stack"
        )
    sup = state.supervisor()
    sup.stop(timeout=timeout)
    _cleanup(state)
    if not any(c.kind == "postgres" and _alive(c) for c in state.components):
        run.forget_postgres()
    final = read_state(run.state_file) or state
    run.state_file.unlink(missing_ok=True)
    return final


def _cleanup(state: StackState) -> None:
    """Stop recorded children that outlived their supervisor (identity-checked, never by name)."""
    for comp in reversed(state.components):
        ref = comp.process()
        if ref is not None and ref.alive():
            ref.stop()


def _alive(comp: ComponentState) -> bool:
    ref = comp.process()
    return ref is not None and ref.alive()


def status(run_dir: Path) -> StackState | None:
    return read_state(RunDir(run_dir).state_file)


def health(state: StackState, stack_file: Path | None = None) -> list[Health]:
    """Probe every component now (process alive, and its readiness endpoint)."""
    topo = load_topology(Path(stack_file or state.stack_file))
    out = []
    with httpx.Client(timeout=1.0) as client:
        for comp in state.components:
            ref = comp.process()
            alive = ref is not None and ref.alive()
            if comp.port is None:  # a one-shot init: healthy once it has done its job
                out.append(Health(comp, alive, comp.status == "done"))
                continue
            out.append(Health(comp, alive, alive and _probe(client, topo, comp, comp.port)))
    return out


def _probe(client: httpx.Client, topo: Topology, comp: ComponentState, port: int) -> bool:
    if comp.kind == "postgres":
        return postgres.ping(topo)
    if comp.kind == "redis":
        return redis.ping(topo.host, port)
    if comp.kind == "app":
        return replica_ready(topo, topo.replica_named(comp.name), timeout=1.0)
    path = "/version" if comp.kind == "toxiproxy" else "/-/ready"
    try:
        return client.get(f"http://{topo.host}:{port}{path}").status_code == 200
    except httpx.HTTPError:
        return False


def _check_ports(topo: Topology) -> None:
    for port in topo.all_ports():
        if not _port_free(topo.host, port):
            raise PreflightError(
                f"port {port} on {topo.host} is taken by another process: stop it "
                f"(`ss -ltnp 'sport = :{port}'` shows which) or change the port in the stack file"
            )


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
