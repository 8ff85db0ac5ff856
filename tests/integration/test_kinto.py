"""Chaos for an off-the-shelf service with its own schema, users and metrics: Kinto
(PyPI) on PostgreSQL, two replicas, basic auth, as examples/kinto/stack.yaml runs it.

Kinto takes its settings from KINTO_* variables (`{postgres.url}` per replica), creates
its schema with `kinto migrate` in the topology's `init`, and checks a password on
every request; the example's own experiment files run here unchanged, with the
password in the environment only.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.integration.runs import events, run
from tests.integration.stackfixture import (
    ROOT,
    Stack,
    harness,
    shifted_stack,
    start_stack,
    stop_stack,
)
from tests.waiting import wait_for

pytestmark = pytest.mark.slow

EXAMPLE = ROOT / "examples" / "kinto"
OFFSET = 1000  # 28xxx: the example's own ports are 27xxx; other test stacks use 7xxx-26xxx
BROKEN_OFFSET = 1500  # the stack whose migration fails: 28.5xx-28.9xx
PASSWORD = f"kinto-it-{secrets.token_hex(8)}"
RECORDS = "/v1/buckets/default/collections/orders/records"


@pytest.fixture(scope="module")
def password() -> Iterator[str]:
    """The admin's password, in the environment of every harness command (the init
    creates the account with it; the experiments' load and checks send it)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KINTO_ADMIN_PASSWORD", PASSWORD)
        yield PASSWORD


@pytest.fixture(scope="module")
def kinto(tmp_path_factory, password: str) -> Iterator[Stack]:
    stack = start_stack(tmp_path_factory.mktemp("kinto"), OFFSET, source=EXAMPLE / "stack.yaml")
    try:
        _warm_up(stack, password)
        yield stack
    finally:
        stop_stack(stack)


def _edges(stack: Stack) -> dict[str, str]:
    return {
        link.target: f"http://{stack.topo.host}:{link.listen_port}"
        for link in stack.topo.links
        if link.kind == "edge"
    }


def _warm_up(stack: Stack, password: str) -> None:
    """One write through each replica (its bcrypt check cached, the admin's bucket made)
    and both replicas' own metrics in Prometheus, so the first probe has data."""
    for url in _edges(stack).values():
        resp = httpx.post(
            url + RECORDS, json={"data": {"warm": True}}, auth=("admin", password), timeout=15
        )
        assert resp.status_code == 201, resp.text

    def scraped() -> bool:
        series = stack.promql('kinto_request_summary_total{endpoint=~"default_bucket.*"}')
        return {s["metric"]["replica"] for s in series} == {"kinto-1", "kinto-2"}

    wait_for(scraped, 20, "Kinto's own metrics of both replicas in Prometheus")


@dataclass
class Ran:
    result: subprocess.CompletedProcess[str]
    journal: dict
    out: Path  # the run's outputs: journal, report, junit


@pytest.fixture(scope="module")
def latency_run(kinto: Stack, tmp_path_factory) -> Ran:
    """examples/kinto/experiments/latency-one-replica.yaml, once, for several tests."""
    tmp = tmp_path_factory.mktemp("kinto-latency")
    result, journal = run(kinto, EXAMPLE / "experiments" / "latency-one-replica.yaml", tmp)
    (out,) = (tmp / "runs").iterdir()
    return Ran(result, journal, out)


def test_a_failing_migration_fails_up_with_its_own_log(tmp_path: Path, password: str):
    source = EXAMPLE / "stack.yaml"
    env = dict(yaml.safe_load(source.read_text())["services"]["kinto"]["init"]["env"])
    env["KINTO_STORAGE_URL"] = "postgresql://{postgres.user}@{postgres.address}/no_such_db"
    stack_file = shifted_stack(
        tmp_path / "stack.yaml",
        BROKEN_OFFSET,
        {"services.kinto.init.env": env},
        source,
    )
    run_dir = tmp_path / "run"
    try:
        result = harness("up", "--stack", str(stack_file), "--stack-dir", str(run_dir))
        state = json.loads((run_dir / "state.json").read_text())
    finally:
        harness("down", "--stack-dir", str(run_dir))
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "kinto-init exited with code 1" in out, out
    assert f"the last 20 lines of {run_dir / 'logs' / 'kinto-init.log'}" in out, out
    assert 'database "no_such_db" does not exist' in out, out  # Kinto's own words
    assert "supervisor.log" not in out, out
    comps = {c["name"]: c for c in state["components"]}
    assert comps["kinto-init"]["status"] == "failed" and comps["kinto-init"]["last_exit"] == 1
    assert comps["kinto-1"]["pid"] is None and comps["kinto-2"]["pid"] is None  # never started


