"""`harness up | status | down` on a stack of its own: idempotence, exact stop, errors."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.integration.stackfixture import harness, shifted_stack, start_stack, stop_stack

OFFSET = -8000


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory):
    running = start_stack(tmp_path_factory.mktemp("lifecycle"), offset=OFFSET)
    yield running
    stop_stack(running)


def test_up_is_idempotent_and_status_shows_every_component(own_stack):
    pids = {c.name: c.pid for c in own_stack.state.components}
    again = harness("up", "--stack", str(own_stack.stack_file), "--run-dir", str(own_stack.run_dir))
    assert again.returncode == 0, again.stderr
    assert "already up; nothing changed" in again.stdout
    assert {c.name: c.pid for c in own_stack.state.components} == pids

    status = harness("status", "--run-dir", str(own_stack.run_dir))
    assert status.returncode == 0, status.stdout + status.stderr
    for name in ("postgres", "toxiproxy", "prometheus", "alertmanager", "gateway-1", "orders-3"):
        assert name in status.stdout
    assert status.stdout.count("healthy") >= len(pids)


def test_down_stops_exactly_what_up_started(own_stack):
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        state = own_stack.state
        refs = [c.process() for c in state.components] + [state.supervisor()]
        assert all(ref is not None and ref.alive() for ref in refs)
        down = harness("down", "--run-dir", str(own_stack.run_dir))
        assert down.returncode == 0, down.stderr
        assert not any(ref.alive() for ref in refs)
        assert bystander.poll() is None, "down must not touch a process it did not start"
        assert not (own_stack.run_dir / "state.json").exists()
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
        result = harness("up", "--stack", str(stack_file), "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 4
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port {port}" in lines[0] and "taken" in lines[0]


def test_invalid_stack_file_names_line_and_field(tmp_path):
    bad = tmp_path / "stack.yaml"
    bad.write_text(
        "version: harness/v1\nservices:\n  gateway:\n    replicas: -1\n    port_base: 1\n"
    )
    result = harness("up", "--stack", str(bad), "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 3
    assert (
        f"{bad}:4: services.gateway.replicas: Input should be greater than or equal to 1"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_status_without_a_stack_says_how_to_start_one(tmp_path):
    result = harness("status", "--run-dir", str(tmp_path / "none"))
    assert result.returncode == 1
    assert "harness up" in result.stdout
