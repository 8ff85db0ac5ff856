"""Jaeger in the local stack: its topology section, its component, its configuration,
and what the replicas are told about it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.errors import InvalidInput, PreflightError
from harness.rundir import RunDir
from harness.runtime.local import binaries
from harness.runtime.local.binaries import Binaries
from harness.runtime.local.components import build_components
from harness.runtime.local.jaegerconfig import jaeger_config, otlp_endpoint, query_url, render
from harness.runtime.local.supervisor import _urls
from harness.specs.topology import Topology, load_topology
from harness.specs.yamlload import parse_model

ROOT = Path(__file__).resolve().parents[2]
TOPO = load_topology(ROOT / "stack.yaml")
BINS = Binaries(*(Path(f"/bin/{n}") for n in ("tp", "pg", "initdb", "prom", "am", "jaeger")))


def _without_jaeger(topo: Topology) -> Topology:
    return topo.model_copy(update={"jaeger": topo.jaeger.model_copy(update={"enabled": False})})


def test_the_shop_runs_jaeger_on_its_own_ports():
    j = TOPO.jaeger
    assert j.enabled
    assert (j.otlp_grpc_port, j.otlp_http_port, j.query_port) == (19317, 19318, 19686)
    for port in j.ports():
        assert port in TOPO.all_ports()
    assert 19686 not in _without_jaeger(TOPO).all_ports()


def test_a_jaeger_port_that_clashes_is_refused_at_load():
    text = (ROOT / "stack.yaml").read_text().replace("  query_port: 19686", "  query_port: 19090")
    with pytest.raises(InvalidInput, match="ports used twice: 19090"):
        parse_model(text, "stack.yaml", Topology)
    off = text.replace("jaeger:\n", "jaeger:\n  enabled: false\n")
    assert not parse_model(off, "stack.yaml", Topology).jaeger.enabled


def test_jaeger_starts_before_the_apps_and_is_ready_by_its_health_check(tmp_path):
    run = RunDir(tmp_path / ".run")
    comps = {c.name: c for c in build_components(TOPO, run, BINS)}
    jaeger = comps["jaeger"]
    assert jaeger.kind == "jaeger"
    assert jaeger.argv == ("/bin/jaeger", "--config", str(tmp_path / ".run/config/jaeger.yaml"))
    assert jaeger.port == 19133
    assert jaeger.ready_url == "http://127.0.0.1:19133/-/ready"
    apps = [c for c in comps.values() if c.kind == "app"]
    assert all(jaeger.tier < c.tier for c in apps)
    assert _urls(TOPO)["jaeger"] == "http://127.0.0.1:19686" == query_url(TOPO)


def test_every_replica_exports_to_the_stacks_jaeger_and_samples_everything(tmp_path):
    comps = build_components(TOPO, RunDir(tmp_path), BINS)
    for app in (c for c in comps if c.kind == "app"):
        assert app.env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:19318"
        assert app.env["OTEL_TRACES_SAMPLER"] == "always_on"
        assert app.env["OTEL_SERVICE_NAME"] == app.service  # the topology's own env stays
    assert otlp_endpoint(TOPO) == "http://127.0.0.1:19318"


def test_the_topologys_env_wins_and_without_jaeger_nothing_is_added(tmp_path):
    data = yaml.safe_load((ROOT / "stack.yaml").read_text())
    data["x-shop-app"]["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4318"
    own = Topology.model_validate(data)
    gateway = next(
        c for c in build_components(own, RunDir(tmp_path), BINS) if c.name == "gateway-1"
    )
    assert gateway.env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:4318"
    comps = build_components(_without_jaeger(TOPO), RunDir(tmp_path), BINS)
    assert "jaeger" not in {c.name for c in comps}
    assert not any("OTEL_EXPORTER_OTLP_ENDPOINT" in c.env for c in comps)


def test_a_missing_jaeger_binary_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("JAEGER_BINARY", str(tmp_path / "nope"))
    monkeypatch.setattr(binaries, "_bin_dirs", lambda root: [tmp_path])
    with pytest.raises(PreflightError, match=r"^jaeger not found: run `make install`"):
        binaries.find_jaeger(tmp_path)
    # Binaries without one (a topology without Jaeger): no component, nothing exported
    no_jaeger = Binaries(*(Path(f"/bin/{n}") for n in ("tp", "pg", "initdb", "prom", "am")))
    comps = build_components(TOPO, RunDir(tmp_path), no_jaeger)
    assert "jaeger" not in {c.name for c in comps}
    assert not any("OTEL_EXPORTER_OTLP_ENDPOINT" in c.env for c in comps)


def test_the_supervisor_reports_a_missing_binary_through_the_state_file(monkeypatch, tmp_path):
    from harness.runtime.local import supervisor
    from harness.runtime.local.state import read_state

    def missing(root, jaeger=False):
        raise PreflightError("jaeger not found: run `make install` (it installs what is missing)")

    monkeypatch.setattr(supervisor, "find_binaries", missing)
    run = tmp_path / ".run"
    assert supervisor.main(["--stack", str(ROOT / "stack.yaml"), "--run-dir", str(run)]) == 1
    state = read_state(run / "state.json")
    assert state is not None and state.phase == "failed"
    assert state.error == "jaeger not found: run `make install` (it installs what is missing)"


def test_the_config_listens_on_loopback_only_and_keeps_jaeger_quiet():
    config = jaeger_config(TOPO)
    endpoints = [
        config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"],
        config["receivers"]["otlp"]["protocols"]["http"]["endpoint"],
        config["extensions"]["jaeger_query"]["http"]["endpoint"],
        config["extensions"]["jaeger_query"]["grpc"]["endpoint"],
        config["extensions"]["healthcheckv2"]["http"]["endpoint"],
    ]
    assert endpoints == [f"127.0.0.1:{p}" for p in TOPO.jaeger.ports()]
    telemetry = config["service"]["telemetry"]
    # traces on: Jaeger exports its own spans to localhost:4317 and stalls ~10 s on shutdown;
    # metrics on: it takes 127.0.0.1:8888, which two stacks cannot share
    assert telemetry["traces"]["level"] == telemetry["metrics"]["level"] == "none"
    assert config["extensions"]["jaeger_query"]["enable_tracing"] is False
    assert config["extensions"]["jaeger_storage"]["backends"]["memstore"] == {
        "memory": {"max_traces": 100_000}
    }
    assert yaml.safe_load(render(config)) == config


def test_an_ipv6_host_is_bracketed():
    six = TOPO.model_copy(update={"host": "::1"})
    assert jaeger_config(six)["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "[::1]:19318"
    assert otlp_endpoint(six) == "http://[::1]:19318"


def test_the_httpbin_example_does_not_clash_with_the_shop():
    example = load_topology(ROOT / "examples" / "httpbin" / "stack.yaml")
    assert not set(example.all_ports()) & set(TOPO.all_ports())
