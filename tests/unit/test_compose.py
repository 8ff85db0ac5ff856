"""docker-compose.yml and compose/* are what the topology generates (no drift)."""

import json
from pathlib import Path

import yaml

from harness.runtime.compose import compose_files
from harness.specs.topology import load_topology

ROOT = Path(__file__).resolve().parents[2]


def test_committed_compose_files_match_the_topology():
    files = compose_files(load_topology(ROOT / "stack.yaml"), ROOT)
    for rel, text in files.items():
        assert (ROOT / rel).read_text() == text, f"{rel} is stale: run `harness compose`"


def test_compose_has_every_replica_and_every_hop_through_toxiproxy():
    topo = load_topology(ROOT / "stack.yaml")
    files = compose_files(topo, ROOT)
    services = yaml.safe_load(files["docker-compose.yml"])["services"]
    assert {r.name for r in topo.replicas} <= set(services)
    proxies = json.loads(files["compose/toxiproxy.json"])
    assert [p["name"] for p in proxies] == [lk.name for lk in topo.links]
    gateway_cmd = services["gateway-1"]["command"]
    upstreams = [gateway_cmd[i + 1] for i, a in enumerate(gateway_cmd) if a == "--upstream"]
    assert all("@" not in u and "toxiproxy:" in u for u in upstreams)
    for r in topo.replicas_of("orders"):
        cmd = services[r.name]["command"]
        assert cmd[cmd.index("--database-url") + 1].startswith("postgresql://shop@toxiproxy:")
        assert services[r.name]["restart"] == "unless-stopped"
