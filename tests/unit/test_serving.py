"""Preflight counts the replicas serving now: ready instances of the runtime, and
external replicas that answer."""

from __future__ import annotations

import socket
from pathlib import Path

from harness.experiment.serving import serving_replicas
from harness.specs.topology import load_topology
from tests.fakeruntime import FakeRuntime

ROOT = Path(__file__).resolve().parents[2]
TOPO = load_topology(ROOT / "stack.yaml")


def test_only_ready_instances_serve():
    runtime = FakeRuntime({r.name: r.service for r in TOPO.replicas})
    (slow,) = runtime.instances("catalog")[1:]
    runtime.make_ready(slow, False)  # live, not answering yet
    runtime.end("orders-2")  # gone
    serving = serving_replicas(runtime, TOPO)
    assert slow.name not in serving and "orders-2" not in serving
    assert serving == {
        r.name: r.service for r in TOPO.replicas if r.name not in (slow.name, "orders-2")
    }


EXTERNAL = """\
version: harness/v1
host: 127.0.0.1
services:
  api:
    replicas: 1
    port_base: {free}
    command: {{argv: [sleep, "60"]}}
  legacy:
    external: ["127.0.0.1:{port}"]
    edge_port_base: {edge}
"""


def test_an_external_replica_serves_while_it_answers(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        stack = tmp_path / "stack.yaml"
        stack.write_text(EXTERNAL.format(port=port, free=port + 10, edge=port + 20))
        topo = load_topology(stack)
        runtime = FakeRuntime({"api-1": "api"})
        assert serving_replicas(runtime, topo) == {"api-1": "api", "legacy-1": "legacy"}
    assert serving_replicas(runtime, topo) == {"api-1": "api"}  # closed: it answers no more
