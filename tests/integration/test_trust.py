"""The rollback path when the control plane or a person misbehaves, on the real stack.

Each test reproduces a failure found in the landed code (issues 6 and 15): Toxiproxy
frozen mid-fault, a hung harness, SIGINT after rollback (answered at once), `recover`
against a live run, the `terminate` fault, and a refusal located at its file:line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from harness.clients.toxiproxy import ToxiproxyClient
from harness.procs import ProcessRef
from harness.safety.journal import read_events, rendered_path
from tests.integration.runs import (
    assert_clean,
    events,
    experiment,
    long_latency,
    run,
    start_run,
)
from tests.integration.stackfixture import Stack, harness
from tests.integration.test_checks import SHOP_CHECKS
from tests.waiting import wait_for


def _recover(stack: Stack):
    return harness("recover", "--stack", str(stack.stack_file), "--stack-dir", str(stack.run_dir))


def _no_toxics(stack: Stack) -> bool:
    with ToxiproxyClient(stack.toxiproxy) as tp:
        return not any(p.toxics for p in tp.proxies().values())


def _journal(jsonl: Path) -> dict:
    return json.loads(rendered_path(jsonl).read_text())


def _phase_started(jsonl: Path, name: str) -> bool:
    return any(e["event"] == "phase.start" and e["phase"] == name for e in read_events(jsonl))


def test_toxiproxy_frozen_mid_fault_loses_its_toxic_as_soon_as_it_is_back(
    stack: Stack, tmp_path: Path
):
    """The battery's case: Toxiproxy frozen mid-fault. The harness aborts, keeps retrying
    the revert (beating, so the watchdog stays out), and removes the toxic within about a
    second of Toxiproxy's return: no gap between a give-up and a takeover."""
    toxiproxy = stack.state.component("toxiproxy").process()
    assert toxiproxy is not None
    proc, jsonl = start_run(stack, long_latency(tmp_path, "tp-frozen"), tmp_path)
    toxiproxy.send(signal.SIGSTOP)
    try:  # frozen until the harness has failed to revert twice (each attempt times out)
        wait_for(lambda: len(_named(jsonl, "fault.revert_failed")) >= 2, 60, "failed reverts")
    finally:
        back = time.time()
        toxiproxy.send(signal.SIGCONT)
    wait_for(lambda: _no_toxics(stack), 10, "the toxic to be removed")
    out, _ = proc.communicate(timeout=120)
    journal = _journal(jsonl)
    assert proc.returncode == 2, out
    assert journal["verdict"] == "aborted", journal["reasons"]
    assert "Toxiproxy unreachable" in journal["abort"]["reason"]
    assert "could not remove 1 fault(s); retrying for up to 30s" in out
    (removed,) = events(journal, "fault.removed")
    assert removed["by"] == "harness"
    assert removed["time"] - back < 1.5, "removed more than a backoff step after the return"
    assert events(journal, "rollback.complete")
    assert not events(journal, "rollback.handed_over")
    assert not events(journal, "watchdog.recovering")
    assert_clean(stack)


def _named(jsonl: Path, name: str) -> list[dict]:
    return [e for e in read_events(jsonl) if e["event"] == name]


def test_a_hung_harness_is_reverted_by_the_watchdog_and_then_stands_down(
    stack: Stack, tmp_path: Path
):
    proc, jsonl = start_run(stack, long_latency(tmp_path, "hung"), tmp_path)
    harness_ref = ProcessRef.of(proc.pid)
    harness_ref.send(signal.SIGSTOP)
    try:
        wait_for(lambda: _no_toxics(stack), 15, "the watchdog to revert a stopped harness")
        takeover = [e for e in read_events(jsonl) if e["event"] == "watchdog.recovering"]
        assert takeover and "stopped" in takeover[0]["reason"]
    finally:
        harness_ref.send(signal.SIGCONT)
    out, _ = proc.communicate(timeout=60)
    journal = _journal(jsonl)
    assert proc.returncode == 2, out
    assert journal["verdict"] == "aborted"
    assert "the watchdog took over" in journal["abort"]["reason"]
    assert_clean(stack)


