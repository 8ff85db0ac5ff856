"""Alertmanager's generated config routes by severity to the harness's webhook receiver,
which the local stack starts before Alertmanager and compose runs as a container."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.errors import InvalidInput
from harness.rundir import RunDir
from harness.runtime import promconfig
from harness.runtime.compose import compose_files
from harness.runtime.local.binaries import Binaries
from harness.runtime.local.components import build_components
from harness.runtime.local.supervisor import _urls
from harness.specs.topology import Topology, load_topology
from harness.specs.yamlload import parse_model

ROOT = Path(__file__).resolve().parents[2]
TOPO = load_topology(ROOT / "stack.yaml")


def _amtool() -> str | None:
    """amtool ships with Alertmanager (Debian: prometheus-alertmanager); None when neither is
    installed, and a failure when Alertmanager is there without it."""
    alertmanager = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if alertmanager is None:
        return None
    found = shutil.which("amtool")
    assert found, f"{alertmanager} is installed but amtool is not: install prometheus-alertmanager"
    return found


def _route(config_file: Path, *labels: str) -> str:
    amtool = _amtool()
    if amtool is None:
        pytest.skip("Alertmanager is not installed (make install)")
    result = subprocess.run(
        [amtool, "config", "routes", "test", f"--config.file={config_file}", *labels],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def config_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("am") / "alertmanager.yml"
    path.write_text(promconfig.render(promconfig.alertmanager_config(TOPO)))
    return path


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=page"], "page"),
        (["severity=ticket"], "ticket"),
        (["severity=info"], "default"),
        (["alertname=Anything"], "default"),
        (["alertname=ShopHighErrorRatio", "severity=page", "service=gateway"], "page"),
        # Sloth's SLO alerts carry only sloth_severity; an explicit severity wins
        (["alertname=ShopAvailabilitySLO", "sloth_severity=page"], "page"),
        (["alertname=ShopAvailabilitySLO", "sloth_severity=ticket"], "ticket"),
        (["severity=ticket", "sloth_severity=page"], "ticket"),
        (["severity=info", "sloth_severity=page"], "default"),
    ],
)
def test_amtool_routes_by_severity(config_file, labels, receiver):
    assert _route(config_file, *labels) == receiver


def test_amtool_accepts_the_committed_compose_config():
    _route(ROOT / "compose" / "alertmanager.yml", "severity=page")
    result = subprocess.run(
        [_amtool() or "amtool", "check-config", str(ROOT / "compose" / "alertmanager.yml")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_receiver_is_a_webhook_to_the_local_receiver_with_resolved():
    config = promconfig.alertmanager_config(TOPO)
    hooks = {r["name"]: r["webhook_configs"] for r in config["receivers"]}
    assert hooks == {
        name: [{"url": f"http://127.0.0.1:19094/hooks/{name}", "send_resolved": True}]
        for name in ("page", "ticket", "default")
    }


def test_route_timing_and_grouping():
    route = promconfig.alertmanager_config(TOPO)["route"]
    assert route["receiver"] == "default"
    assert route["group_by"] == ["..."]  # every distinct alert is its own group
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == (
        "1s",
        "1s",
        "1h",
    )


def test_address_places_the_receiver():
    config = promconfig.alertmanager_config(TOPO, address=lambda name, port: f"{name}:{port}")
    assert config["receivers"][0]["webhook_configs"][0]["url"] == (
        "http://alert-receiver:19094/hooks/page"
    )
    shifted = TOPO.model_copy(
        update={"alertmanager": TOPO.alertmanager.model_copy(update={"receiver_port": 24094})}
    )
    url = promconfig.alertmanager_config(shifted)["receivers"][2]["webhook_configs"][0]["url"]
    assert url == "http://127.0.0.1:24094/hooks/default"


def test_an_ipv6_host_is_bracketed():
    v6 = TOPO.model_copy(update={"host": "::1"})
    url = promconfig.alertmanager_config(v6)["receivers"][0]["webhook_configs"][0]["url"]
    assert url == "http://[::1]:19094/hooks/page"


# -- the topology, the local stack and compose ----------------------------------------


def test_receiver_port_is_checked_for_clashes():
    assert TOPO.alertmanager.receiver_port in TOPO.all_ports()
    text = (ROOT / "stack.yaml").read_text()
    clash = text.replace("  port: 19093\n", "  port: 19093\n  receiver_port: 19090\n")
    with pytest.raises(InvalidInput, match="ports used twice: 19090"):
        parse_model(clash, "stack.yaml", Topology)
    bad = text.replace("  port: 19093\n", "  port: 19093\n  receiver_port: 0\n")
    with pytest.raises(InvalidInput, match="receiver_port"):
        parse_model(bad, "stack.yaml", Topology)


def test_the_local_stack_starts_the_receiver_before_alertmanager(tmp_path):
    run = RunDir(tmp_path / ".run")
    bins = Binaries(*(Path(f"/bin/{n}") for n in ("tp", "pg", "initdb", "prom", "am")))
    comps = {c.name: c for c in build_components(TOPO, run, bins)}
    receiver = comps["alert-receiver"]
    assert receiver.kind == "receiver"
    assert receiver.tier < comps["alertmanager"].tier
    assert receiver.argv == (
        sys.executable,
        "-m",
        "harness.alerts.receiver",
        "--host",
        "127.0.0.1",
        "--port",
        "19094",
        "--out",
        str(tmp_path / ".run" / "alerts" / "notifications.jsonl"),
    )
    assert receiver.ready_url == "http://127.0.0.1:19094/-/ready"
    assert _urls(TOPO)["alert_receiver"] == "http://127.0.0.1:19094"
    run.ensure()
    assert run.notifications.parent.is_dir()


def test_compose_runs_the_receiver_and_alertmanager_calls_it_by_name():
    files = compose_files(TOPO, ROOT)
    services = yaml.safe_load(files["docker-compose.yml"])["services"]
    receiver = services["alert-receiver"]
    assert receiver["image"] == services["gateway-1"]["image"]
    assert receiver["command"][:3] == ["python", "-m", "harness.alerts.receiver"]
    assert receiver["ports"] == ["127.0.0.1:19094:19094"]
    assert "alert-receiver" in services["alertmanager"]["depends_on"]
    config = yaml.safe_load(files["compose/alertmanager.yml"])
    assert {r["webhook_configs"][0]["url"] for r in config["receivers"]} == {
        f"http://alert-receiver:19094/hooks/{n}" for n in ("page", "ticket", "default")
    }


def test_a_new_stack_forgets_what_alertmanager_notified_but_keeps_its_silences(tmp_path):
    # an alert firing at the last `down` would otherwise count as notified after `up`
    run = RunDir(tmp_path / ".run")
    run.ensure()
    (run.alertmanager_data / "nflog").write_bytes(b"notified")
    (run.alertmanager_data / "silences").write_bytes(b"kept")
    run.forget_notifications()
    assert not (run.alertmanager_data / "nflog").exists()
    assert (run.alertmanager_data / "silences").read_bytes() == b"kept"
    run.forget_notifications()  # nothing to forget is fine
