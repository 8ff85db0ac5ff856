"""`harness schedule` against a real stack of its own (ports +6000): a fast schedule runs
a tiny experiment and records it; a slot is skipped because an alert really fires (a
catalog replica frozen with SIGSTOP: ReplicaDown) or because the previous run was unclean;
SIGTERM ends the loop between runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness.schedule.history import read_entries
from tests.integration.runs import experiment
from tests.integration.stackfixture import ROOT, Stack, start_stack, stop_stack
from tests.waiting import wait_for

# the schedule commands, registered whether or not harness/cli/__init__.py imports them yet
ENTRY = "import sys, harness.cli.schedule; from harness.cli import main; sys.argv[0] = 'harness'; main()"
SCHEDULE = [sys.executable, "-c", ENTRY, "schedule"]


@pytest.fixture(scope="module")
def sched_stack(tmp_path_factory) -> Stack:
    running = start_stack(tmp_path_factory.mktemp("schedule-stack"), offset=6000)
    yield running
    stop_stack(running)


def schedule(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SCHEDULE, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT,
        env={**os.environ, "COLUMNS": "250"},
    )  # fmt: skip


def schedule_file(
    tmp: Path, stack: Stack, suite: Path, extra: str = "", cron: str = "* * * * *"
) -> Path:
    path = tmp / "schedule.yaml"
    path.write_text(
        f"""version: harness/v1
kind: schedule
name: fast
suite: [{suite}]
cron: "{cron}"
timezone: Europe/Berlin
stack: {stack.stack_file}
run_dir: {stack.run_dir}
runs_dir: {tmp / "runs"}
{extra}"""
    )
    return path


def tiny(tmp: Path) -> Path:
    return experiment(
        tmp,
        "tiny",
        "one-orders: {service: orders, count: 1}",
        "- {type: latency, target: one-orders, latency_ms: 50, duration: 3s}",
        blast="max_targets: 1\n  max_duration: 30s",
    )


def test_a_fast_schedule_runs_a_tiny_experiment_and_records_it(sched_stack: Stack, tmp_path: Path):
    path = schedule_file(
        tmp_path, sched_stack, tiny(tmp_path), "skip_when: {previous_unclean: true}\n"
    )
    result = schedule("run", str(path), "--once", "--now")
    assert result.returncode == 0, result.stdout + result.stderr
    (entry,) = read_entries(tmp_path / "runs")
    assert entry.decision == "ran" and entry.exit_code == 0 and entry.clean
    (run,) = entry.experiments
    assert (run.name, run.verdict) == ("tiny", "held")
    assert Path(run.report).is_file()
    assert "ran, exit 0 (tiny held)" in result.stdout
    listed = schedule("history", str(path))
    assert listed.returncode == 0 and "tiny: held" in listed.stdout and "ran" in listed.stdout


def test_a_refused_run_makes_the_next_slot_skip_as_unclean(sched_stack: Stack, tmp_path: Path):
    too_wide = experiment(
        tmp_path,
        "too-wide",
        "orders: {service: orders, count: 2}",
        "- {type: latency, target: orders, latency_ms: 50, duration: 3s}",
        blast="max_targets: 1\n  max_duration: 30s",
    )
    extra = "max_runs: 2\nskip_when: {previous_unclean: true}\n"
    path = schedule_file(tmp_path, sched_stack, too_wide, extra)
    result = schedule("run", str(path), "--now", "--every-seconds", "1")
    assert result.returncode == 3, result.stdout + result.stderr  # the refused run's code
    first, second = read_entries(tmp_path / "runs")
    assert first.decision == "ran" and first.experiments[0].verdict == "refused"
    assert second.decision == "skipped"
    assert second.reason.startswith(f"previous run unclean: slot {first.slot} exit 3")
    # acknowledged, the next slot runs again (and is refused again: the file is still too wide)
    assert schedule("ack", str(path), "--reason", "looked at it").returncode == 0
    again = schedule("run", str(path), "--once", "--now")
    assert again.returncode == 3 and read_entries(tmp_path / "runs")[-1].decision == "ran"


def test_a_firing_alert_skips_the_slot(sched_stack: Stack, tmp_path: Path):
    path = schedule_file(
        tmp_path,
        sched_stack,
        tiny(tmp_path),
        "skip_when: {alerts_firing: {alertname: ReplicaDown}}\n",
    )
    frozen = sched_stack.state.component("catalog-2").process()
    assert frozen.send(signal.SIGSTOP)
    try:
        query = 'ALERTS{alertname="ReplicaDown",alertstate="firing",replica="catalog-2"}'
        wait_for(lambda: sched_stack.promql(query), 60, "ReplicaDown to fire for catalog-2", 0.5)
        result = schedule("run", str(path), "--once", "--now")
    finally:
        frozen.send(signal.SIGCONT)
    assert result.returncode == 0, result.stdout + result.stderr
    (entry,) = read_entries(tmp_path / "runs")
    assert entry.decision == "skipped" and entry.experiments == []
    assert entry.reason.startswith("alert firing: ReplicaDown{severity=ticket"), entry.reason
    assert "skipped — alert firing: ReplicaDown" in result.stdout
    wait_for(lambda: not sched_stack.promql(query), 60, "ReplicaDown to resolve", 0.5)


def test_sigterm_ends_the_loop_between_runs(sched_stack: Stack, tmp_path: Path):
    path = schedule_file(tmp_path, sched_stack, tiny(tmp_path), cron="0 0 1 1 *")
    proc = subprocess.Popen(
        [*SCHEDULE, "run", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # printed once checked, before the (long) wait
        assert first.startswith("schedule fast: slots on"), first
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=10)
        stdout = first + stdout
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stdout + stderr
    assert f"stopped by signal {int(signal.SIGTERM)} between runs" in stdout
    assert read_entries(tmp_path / "runs") == []
