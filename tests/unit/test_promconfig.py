"""Generated Prometheus config against a golden file (regenerate: UPDATE_GOLDEN=1)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.runtime import promconfig
from harness.specs.topology import load_topology

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "prometheus.yml"


def _render() -> str:
    topo = load_topology(ROOT / "stack.yaml")
    text = promconfig.render(promconfig.prometheus_config(topo))
    return text.replace(str(ROOT.resolve()), "<root>")


def test_prometheus_config_matches_golden():
    text = _render()
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_every_replica_is_a_labelled_target():
    topo = load_topology(ROOT / "stack.yaml")
    cfg = promconfig.prometheus_config(topo)
    targets = {
        sc["labels"]["replica"]: sc["targets"][0]
        for job in cfg["scrape_configs"]
        for sc in job["static_configs"]
        if "labels" in sc
    }
    assert targets == {r.name: f"127.0.0.1:{r.port}" for r in topo.replicas}


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool is installed by make install"
)
def test_promtool_accepts_generated_config(tmp_path):
    topo = load_topology(ROOT / "stack.yaml")
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(promconfig.render(promconfig.prometheus_config(topo)))
    am = tmp_path / "alertmanager.yml"
    am.write_text(promconfig.render(promconfig.alertmanager_config(topo)))
    result = subprocess.run(
        ["promtool", "check", "config", str(cfg)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
