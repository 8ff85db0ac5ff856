"""`harness up | status | down` on a stack of its own: idempotence, exact stop, errors,
liveness restarts, and a failing start that shows the failing component's own log."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import pytest
import yaml

from harness.rundir import RunDir
from tests.integration.stackfixture import harness, shifted_stack, start_stack, stop_stack
from tests.waiting import wait_for

OFFSET = -8000
# the catalog's liveness judged within seconds, so a frozen replica is restarted in the test
FAST_LIVENESS = {"services.catalog.live_period": "1s", "services.catalog.live_failures": 3}


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("lifecycle"), OFFSET, FAST_LIVENESS)
    yield running
    stop_stack(running)


def test_up_is_idempotent_and_status_shows_every_component(own_stack):
    pids = {c.name: c.pid for c in own_stack.state.components}
    again = harness("up", "--stack", str(own_stack.stack_file), "--stack-dir", str(own_stack.run_dir))
    assert again.returncode == 0, again.stderr
    assert "already up; nothing changed" in again.stdout
    assert {c.name: c.pid for c in own_stack.state.components} == pids

    status = harness("status", "--stack-dir", str(own_stack.run_dir))
    assert status.returncode == 0, status.stdout + status.stderr
    for name in ("postgres", "toxiproxy", "prometheus", "alertmanager", "gateway-1", "orders-3"):
        assert name in status.stdout
    assert status.stdout.count("healthy") >= len(pids)


def test_down_refuses_a_stack_file_that_did_not_start_the_run_dir(own_stack, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text("version: harness/v1\n")
    result = harness("down", "--stack", str(other), "--stack-dir", str(own_stack.run_dir))
    assert result.returncode == 3
    assert f"was started from {own_stack.stack_file.resolve()}, not {other}" in result.stderr
    assert own_stack.state.supervisor().alive()


def test_a_frozen_replica_fails_liveness_and_is_restarted_by_its_identity(own_stack):
    before = own_stack.state.component("catalog-2")
    frozen = before.process()
    assert frozen is not None and frozen.send(signal.SIGSTOP)

    def restarted():
        comp = own_stack.state.component("catalog-2")
        return comp if comp.restarts > before.restarts and comp.status == "running" else None

    after = wait_for(restarted, 30, "the supervisor to restart the frozen catalog-2")
    assert not frozen.alive()
    port = own_stack.topo.replica_named("catalog-2").port
    assert after.last_restart is not None
    assert after.last_restart.startswith(
        f"liveness failed: http://127.0.0.1:{port}/health/live did not answer within 1s"
    )
    others = [c for c in own_stack.state.components if c.name != "catalog-2"]
    assert all(c.last_restart is None for c in others)
    supervisor_log = (own_stack.run_dir / "logs" / "supervisor.log").read_text()
    assert f"catalog-2 (pid {frozen.pid}) liveness failed" in supervisor_log
    status = harness("status", "--stack-dir", str(own_stack.run_dir))
    assert "last restart: liveness failed" in status.stdout


def test_down_stops_exactly_what_up_started(own_stack):
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        state = own_stack.state
        refs = [c.process() for c in state.components] + [state.supervisor()]
        cluster = RunDir(own_stack.run_dir).postgres_data
        assert (cluster / "PG_VERSION").exists()
        assert all(ref is not None and ref.alive() for ref in refs)
        down = harness("down", "--stack-dir", str(own_stack.run_dir))
        assert down.returncode == 0, down.stderr
        assert not any(ref.alive() for ref in refs)
        assert bystander.poll() is None, "down must not touch a process it did not start"
        assert not (own_stack.run_dir / "state.json").exists()
        assert not cluster.exists()  # its PostgreSQL data was throwaway: gone with the stack
    finally:
        bystander.kill()
        bystander.wait()


def test_taken_port_is_a_one_line_error_with_a_fix(tmp_path):
    stack_file = shifted_stack(tmp_path / "stack.yaml", OFFSET - 1000)
    from harness.specs.topology import load_topology

    port = load_topology(stack_file).prometheus.port
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = harness("up", "--stack", str(stack_file), "--stack-dir", str(tmp_path / "run"))
    assert result.returncode == 4
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port {port}" in lines[0] and "taken" in lines[0]


def test_invalid_stack_file_names_line_and_field(tmp_path):
    bad = tmp_path / "stack.yaml"
    bad.write_text(
        "version: harness/v1\nservices:\n  gateway:\n    replicas: -1\n    port_base: 1\n"
    )
    result = harness("up", "--stack", str(bad), "--stack-dir", str(tmp_path / "run"))
    assert result.returncode == 3
    assert (
        f"{bad}:4: services.gateway.replicas: Input should be greater than or equal to 1"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_status_without_a_stack_says_how_to_start_one(tmp_path):
    result = harness("status", "--stack-dir", str(tmp_path / "none"))
    assert result.returncode == 1
    assert "harness up" in result.stdout


# A stack of its own on 29xxx (no other test stack is there): an api, then a web service
# whose init and replicas read the api's address from their environment ({api.url}),
# started one after another; web-2 fails the way two replicas racing on one migration do.
LISTEN = (
    "import os, socket, sys, time\n"
    "print(sys.argv[1], 'sees the api at', os.environ.get('API_URL'), flush=True)\n"
    "if sys.argv[1] == 'web-2':\n"
    "    print('boom: migration lock', flush=True); sys.exit(3)\n"
    "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[2]))); s.listen(); time.sleep(600)\n"
)
FAILING_STACK = {
    "version": "harness/v1",
    "toxiproxy": {"port": 29474},
    "prometheus": {"port": 29490},
    "alertmanager": {"port": 29493, "receiver_port": 29494},
    "supervisor": {"metrics_port": 29495},
    "jaeger": {"enabled": False},
    "services": {
        "api": {
            "port_base": 29500,
            "proxy_port_base": 29550,
            "command": {"argv": ["{python}", "-c", LISTEN, "{replica}", "{port}"]},
        },
        "web": {
            "replicas": 2,
            "port_base": 29600,
            "depends_on": ["api"],
            "start": "sequential",
            "init": {
                "argv": [
                    "{python}",
                    "-c",
                    "import os; print('migrating via', os.environ['API_URL'])",
                ],
                "env": {"API_URL": "{api.url}"},
            },
            "command": {
                "argv": ["{python}", "-c", LISTEN, "{replica}", "{port}"],
                "env": {"API_URL": "{api.url}"},
            },
        },
    },
}


def test_a_replica_failing_at_up_is_shown_with_its_exit_and_its_own_log(tmp_path):
    stack_file, run_dir = tmp_path / "stack.yaml", tmp_path / "run"
    stack_file.write_text(yaml.safe_dump(FAILING_STACK, sort_keys=False))
    args = ("--stack", str(stack_file), "--stack-dir", str(run_dir))
    try:
        result = harness("up", *args)
        assert result.returncode == 4, result.stdout + result.stderr
        log = run_dir / "logs" / "web-2.log"
        assert result.stderr.splitlines() == [
            "error: web-2 exited with code 3 while starting",
            f"web-2: the last 2 lines of {log}:",
            "  web-2 sees the api at http://127.0.0.1:29551",
            "  boom: migration lock",
        ]
        logs = run_dir / "logs"
        assert (logs / "web-init.log").read_text() == "migrating via http://127.0.0.1:29551\n"
        assert "web-1 sees the api at" in (logs / "web-1.log").read_text()  # before web-2

        status = harness("status", *args)
        assert status.returncode == 1
        assert "failed: exited with code 3 while starting" in status.stdout
        assert "boom: migration lock" in status.stdout
    finally:
        down = harness("down", *args)
    assert down.returncode == 0, down.stderr  # `down` takes --stack like `up`
    assert not (run_dir / "state.json").exists()
