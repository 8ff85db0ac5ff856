"""The schedule commands: run a suite on a cron schedule, list its history, print it for
cron or systemd, acknowledge an unclean run."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from harness.cli.app import app, err, out
from harness.cli.experiments import run_loaded
from harness.errors import InvalidInput, Issue
from harness.experiment.runner import RunResult
from harness.schedule.history import Entry, append, clear_inflight, read_entries
from harness.schedule.loop import Clock, Options, Stop, prepare, run_schedule, stop_on_signals
from harness.schedule.render import Invocation, crontab, systemd_units
from harness.schedule.spec import ScheduleFile, load_schedule
from harness.specs.experiment import Experiment

__all__ = ["ack", "history", "print_", "run", "schedule_app"]

schedule_app = typer.Typer(
    help="Run a suite on a cron schedule within allowed windows; skip when unsafe."
)
app.add_typer(schedule_app, name="schedule")
REPO = Path(__file__).resolve().parents[2]
FileArg = typer.Argument(..., help="A schedule file (version: harness/v1, kind: schedule).")


@schedule_app.command()
def run(
    file: Path = FileArg,
    once: bool = typer.Option(False, "--once", help="Handle one slot, then exit."),
    now: bool = typer.Option(False, "--now", help="The first slot is now, not the next cron time."),
    every: float | None = typer.Option(None, "--every-seconds", hidden=True, min=1),
) -> None:
    """Wait for each cron time in the allowed window, check the skip conditions, run the suite.

    With --once it handles one slot — the cron time just passed (up to 60 s ago, for cron or systemd starting it) or else the next — and exits with the highest exit code of its experiments (0 when skipped). SIGINT/SIGTERM stop the loop between runs (exit 0); during a run they end it "interrupted" after rollback, and the loop stops. Every slot is a line in <runs_dir>/schedule-history.jsonl.
    """  # noqa: E501 — one line per paragraph, so the help wraps to the terminal
    spec = load_schedule(file)
    setup = prepare(spec, file)
    stop = Stop()
    with stop_on_signals(stop):  # before the first line: a signal after it must be ours
        out.print(_starting(spec, once, now), markup=False, highlight=False)
        entries = run_schedule(
            setup, _runner(spec), Options(once, now, every=every), Clock(), stop, _say
        )
    if stop:
        out.print(f"stopped by signal {stop.signum} between runs", markup=False)
    raise typer.Exit(max((e.exit_code for e in entries), default=0))


def _starting(spec: ScheduleFile, once: bool, now: bool) -> str:
    when = "now" if now else f'on "{spec.cron}"'
    slots = "one slot" if once else "slots"
    return f"schedule {spec.name}: {slots} {when}, allowed {spec.window().describe()}"


def _runner(spec: ScheduleFile) -> Callable[[Path, Experiment], RunResult]:
    def run_one(path: Path, exp: Experiment) -> RunResult:
        stack, stack_run, runs = Path(spec.stack), Path(spec.run_dir), Path(spec.runs_dir)
        return run_loaded([(path, exp)], stack, stack_run, runs, False, None)[0]

    return run_one


def _say(entry: Entry) -> None:
    if entry.decision == "skipped":
        out.print(f"slot {entry.slot}: skipped — {entry.reason}", markup=False, highlight=False)
        return
    verdicts = ", ".join(f"{e.name} {e.verdict}" for e in entry.experiments) or "nothing run"
    extra = f" — {entry.reason}" if entry.reason else ""
    out.print(
        f"slot {entry.slot}: ran, exit {entry.exit_code} ({verdicts}){extra}",
        markup=False,
        highlight=False,
    )


@schedule_app.command()
def history(
    file: Path | None = typer.Argument(None, help="A schedule file: its runs_dir."),
    runs_dir: Path = typer.Option(
        Path("runs"),
        "--results-dir",
        help="Without FILE: the results directory whose schedule-history.jsonl to read.",
    ),
    last: int = typer.Option(20, "--last", "-n", min=1, help="How many slots to show."),
) -> None:
    """The last slots of a schedule: when, ran or skipped and why, verdicts, reports."""
    where = Path(load_schedule(file).runs_dir) if file else runs_dir
    entries = read_entries(where)[-last:]
    if not entries:
        out.print(f"no scheduled runs recorded in {where}", markup=False, highlight=False)
        return
    out.print(_table(entries, where))


def _table(entries: list[Entry], where: Path) -> Table:
    table = Table(title=f"schedule history ({where})")
    for col in ("slot", "schedule", "decision", "exit", "verdicts", "reason / reports"):
        table.add_column(col, overflow="fold")
    for e in entries:
        colour = "green" if e.decision != "skipped" and e.clean else "yellow"
        colour = "red" if e.decision == "ran" and not e.clean else colour
        verdicts = "\n".join(f"{r.name}: {r.verdict}" for r in e.experiments)
        notes = "\n".join([*([e.reason] if e.reason else []), *(r.report for r in e.experiments)])
        table.add_row(
            e.slot, e.schedule, f"[{colour}]{e.decision}[/{colour}]", str(e.exit_code),
            verdicts, notes,
        )  # fmt: skip
    return table


@schedule_app.command("print")
def print_(
    file: Path = FileArg,
    as_crontab: bool = typer.Option(False, "--crontab", help="A crontab line."),
    as_systemd: bool = typer.Option(False, "--systemd", help="A .service and a .timer unit."),
) -> None:
    """Print the schedule as a crontab line or a systemd .service and .timer.

    Each calls `harness schedule run FILE --once`, which still enforces the allowed window and the skip checks.
    """  # noqa: E501 — one line per paragraph, so the help wraps to the terminal
    if as_crontab == as_systemd:
        raise InvalidInput([Issue("print", None, "", "give one of --crontab, --systemd")])
    spec = load_schedule(file)
    local = REPO / ".venv" / "bin" / "harness"
    how = Invocation(spec.name, file.resolve(), REPO, str(local) if local.exists() else "harness")
    render = crontab if as_crontab else systemd_units
    print(render(spec.cron, spec.timezone, how))


@schedule_app.command()
def ack(
    file: Path = FileArg,
    reason: str = typer.Option(..., "--reason", help="Why the next run may go ahead."),
) -> None:
    """Acknowledge an unclean run: `previous_unclean` lets the next slot run again."""
    spec = load_schedule(file)
    runs = Path(spec.runs_dir)
    stamp = datetime.now(spec.zone()).isoformat(timespec="seconds")
    append(runs, Entry(stamp, time.time(), spec.name, "acknowledged", reason=reason))
    clear_inflight(runs)
    err.print(f"acknowledged in {runs}: the next slot may run", markup=False, highlight=False)
