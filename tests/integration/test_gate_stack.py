"""`harness gate --run` on the range of a real run against the stack's Prometheus."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.runs import experiment, run
from tests.integration.stackfixture import Stack, harness


def test_gate_over_a_runs_range_cites_its_queries(stack: Stack, tmp_path: Path) -> None:
    path = experiment(
        tmp_path,
        "gate-benign",
        "one-catalog: {service: catalog, count: 1}",
        "- {type: latency, target: one-catalog, latency_ms: 20, duration: 15s}",
        blast="max_targets: 1\n  max_duration: 30s",
    )
    result, journal = run(stack, path, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = sorted((tmp_path / "runs").glob("*gate-benign"))[-1]
    # objectives of this run's range only (the demo period's budget holds whatever the
    # session's other tests burnt)
    spec = tmp_path / "gate.yaml"
    spec.write_text(
        "version: harness/v1\nkind: gate\nobjectives:\n"
        "  - {name: sli, indicator: sli, slo: requests-availability, key: true,\n"
        '     pass: [{op: ">=", threshold: objective}]}\n'
        "  - {name: latency, indicator: sli, slo: requests-latency,\n"
        '     pass: [{op: ">=", threshold: objective}]}\n'
    )
    gated = harness(
        "gate",
        "--stack",
        str(stack.stack_file),
        "--run",
        str(out),
        "--gate",
        str(spec),
        "--json",
        str(tmp_path / "gate.json"),
        "--markdown",
        str(tmp_path / "gate.md"),
    )
    assert gated.returncode == 0, gated.stdout + gated.stderr
    data = json.loads((tmp_path / "gate.json").read_text())
    assert data["verdict"] == "pass" and data["score"] == 100.0
    assert (data["start"], data["end"]) == (journal["started"], journal["finished"])
    assert data["requests"] >= 100, data
    seconds = round(journal["finished"] - journal["started"])
    assert all(f"[{seconds}s]" in o["query"] for o in data["objectives"])
    assert f":{stack.topo.prometheus.port}" in data["prometheus"]
    assert "## Release gate: ✅ PASS" in (tmp_path / "gate.md").read_text()
