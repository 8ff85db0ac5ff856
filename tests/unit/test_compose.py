"""docker-compose.yml and compose/* are what the topology generates (no drift), and agree
with it: replicas, proxies, scrape targets, ports; Grafana and Jaeger beside them."""

import json
from pathlib import Path

import yaml

from harness.dashboards import provisioning
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


def _compose(topo):
    return yaml.safe_load(compose_files(topo, ROOT)["docker-compose.yml"])["services"]


def test_compose_prometheus_scrapes_every_replica_by_container_name():
    topo = load_topology(ROOT / "stack.yaml")
    files = compose_files(topo, ROOT)
    services = yaml.safe_load(files["docker-compose.yml"])["services"]
    config = yaml.safe_load(files["compose/prometheus.yml"])
    targets = {
        sc["labels"]["replica"]: sc["targets"]
        for job in config["scrape_configs"]
        for sc in job["static_configs"]
        if "labels" in sc
    }
    scraped = [r for r in topo.replicas if topo.services[r.service].metrics_path]
    assert targets == {r.name: [f"{r.name}:{r.port}"] for r in scraped}
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert {"toxiproxy", "alertmanager", "prometheus"} <= jobs
    assert "harness-supervisor" not in jobs  # only the local stack has one
    for job in config["scrape_configs"]:
        for sc in job["static_configs"]:
            for target in sc["targets"]:
                assert target.rpartition(":")[0] in services, target


def test_every_image_is_pinned():
    for name, service in _compose(load_topology(ROOT / "stack.yaml")).items():
        image = service["image"]
        if service.get("build"):  # the repository's own image, built from it
            continue
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest", f"{name}: {image} is not pinned"


def test_grafana_is_provisioned_from_the_repositorys_own_files():
    topo = load_topology(ROOT / "stack.yaml")
    grafana = _compose(topo)["grafana"]
    assert grafana["image"].startswith("grafana/grafana:12.")
    assert grafana["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert grafana["environment"]["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    mounts = dict(v.removesuffix(":ro").split(":", 1) for v in grafana["volumes"])
    assert all(v.endswith(":ro") for v in grafana["volumes"])
    for source in mounts:  # the committed files themselves, not copies
        assert (ROOT / source).exists(), source
    assert mounts["./dashboards"] == provisioning.DASHBOARDS_DIR
    sources = {Path(target).parent.name: source for source, target in mounts.items()}
    assert sources["datasources"] == "./dashboards/provisioning/datasources.yaml"
    assert sources["dashboards"] == "./dashboards/provisioning/dashboards.yaml"
    datasources = yaml.safe_load((ROOT / sources["datasources"]).read_text())
    prometheus = datasources["datasources"][0]
    assert prometheus["url"] == f"http://prometheus:{topo.prometheus.port}"
    provider = yaml.safe_load((ROOT / sources["dashboards"]).read_text())["providers"][0]
    assert provider["options"]["path"] == mounts["./dashboards"]
    assert {"prometheus", "jaeger"} <= set(grafana["depends_on"])


def test_jaeger_receives_every_replicas_traces_over_otlp():
    topo = load_topology(ROOT / "stack.yaml")
    services = _compose(topo)
    jaeger = services["jaeger"]
    assert jaeger["image"].startswith("jaegertracing/jaeger:2.")
    published = {p.rsplit(":", 1)[-1] for p in jaeger["ports"]}
    assert published == {"4317", "4318", "16686"}
    for replica in topo.launched:
        env = services[replica.name]["environment"]
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"
        assert "jaeger" in services[replica.name]["depends_on"]
    datasources = yaml.safe_load((ROOT / "dashboards/provisioning/datasources.yaml").read_text())
    assert datasources["datasources"][1]["url"] == "http://jaeger:16686"


def test_published_ports_are_unique_and_clear_of_the_topologys():
    topo = load_topology(ROOT / "stack.yaml")
    published = [int(p.split(":")[1]) for s in _compose(topo).values() for p in s.get("ports", [])]
    assert len(published) == len(set(published))
    extra = {3000, 4317, 4318, 16686}  # Grafana and Jaeger: not in the topology
    assert not extra & set(topo.all_ports())
    assert extra <= set(published)
