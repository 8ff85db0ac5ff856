"""What `harness run` prints at the end: each run's findings (checks too, when it held),
and a suite table that shows every experiment's name whole."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from harness.cli import experiments as cli_experiments
from harness.experiment import runner
from harness.outcome import Outcome
from harness.probes.checks import CheckResult

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "experiments" / "orders-latency-one-replica.yaml"


def _check(name: str, status: str, verified: int, missed: int) -> CheckResult:
    return CheckResult(
        name=name,
        kind="http",
        status=status,  # type: ignore[arg-type]
        acknowledged=verified + missed,
        verified=verified,
        missed=missed,
        unanswered=0,
        missing=tuple(f"key-{i}" for i in range(missed)),
        detail=f"{name}: {verified} of {verified + missed} acknowledged verified",
        evidence="GET /orders/{id}",
        time=0.0,
        seconds=0.1,
    )


@pytest.fixture
def printed(monkeypatch) -> io.StringIO:
    """The CLI's output console, captured at a fixed width as when piped."""
    buffer = io.StringIO()
    monkeypatch.setattr(cli_experiments, "out", Console(file=buffer, width=80, soft_wrap=True))
    return buffer


def _result(name: str, outcome: Outcome, designed: str = "held") -> runner.RunResult:
    return runner.RunResult(GOOD, name, outcome, Path("runs") / name, 12.0, designed)


def test_a_held_run_prints_each_check_with_its_counts_and_status(monkeypatch, printed):
    outcome = Outcome(
        verdict="held", checks=[_check("acknowledged-orders-readable", "pass", 57, 0)]
    )
    monkeypatch.setattr(runner, "run_one", lambda *args: _result("orders-kill-one", outcome))
    loaded = runner.load_all([GOOD])
    cli_experiments.run_loaded(loaded, Path("stack.yaml"), Path(".run"), Path("runs"), False, None)
    lines = printed.getvalue().splitlines()
    assert (
        "  check acknowledged-orders-readable: pass (57 of 57 acknowledged verified, 0 missing)"
        in lines
    )


def test_a_failed_check_is_said_once_among_the_reasons(monkeypatch, printed):
    failed = _check("acknowledged-orders-stored", "fail", 50, 7)
    outcome = Outcome(
        verdict="deviated",
        reasons=[f"check {failed.name}: {failed.detail}"],
        checks=[failed, _check("acknowledged-orders-readable", "pass", 57, 0)],
    )
    monkeypatch.setattr(runner, "run_one", lambda *args: _result("orders-kill-one", outcome))
    cli_experiments.run_loaded(
        runner.load_all([GOOD]), Path("stack.yaml"), Path(".run"), Path("runs"), False, None
    )
    text = printed.getvalue()
    assert sum("acknowledged-orders-stored" in line for line in text.splitlines()) == 1
    assert "check acknowledged-orders-readable: pass (57 of 57" in text


def test_a_kill_run_prints_each_figure_once(monkeypatch, printed):
    outcome = Outcome(verdict="held")
    outcome.figures.restart_seconds = 2.31
    outcome.figures.rollback_seconds = 0.012
    monkeypatch.setattr(runner, "run_one", lambda *args: _result("orders-kill-one", outcome))
    cli_experiments.run_loaded(
        runner.load_all([GOOD]), Path("stack.yaml"), Path(".run"), Path("runs"), False, None
    )
    lines = printed.getvalue().splitlines()
    assert lines.count("  instance killed → replacement ready: 2.31 s") == 1
    assert lines.count("  abort/end decision → every fault removed: 0.012 s") == 1


def test_the_suite_table_shows_every_name_whole(printed):
    names = [
        "orders-database-outage-pages",
        "a-third-party-service-loses-its-database-on-one-replica",
        "short",
    ]
    results = [_result(n, Outcome(verdict="deviated")) for n in names]
    cli_experiments._print_summary(results)
    rows = [line for line in printed.getvalue().splitlines() if "deviated" in line]
    assert len(rows) == len(names)
    for name, row in zip(names, rows, strict=True):
        assert f" {name} " in row
    assert "…" not in printed.getvalue()


def test_the_alert_coverage_table_cuts_no_name():
    from harness.alerts.coverage import Row
    from harness.cli.alerts import _coverage_table

    rows = [
        Row("ShopHighErrorRatioOnTheCheckoutPathWhenTheDatabaseIsGone", "page", "unproven"),
        Row("ReplicaDown", "ticket", "proven", "a-third-party-service-loses-its-database-too"),
    ]
    buffer = io.StringIO()
    Console(file=buffer, width=80).print(_coverage_table(rows))
    text = buffer.getvalue()
    assert "…" not in text
    folded = "".join(line.strip("│ ").split("│")[0].strip() for line in text.splitlines())
    assert "ShopHighErrorRatioOnTheCheckoutPathWhenTheDatabaseIsGone" in folded
