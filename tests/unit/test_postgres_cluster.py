"""The local stack's PostgreSQL cluster is throwaway test data of its run dir: `down`
removes exactly the directory derived for that run dir, and `up` of a stack that is not
running starts from a new cluster."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from harness import rundir
from harness.procs import ProcessRef, start_time_of
from harness.rundir import RunDir
from harness.runtime.local import control
from harness.runtime.local.state import ComponentState, StackState, write_state

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def as_root_in_tmp(monkeypatch, tmp_path) -> Path:
    """As root with a run dir `postgres` cannot reach: the cluster goes to the temp dir."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(rundir, "postgres_user", lambda: "postgres")
    monkeypatch.setattr(rundir, "_traversable_by_others", lambda path: False)
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(temp))
    return temp


def _cluster(run: RunDir) -> Path:
    run.postgres_data.mkdir(parents=True)
    (run.postgres_data / "PG_VERSION").write_text("16\n")
    return run.postgres_data


def test_forgetting_removes_the_run_dirs_own_cluster_in_the_temp_dir_only(as_root_in_tmp, tmp_path):
    run, other = RunDir(tmp_path / "a" / ".run"), RunDir(tmp_path / "b" / ".run")
    mine, theirs = _cluster(run), _cluster(other)
    assert mine.parent == as_root_in_tmp and mine.name.startswith("harness-pg-")
    run.forget_postgres()
    assert not mine.exists()
    assert (theirs / "PG_VERSION").exists()  # another run dir's cluster, same prefix
    run.forget_postgres()  # nothing to forget is fine


def test_forgetting_a_cluster_inside_the_run_dir_keeps_the_rest_of_it(monkeypatch, tmp_path):
    monkeypatch.setattr(rundir, "postgres_user", lambda: None)
    run = RunDir(tmp_path / ".run")
    run.ensure()
    assert _cluster(run) == run.root / "postgres"
    run.forget_postgres()
    assert not (run.root / "postgres").exists() and run.logs.is_dir()


def _state(run: RunDir, postgres: ProcessRef | None) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    gone = int(dead.stdout)  # a supervisor that has exited already
    comp = ComponentState(
        name="postgres",
        kind="postgres",
        pid=None if postgres is None else postgres.pid,
        start_time=None if postgres is None else postgres.start_time,
        status="running",
        log=str(run.log("postgres")),
    )
    state = StackState(
        stack_file=str(ROOT / "stack.yaml"),
        run_dir=str(run.root),
        supervisor_pid=gone,
        supervisor_start_time=1,
        phase="ready",
        components=[comp],
    )
    write_state(run.state_file, state)


def test_down_removes_the_cluster_once_postgres_has_stopped(as_root_in_tmp, tmp_path):
    run = RunDir(tmp_path / ".run")
    run.ensure()
    data = _cluster(run)
    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = start_time_of(server.pid)
        assert start is not None
        _state(run, ProcessRef(server.pid, start))
        assert control.down(run.root) is not None
        assert server.wait(timeout=10) is not None  # down stopped the recorded server
    finally:
        server.kill()
        server.wait()
    assert not data.exists()


def test_down_keeps_the_cluster_of_a_postgres_that_would_not_stop(
    as_root_in_tmp, tmp_path, monkeypatch
):
    monkeypatch.setattr(ProcessRef, "stop", lambda self, *args, **kwargs: None)
    run = RunDir(tmp_path / ".run")
    run.ensure()
    data = _cluster(run)
    me = ProcessRef(os.getpid(), start_time_of(os.getpid()) or 0)
    _state(run, me)  # "postgres" is this test's own process: alive, and never stopped
    control.down(run.root)
    assert (data / "PG_VERSION").exists()


def test_up_of_a_stack_not_running_starts_from_a_new_cluster(as_root_in_tmp, tmp_path, monkeypatch):
    run = RunDir(tmp_path / ".run")
    run.ensure()
    data = _cluster(run)
    _state(run, None)  # a supervisor that died without `down`: its cluster stayed
    seen: list[bool] = []

    def spawn(*args, **kwargs):
        seen.append(data.exists())  # what the new supervisor would find
        return None

    monkeypatch.setattr(control, "find_binaries", lambda *args, **kwargs: None)
    monkeypatch.setattr(control, "_check_ports", lambda topo: None)
    monkeypatch.setattr(control.subprocess, "Popen", spawn)
    monkeypatch.setattr(control, "_await_ready", lambda run, proc, timeout: "ready")
    assert control.up(ROOT / "stack.yaml", run.root) == ("ready", True)
    assert seen == [False]


def test_up_of_a_running_stack_leaves_its_cluster(as_root_in_tmp, tmp_path):
    run = RunDir(tmp_path / ".run")
    run.ensure()
    data = _cluster(run)
    me = start_time_of(os.getpid())
    assert me is not None
    _state(run, None)
    state = StackState.model_validate_json(run.state_file.read_text())
    write_state(
        run.state_file,
        state.model_copy(update={"supervisor_pid": os.getpid(), "supervisor_start_time": me}),
    )
    _, started = control.up(ROOT / "stack.yaml", run.root)
    assert not started
    assert (data / "PG_VERSION").exists()
