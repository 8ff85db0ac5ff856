"""The test bed's parts that need no Kubernetes binaries: ports, credentials, processes."""

from __future__ import annotations

import random
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from lightkube import KubeConfig

from tests.k8s.kubeapi import condition, object_path
from tests.k8s.pki import Credentials, make_credentials, write_kubeconfig
from tests.k8s.processes import PORT_RANGE, STANDARD_PORTS, free_ports, spawn
from tests.k8s.testbed import fake_node, missing_binaries
from tests.waiting import wait_for


def test_free_ports_are_distinct_bindable_and_never_standard() -> None:
    ports = free_ports(8, random.Random(7))
    assert len(set(ports)) == 8
    assert all(p in PORT_RANGE and p not in STANDARD_PORTS for p in ports)
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_free_ports_skip_a_port_in_use() -> None:
    start = PORT_RANGE.start
    with socket.socket() as held:
        try:
            held.bind(("127.0.0.1", start))
        except OSError:
            pytest.skip(f"port {start} is in use by something else")
        # a generator whose random start is the range's first port: the held one is probed first
        rng = random.Random()
        rng.randrange = lambda n: 0  # type: ignore[method-assign]
        ports = free_ports(3, rng)
    assert start not in ports and ports[0] == start + 1


def test_port_range_lies_below_the_kernels_ephemeral_ports() -> None:
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    assert PORT_RANGE.stop <= low


def test_credentials_verify_against_their_ca_and_kubeconfig_loads(tmp_path) -> None:
    creds = make_credentials(tmp_path / "pki")
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", creds.ca_cert, creds.server_cert],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stderr
    text = subprocess.run(
        ["openssl", "x509", "-in", creds.server_cert, "-noout", "-ext", "subjectAltName"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    for san in ("IP Address:127.0.0.1", "DNS:localhost", "DNS:kubernetes.default.svc"):
        assert san in text
    lines = creds.token_file.read_text().splitlines()
    assert lines[0].endswith('"system:masters"') and creds.admin_token in lines[0]
    assert lines[1] == f"{creds.limited_token},{Credentials.LIMITED_USER},uid-nobody"
    assert creds.admin_token != creds.limited_token

    path = write_kubeconfig(tmp_path / "kc", "https://127.0.0.1:31000", creds.ca_cert,
                            "someone", creds.limited_token)  # fmt: skip
    assert path.stat().st_mode & 0o777 == 0o600
    config = KubeConfig.from_file(path).get()
    assert config.cluster.server == "https://127.0.0.1:31000"
    assert config.user.token == creds.limited_token


def test_object_path_and_condition() -> None:
    assert object_path(fake_node("n1")) == "/api/v1/nodes/n1"
    with pytest.raises(ValueError, match="no Pod objects"):
        object_path({"kind": "Pod", "metadata": {"name": "p"}})
    node = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    assert condition(node, "Ready") == "True"
    assert condition(node, "MemoryPressure") is None
    assert condition({}, "Ready") is None


def test_missing_binaries_names_each_file(tmp_path) -> None:
    assert missing_binaries(tmp_path) == [
        "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok",
    ]  # fmt: skip
    (tmp_path / "etcd").touch()
    assert "etcd" not in missing_binaries(tmp_path, chaos_mesh=True)
    assert "chaos-mesh-crd.yaml" in missing_binaries(tmp_path, chaos_mesh=True)


def test_a_component_is_stopped_with_its_whole_process_group(tmp_path) -> None:
    # the shell's child `sleep` is in the same group: it must end too
    pid_file = tmp_path / "child"
    script = f"echo started; sleep 60 & echo $! > {pid_file}; wait"
    component = spawn("sh", ["sh", "-c", script], tmp_path)
    wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), 5, "the child's pid")
    child = int(pid_file.read_text())
    component.stop(grace=5)
    assert not component.alive()
    wait_for(lambda: not _running(child), 5, "the grandchild to end")
    assert "started" in component.tail()


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.split(")")[1].split()[0] != "Z"


def test_a_component_ends_when_the_process_that_started_it_is_killed(tmp_path) -> None:
    # a middle process spawns a component, then is SIGKILLed: the component must end
    pid_file = tmp_path / "pid"
    code = (
        "import sys, time; from pathlib import Path; from tests.k8s.processes import spawn; "
        f"c = spawn('sleeper', ['sleep', '60'], Path({str(tmp_path)!r})); "
        f"Path({str(pid_file)!r}).write_text(str(c.pid)); time.sleep(60)"
    )
    middle = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parents[2])
    try:
        wait_for(lambda: pid_file.exists() and pid_file.read_text(), 10, "the component's pid")
        component = int(pid_file.read_text())
        assert _running(component)
        middle.kill()
        middle.wait(timeout=5)
        wait_for(lambda: not _running(component), 5, "the orphaned component to end")
    finally:
        middle.kill()
        middle.wait(timeout=5)
