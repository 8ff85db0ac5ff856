"""Chaos for a service nobody here wrote: httpbin (PyPI) under gunicorn, two replicas,
plus an external service the harness did not start — examples/httpbin/stack.yaml.

Nothing here imports or starts the sample shop: if the harness still assumed it, the
stack would not come up or the experiments would not resolve.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.clients.toxiproxy import ToxiproxyClient
from harness.runtime.readiness import replica_ready, tcp_open
from tests.integration.runs import events, experiment, run
from tests.integration.stackfixture import ROOT, Stack, harness, start_stack, stop_stack
from tests.waiting import wait_for

EXAMPLE = ROOT / "examples" / "httpbin"
OFFSET = 2000  # 23xxx: beside the shop's test stack (13xxx) and a developer's (18xxx)

USERS_OK = """
  - {name: users-ok, metric: error_ratio, window: 2s, op: "<", threshold: 0.02}
"""


@pytest.fixture(scope="module")
def external() -> Iterator[int]:
    """The "legacy" service: something already running that the harness must not touch."""
    port = 21300 + OFFSET
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: tcp_open("127.0.0.1", port), 15, "the external service")
    yield port
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def own(tmp_path_factory, external: int) -> Iterator[Stack]:
    stack = start_stack(tmp_path_factory.mktemp("httpbin"), OFFSET, source=EXAMPLE / "stack.yaml")
    yield stack
    stop_stack(stack)


def _load(url: str, path: str = "/get") -> str:
    return f"""
load:
  target: {{url: "{url}"}}
  rate: 20
  routes:
    - {{method: GET, path: {path}}}
"""


def _entry(stack: Stack, replica: str) -> str:
    link = next(lk for lk in stack.topo.links if lk.kind == "edge" and lk.target == replica)
    return f"http://127.0.0.1:{link.listen_port}"


def _assert_clean(stack: Stack) -> None:
    with ToxiproxyClient(stack.toxiproxy) as tp:
        proxies = tp.proxies()
    assert all(p.enabled and not p.toxics for p in proxies.values()), proxies
    for r in stack.topo.launched:
        wait_for(lambda r=r: replica_ready(stack.topo, r), 30, f"{r.name} ready")
    assert not (stack.run_dir / "active-run.json").exists()


def test_the_stack_runs_someone_elses_service_and_nothing_of_the_shop(own: Stack):
    status = harness("status", "--stack-dir", str(own.run_dir), "--stack", str(own.stack_file))
    assert status.returncode == 0, status.stdout + status.stderr
    comps = {c.name: c for c in own.state.components}
    assert {"httpbin-1", "httpbin-2"} <= set(comps)
    assert "postgres" not in comps and "legacy-1" not in comps  # not needed; not ours
    state = (own.run_dir / "state.json").read_text()
    assert "sample_app" not in state
    with ToxiproxyClient(own.toxiproxy) as tp:
        assert set(tp.proxies()) == {"client_httpbin-1", "client_httpbin-2", "client_legacy-1"}


def test_latency_on_one_replica_hits_only_its_link(own: Stack, tmp_path: Path):
    path = experiment(
        tmp_path,
        "httpbin-latency",
        "one: {replicas: [httpbin-1], hop: edge}",
        "- {type: latency, target: one, latency_ms: 200, duration: 5s}",
        steady=USERS_OK,
        load=_load(_entry(own, "httpbin-1")),
        blast="max_targets: 1\n  max_duration: 30s",
    )
    result, journal = run(own, path, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (applied,) = events(journal, "fault.applying")
    assert applied["action"]["proxy"] == "client_httpbin-1"
    assert journal["load"]["errors"] == 0
    assert journal["load"]["p99_ms"] > 200, journal["load"]  # the fault reached the users
    _assert_honest_report(tmp_path)
    _assert_clean(own)


def _assert_honest_report(tmp: Path) -> None:
    """httpbin exports no metrics (signals: none) and no traces: its report says so, once
    each, and charts its traffic from Toxiproxy, with no dead panel and no "idle or
    unscraped"."""
    (page,) = (tmp / "runs").glob("*/report.html")
    html = page.read_text()
    assert "no such series" not in html and "idle or unscraped" not in html
    assert "no data: Prometheus returned no series" not in html
    assert html.count("httpbin exports no metrics of its own: no request-rate") == 1
    assert "httpbin: bytes per second through each proxy in front of it (Toxiproxy)" in html
    assert "<svg" in html.split("httpbin: bytes per second through each proxy")[1][:2000]
    assert html.count("httpbin sends no spans to the trace backend") == 1
    assert "not in Jaeger" not in html