def test_a_slow_recovery_does_not_wake_the_watchdog_and_sigint_there_exits_4(
    stack: Stack, tmp_path: Path
):
    path = experiment(
        tmp_path,
        "slow-recovery",
        """
        db: {service: orders, percent: 100, hop: database}
    """,
        """
        - {type: refused, target: db, duration: 6s}
    """,
        blast="max_duration: 30s\n  allow_total_outage: true",
    )
    proc, jsonl = start_run(stack, path, tmp_path)
    wait_for(lambda: _phase_started(jsonl, "recovery"), 60, "the recovery phase")
    time.sleep(5.5)  # longer than the watchdog's 5 s stale limit, inside recovery on purpose
    assert not [e for e in read_events(jsonl) if e["event"] == "watchdog.recovering"]
    lines, reader = _timed_lines(proc)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    reader.join(timeout=5)
    assert time.monotonic() - sent < 2.0, "an interrupt after rollback must act at once"
    out = "".join(line for _, line in lines)
    said = [t for t, line in lines if "every fault was rolled back; writing the report" in line]
    assert said and said[0] - sent < 1.0, "Ctrl-C must be answered before the report is written"
    journal = _journal(jsonl)
    assert proc.returncode == 4, out
    assert journal["verdict"] == "interrupted"
    names = [e["event"] for e in journal["events"]]
    assert names.index("rollback.complete") < names.index("watchdog.released")
    assert "every fault was rolled back" in journal["reasons"][0]
    assert_clean(stack)


def _timed_lines(proc: subprocess.Popen[str]) -> tuple[list[tuple[float, str]], threading.Thread]:
    """The process's output lines as they come, each with when it came, and the reader."""
    lines: list[tuple[float, str]] = []
    stdout = proc.stdout
    assert stdout is not None

    def read() -> None:
        for line in stdout:
            lines.append((time.monotonic(), line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


def test_recover_refuses_while_a_live_run_holds_the_lock(stack: Stack, tmp_path: Path):
    proc, jsonl = start_run(stack, long_latency(tmp_path, "live"), tmp_path)
    try:
        refused = _recover(stack)
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert f"pid {proc.pid} (harness run)" in refused.stderr
        assert not _no_toxics(stack), "recover must not touch a live run's faults"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    assert_clean(stack)


def test_terminate_is_restarted_and_nothing_is_lost(stack: Stack, tmp_path: Path):
    before = {c.name: c.pid for c in stack.state.components if c.service == "orders"}
    path = experiment(
        tmp_path,
        "term",
        """
        one-orders: {service: orders, count: 1}
    """,
        """
        - {type: terminate, target: one-orders, start_after: 1s, duration: 6s}
    """,
        expectations=SHOP_CHECKS,
        blast="max_targets: 1\n  max_duration: 30s",
    )
    result, journal = run(stack, path, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (target,) = events(journal, "planned")[0]["replicas"]
    assert stack.state.component(target).pid != before[target]
    assert journal["figures"]["restart_seconds"] < 15
    assert [c["status"] for c in journal["checks"]] == ["pass", "pass"], journal["checks"]
    assert_clean(stack)


def test_a_refused_run_is_journaled_and_a_suite_goes_on(stack: Stack, tmp_path: Path):
    suite = tmp_path / "suite"
    suite.mkdir()
    experiment(
        suite,
        "a-refused",
        """
        all-orders: {service: orders, percent: 100}
    """,
        """
        - {type: latency, target: all-orders, latency_ms: 50, duration: 2s}
    """,
        blast="max_duration: 30s",
    )
    experiment(
        suite,
        "b-fine",
        """
        one-catalog: {service: catalog, count: 1}
    """,
        """
        - {type: latency, target: one-catalog, latency_ms: 50, duration: 2s}
    """,
        blast="max_targets: 1\n  max_duration: 30s",
    )
    result, _ = run(stack, suite, tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "experiment suite" in result.stdout
    verdicts = {
        json.loads(j.read_text())["experiment"]: json.loads(j.read_text())["verdict"]
        for j in (tmp_path / "runs").glob("*/journal.json")
    }
    assert verdicts == {"a-refused": "refused", "b-fine": "held"}
    # refused at its file:line, in the words `validate --stack` uses for the same file
    refused = suite / "a-refused.yaml"
    said = (
        f"{refused}:7: targets.all-orders.percent: blast radius: every live orders replica "
        "would be hit; set allow_total_outage: true to allow a total outage"
    )
    (journal,) = [
        json.loads(j.read_text())
        for j in (tmp_path / "runs").glob("*/journal.json")
        if json.loads(j.read_text())["experiment"] == "a-refused"
    ]
    assert journal["reasons"] == [said]
    checked = harness("validate", "--stack", str(stack.stack_file), str(refused))
    assert checked.returncode == 3 and checked.stderr.strip() == said
    assert len(list((tmp_path / "runs").glob("*/junit.xml"))) == 2
    assert os.path.exists(stack.run_dir / "experiment.lock")
    assert_clean(stack)
