"""The topology file and the views derived from it."""

from pathlib import Path

import pytest

from harness.errors import InvalidInput
from harness.specs.topology import Topology, load_topology
from harness.specs.yamlload import parse_model

ROOT = Path(__file__).resolve().parents[2]


def test_default_stack_derives_one_proxy_per_replica_link():
    topo = load_topology(ROOT / "stack.yaml")
    names = [link.name for link in topo.links]
    assert names == [
        "client_gateway-1",
        "gateway_catalog-1",
        "gateway_catalog-2",
        "gateway_orders-1",
        "gateway_orders-2",
        "gateway_orders-3",
        "catalog-1_redis",
        "catalog-2_redis",
        "orders-1_postgres",
        "orders-2_postgres",
        "orders-3_postgres",
    ]
    assert [r.name for r in topo.replicas_of("orders")] == ["orders-1", "orders-2", "orders-3"]
    assert topo.edge_url() == "http://127.0.0.1:18080"
    ports = topo.all_ports()
    assert len(ports) == len(set(ports))


def test_replica_counts_are_configurable():
    text = (ROOT / "stack.yaml").read_text().replace("replicas: 3", "replicas: 5")
    topo = parse_model(text, "stack.yaml", Topology)
    assert len(topo.replicas_of("orders")) == 5
    assert sum(1 for link in topo.links if link.target == "postgres") == 5


BAD = [
    (
        "replicas: 3",
        "replicas: 0",
        "stack.yaml:87: services.orders.replicas: Input should be greater than or equal to 1",
    ),
    (
        "replicas: 3",
        "replicas: three",
        "stack.yaml:87: services.orders.replicas: Input should be a valid integer, unable to parse string as an integer",
    ),
    ("  port: 19090", "  port: 18101", "stack.yaml:12: ports used twice: 18101"),
    (
        "depends_on: [postgres]",
        "depends_on: [cache]",
        "stack.yaml:90: services.orders.depends_on: unknown cache",
    ),
    (
        "scrape_interval: 1s",
        "scrape_intervl: 1s",
        "stack.yaml:33: prometheus.scrape_intervl: Extra inputs are not permitted",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD)
def test_bad_topology_names_file_line_and_field(old, new, message):
    text = (ROOT / "stack.yaml").read_text().replace(old, new, 1)
    with pytest.raises(InvalidInput) as exc:
        parse_model(text, "stack.yaml", Topology)
    assert str(exc.value) == message


def test_invalid_yaml_reports_line():
    with pytest.raises(InvalidInput) as exc:
        parse_model("services:\n  gateway: [\n", "s.yaml", Topology)
    assert str(exc.value).startswith("s.yaml:3: invalid YAML")


def test_every_dependency_is_reached_through_its_proxy():
    topo = load_topology(ROOT / "stack.yaml")
    gateway = topo.replicas_of("gateway")[0]
    argv = topo.argv(gateway, "127.0.0.1", "py")
    assert argv[:3] == ["py", "-m", "sample_app"]
    upstreams = [argv[i + 1] for i, f in enumerate(argv) if f == "--upstream"]
    assert upstreams == [
        f"{lk.target}=http://127.0.0.1:{lk.listen_port}" for lk in topo.links_from("gateway")
    ]
    orders2 = topo.replicas_of("orders")[1]
    assert topo.argv(orders2, "toxiproxy", "python")[-2:] == [
        "--database-url",
        "postgresql://shop@toxiproxy:15442/shop",
    ]


GENERIC = """
version: harness/v1
services:
  api:
    replicas: 2
    port_base: 20100
    edge_port_base: 20080
    depends_on: [legacy]
    command:
      argv: ["{python}", "-m", "myapi", "--bind", "{host}:{port}"]
      per_link:
        legacy: ["--legacy", "{url}"]
      env: {API_NAME: "{replica}"}
  legacy:
    external: ["127.0.0.1:9000"]
    proxy_port_base: 20200
"""


def test_any_service_launched_or_external_and_no_shop_names_needed():
    topo = parse_model(GENERIC, "t.yaml", Topology)
    api1 = topo.replica_named("api-1")
    assert topo.argv(api1, "127.0.0.1", "py") == [
        "py", "-m", "myapi", "--bind", "127.0.0.1:20101", "--legacy", "http://127.0.0.1:20201",
    ]  # fmt: skip
    assert topo.env(api1, "py") == {"API_NAME": "api-1"}
    assert [r.name for r in topo.launched] == ["api-1", "api-2"]
    assert topo.is_external("legacy-1") and not topo.is_external("api-1")
    legacy_link = next(lk for lk in topo.links if lk.target == "legacy-1")
    assert topo.upstream(legacy_link) == ("127.0.0.1", 9000)
    assert topo.edge_url() == "http://127.0.0.1:20080"


BAD_GENERIC = [
    ("argv: [", "argv: [\"{pyhton}\", ", "t.yaml:10: services.api.command.argv.0: unknown placeholder {pyhton} (known: python, service, replica, index, host, port)"),
    ("    external: [\"127.0.0.1:9000\"]", "    external: [\"10.0.0.5:9000\"]", "t.yaml:15: services.legacy.external.0: '10.0.0.5:9000': give host:port on loopback (127.0.0.1:8000)"),
    ("    external: [\"127.0.0.1:9000\"]", "    port_base: 9000", "t.yaml:15: services.legacy: give exactly one of command (the harness starts it), external (it runs already) or selector (its pods in a cluster)"),
    ("        legacy: [", "        other: [", "t.yaml:12: services.api.command.per_link: not in depends_on: other"),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD_GENERIC)
def test_bad_generic_topology_names_file_line_and_field(old, new, message):
    with pytest.raises(InvalidInput) as exc:
        parse_model(GENERIC.replace(old, new, 1), "t.yaml", Topology)
    assert message in str(exc.value).splitlines()