def test_kill_one_replica_is_restarted_and_measured(own: Stack, tmp_path: Path):
    before = own.state.component("httpbin-2").pid
    path = experiment(
        tmp_path,
        "httpbin-kill",
        "two: {replicas: [httpbin-2]}",
        "- {type: kill, target: two, duration: 6s}",
        steady=USERS_OK,
        load=_load(_entry(own, "httpbin-1")),
        blast="max_targets: 1\n  max_duration: 30s",
    )
    result, journal = run(own, path, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert own.state.component("httpbin-2").pid != before
    assert 0 < journal["figures"]["restart_seconds"] < 15
    _assert_clean(own)


def test_a_process_fault_on_the_external_service_is_refused(own: Stack, tmp_path: Path):
    path = experiment(
        tmp_path,
        "legacy-kill",
        "legacy: {service: legacy}",
        "- {type: kill, target: legacy, duration: 5s}",
        steady=USERS_OK,
        load=_load(_entry(own, "legacy-1"), "/"),
        blast="max_duration: 30s\n  allow_total_outage: true",
    )
    result, journal = run(own, path, tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert journal["verdict"] == "refused"
    assert "external service was not started by the harness" in result.stdout
    assert not events(journal, "fault.applying")


def test_a_network_fault_on_the_external_service_works(own: Stack, tmp_path: Path):
    path = experiment(
        tmp_path,
        "legacy-refused",
        "legacy: {service: legacy, hop: edge}",
        "- {type: refused, target: legacy, duration: 3s}",
        steady=USERS_OK,
        load=_load(_entry(own, "legacy-1"), "/"),
        blast="max_duration: 30s\n  allow_total_outage: true",
    )
    result, journal = run(own, path, tmp_path)
    # requests through the disabled proxy fail; the steady state after proves recovery
    assert result.returncode == 0, result.stdout + result.stderr
    assert events(journal, "fault.applied") and events(journal, "fault.removed")
    assert journal["load"]["errors"] > 0
    _assert_clean(own)


def test_blast_radius_is_enforced_on_someone_elses_service(own: Stack, tmp_path: Path):
    path = experiment(
        tmp_path,
        "httpbin-all",
        "all: {service: httpbin, percent: 100, hop: edge}",
        "- {type: latency, target: all, latency_ms: 100, duration: 3s}",
        steady=USERS_OK,
        load=_load(_entry(own, "httpbin-1")),
        blast="max_duration: 30s",
    )
    result, journal = run(own, path, tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "allow_total_outage" in result.stdout
    assert not events(journal, "fault.applying")


def test_the_example_files_validate_against_their_topology():
    result = harness(
        "validate",
        str(EXAMPLE / "experiments"),
        "--stack",
        str(EXAMPLE / "stack.yaml"),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_spread_load_goes_through_both_replicas_edges_and_counts_each(own: Stack, tmp_path: Path):
    marker = f"spread-{tmp_path.name}"  # this test's requests, in the replicas' access logs
    load = f"""
load:
  target: {{service: httpbin, spread: true}}
  rate: 20
  routes:
    - {{method: GET, path: /anything/{marker}}}
"""
    path = experiment(
        tmp_path,
        "httpbin-spread",
        "two: {replicas: [httpbin-2], hop: edge}",
        "- {type: refused, target: two, duration: 3s}",
        steady=USERS_OK,
        load=load,
        blast="max_targets: 1\n  max_duration: 30s",
    )
    result, journal = run(own, path, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (started,) = events(journal, "load.started")
    assert started["targets"] == [
        {"target": r, "url": _entry(own, r)} for r in ("httpbin-1", "httpbin-2")
    ]
    one, two = journal["load"]["targets"]
    assert (one["target"], two["target"]) == ("httpbin-1", "httpbin-2")
    assert abs(one["requests"] - two["requests"]) <= 1  # one each in turn
    assert one["errors"] == 0 and two["errors"] > 0, journal["load"]  # only its edge refused
    for replica, stats in (("httpbin-1", one), ("httpbin-2", two)):
        served = [line for line in own.log_lines(replica) if marker in line]
        assert len(served) >= stats["requests"] - stats["errors"] > 0, replica
    (page,) = (tmp_path / "runs").glob("*/report.html")
    assert f"through httpbin-2's edge proxy: {two['errors']} errors" in page.read_text()
    _assert_clean(own)


def test_an_authenticated_check_takes_its_token_from_the_environment_and_shows_it_nowhere(
    own: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """httpbin's /bearer answers 401 without a token: a check with one verifies every
    acknowledged write, a check without one "could not authenticate" (an error, no write
    lost); httpbin echoes the token back in every POST's body, and still it appears in no
    file of the run and nowhere in what the harness printed."""
    token = "tok-9d1c-only-in-the-environment"
    monkeypatch.setenv("HTTPBIN_TOKEN", token)  # the harness subprocess inherits it
    entry = _entry(own, "httpbin-1")
    load = f"""
load:
  target: {{url: "{entry}"}}
  rate: 20
  routes:
    - method: POST
      path: /post
      headers: {{Authorization: "Bearer ${{HTTPBIN_TOKEN}}"}}
      json: {{id: "{{uuid}}", n: "{{seq}}"}}
"""
    read = "from: {path: /post}\n      request: {path: /bearer}"
    path = experiment(
        tmp_path,
        "httpbin-bearer",
        "one: {replicas: [httpbin-1], hop: edge}",
        "- {type: latency, target: one, latency_ms: 50, duration: 2s}",
        steady=USERS_OK,
        load=load,
        expectations=f"""
checks:
  - name: with-token
    http:
      {read}
      headers: {{Authorization: "Bearer ${{HTTPBIN_TOKEN}}"}}
  - name: without-token
    http:
      {read}
""",
        blast="max_targets: 1\n  max_duration: 30s",
    )
    result, journal = run(own, path, tmp_path)
    assert result.returncode == 4, result.stdout + result.stderr  # the check's error
    with_token, without = (e for e in journal["events"] if e["event"] == "check")
    assert (with_token["status"], with_token["missed"]) == ("pass", 0)
    assert with_token["verified"] == with_token["acknowledged"] > 0
    assert (without["status"], without["missed"], without["verified"]) == ("error", 0, 0)
    assert without["detail"].startswith(
        f"check could not authenticate (HTTP 401 from {entry}/bearer)"
    )
    for file in (tmp_path / "runs").rglob("*"):
        assert not file.is_file() or token not in file.read_text(errors="replace"), file
    assert token not in result.stdout + result.stderr
    assert "${HTTPBIN_TOKEN}" in (next((tmp_path / "runs").glob("*/experiment.yaml"))).read_text()
    _assert_clean(own)