def test_the_stack_runs_kinto_migrated_and_scraped(kinto: Stack):
    comps = {c.name: c for c in kinto.state.components}
    assert comps["kinto-init"].status == "done" and comps["kinto-init"].last_exit == 0
    init_log = "\n".join(kinto.log_lines("kinto-init"))
    # created, or found up to date on a cluster an earlier `up` of this run dir left
    assert re.search(r"PostgreSQL storage schema (\(version \d+\)|is up-to-date)", init_log)
    assert "Creating user 'admin'" in init_log
    for name in ("kinto-1", "kinto-2"):
        assert comps[name].status == "running", comps[name]
    # the password is checked: no answer without it, nor with another
    entry = _edges(kinto)["kinto-1"]
    assert httpx.get(entry + RECORDS, timeout=5).status_code == 401
    assert httpx.get(entry + RECORDS, auth=("admin", "wrong"), timeout=5).status_code == 401


def test_the_faulted_replicas_users_see_errors_and_the_others_do_not(latency_run: Ran):
    result, journal = latency_run.result, latency_run.journal
    assert result.returncode == 0, result.stdout + result.stderr
    assert journal["verdict"] == "held", journal["reasons"]
    (applied,) = events(journal, "fault.applying")
    assert applied["action"]["proxy"] == "client_kinto-1"
    during = [e for e in events(journal, "probe") if e["phase"] == "during"]
    judged = {
        name: [e for e in during if e["name"] == name and e.get("judged", True)]
        for name in ("faulted-users-give-up", "spared-users-ok")
    }
    assert all(judged.values()), during  # each judged on windows inside the fault
    assert all(e["status"] == "pass" for evals in judged.values() for e in evals), judged
    assert min(e["value"] for e in judged["faulted-users-give-up"]) > 0.9
    assert max(e["value"] for e in judged["spared-users-ok"]) < 0.05
    by_replica = {t["target"]: t for t in journal["load"]["targets"]}
    assert by_replica["kinto-1"]["errors"] > 0 and by_replica["kinto-2"]["errors"] == 0


def test_every_acknowledged_write_reads_back_with_the_password(latency_run: Ran):
    (check,) = latency_run.journal["checks"]
    assert check["name"] == "acknowledged-records-readable"
    assert check["status"] == "pass", check
    assert check["acknowledged"] > 20 and check["verified"] == check["acknowledged"], check


def test_the_password_is_nowhere_the_harness_writes_or_prints(latency_run: Ran, kinto: Stack):
    token = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()  # the Authorization header
    written = {
        str(p): p.read_bytes().decode(errors="replace")
        for root in (latency_run.out, kinto.run_dir / "logs")
        for p in root.rglob("*")
        if p.is_file()
    }
    written["state.json"] = (kinto.run_dir / "state.json").read_text()
    written["stdout"], written["stderr"] = latency_run.result.stdout, latency_run.result.stderr
    names = {Path(p).name for p in written}
    assert {"journal.json", "report.html", "junit.xml"} <= names, sorted(written)
    leaked = [where for where, text in written.items() if PASSWORD in text or token in text]
    assert not leaked
    # the run's copy of the experiment keeps the reference, resolved only when sent
    assert "${KINTO_ADMIN_PASSWORD}" in (latency_run.out / "experiment.yaml").read_text()


def test_the_report_has_a_panel_with_data_for_everything(latency_run: Ran):
    report = (latency_run.out / "report.html").read_text()
    for dead in ("no data", "no such series", "idle or unscraped", "returned no series"):
        assert dead not in report, dead
    assert "kinto" in report


def test_a_killed_replica_is_back_and_its_writes_are_kept(kinto: Stack, tmp_path: Path):
    before = kinto.state.component("kinto-2").pid
    result, journal = run(kinto, EXAMPLE / "experiments" / "kill-one-replica.yaml", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert journal["verdict"] == "held", journal["reasons"]
    assert kinto.state.component("kinto-2").pid != before
    assert 0 < journal["figures"]["restart_seconds"] < 20
    (check,) = journal["checks"]
    assert check["status"] == "pass" and check["acknowledged"] > 0, check
    assert os.environ["KINTO_ADMIN_PASSWORD"] not in result.stdout + result.stderr
