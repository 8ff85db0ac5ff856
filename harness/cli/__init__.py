"""The `harness` command line: parse, call, print, exit. No logic lives here.

Every HarnessError becomes a one-line message (or one line per issue) and its
exit code, in one place: `main`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from contextlib import nullcontext
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from harness import __version__
from harness.cli.display import make_display
from harness.clients.toxiproxy import ToxiproxyClient
from harness.errors import HarnessError, InvalidInput, Issue
from harness.experiment import runner
from harness.experiment.plan import topology_problems
from harness.faults import FaultEnv
from harness.runtime.compose import compose_files
from harness.runtime.local import control
from harness.runtime.local.runtime import LocalRuntime
from harness.runtime.local.state import StackState
from harness.safety.recover import recover_stack
from harness.specs.experiment import json_schema, load_experiment
from harness.specs.topology import load_topology

app = typer.Typer(
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    # a bug is reported by `main` in one line; never render a traceback with its locals
    pretty_exceptions_enable=False,
    help="Chaos harness: bring up the local shop stack and run experiments against it.",
)
out = Console(soft_wrap=True)  # plain lines stay whole when piped
err = Console(stderr=True)

StackOpt = typer.Option(Path("stack.yaml"), "--stack", "-s", help="The topology file.")
RunDirOpt = typer.Option(Path(".run"), "--run-dir", help="Where the stack keeps its state.")


def _print_version(value: bool) -> None:
    if value:
        out.print(f"harness {_version()}", markup=False, highlight=False)
        raise typer.Exit()


def _version() -> str:
    """The installed distribution's version; the source tree's when it is not installed."""
    try:
        return metadata.version("chaos-harness")
    except metadata.PackageNotFoundError:
        return __version__


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    # bare `harness` is a usage mistake (exit 3), said in one line like the others
    if ctx.invoked_subcommand is None and isinstance(ctx.command, TyperGroup):
        ctx.fail("missing command: one of " + ", ".join(ctx.command.list_commands(ctx)))


@app.command()
def up(stack: Path = StackOpt, run_dir: Path = RunDirOpt) -> None:
    """Start the local stack (idempotent) and print what runs where."""
    with err.status("starting the stack…") if err.is_terminal else nullcontext():
        state, started = control.up(stack, run_dir)
    if not started:
        out.print("[dim]the stack is already up; nothing changed[/dim]")
    _print_table(state, stack)
    _print_urls(state)


@app.command()
def down(run_dir: Path = RunDirOpt) -> None:
    """Stop exactly the processes `up` started (by recorded PID)."""
    state = control.down(run_dir)
    if state is None:
        out.print("nothing to stop: no stack state in " + str(run_dir))
        return
    out.print(f"stopped {len(state.components)} components and the supervisor")


@app.command()
def status(
    stack: Path | None = typer.Option(None, "--stack", "-s"), run_dir: Path = RunDirOpt
) -> None:
    """Show each component, its PID, port, restarts and health."""
    state = control.status(run_dir)
    if state is None:
        out.print(f"the stack is not running (no state in {run_dir}); start it with `harness up`")
        raise typer.Exit(1)
    healthy = _print_table(state, stack)
    if state.phase != "ready" or not healthy:
        raise typer.Exit(1)


@app.command()
def compose(
    stack: Path = StackOpt,
    out_dir: Path = typer.Option(Path("."), "--out", help="Where to write the files."),
    check: bool = typer.Option(False, "--check", help="Only say whether the files are current."),
) -> None:
    """Write docker-compose.yml and compose/* from the topology (the same stack as containers)."""
    files = compose_files(load_topology(stack), out_dir.resolve())
    stale = [
        p
        for p, text in files.items()
        if not (out_dir / p).exists() or (out_dir / p).read_text() != text
    ]
    if check:
        for p in stale:
            err.print(f"{out_dir / p} is not what {stack} generates: run `harness compose`")
        raise typer.Exit(1 if stale else 0)
    for p, text in files.items():
        (out_dir / p).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / p).write_text(text)
        out.print(f"wrote {out_dir / p}")


@app.command()
def validate(
    files: list[Path] = typer.Argument(..., help="Experiment files or directories."),
    stack: Path | None = typer.Option(
        None,
        "--stack",
        "-s",
        help="Also check targets against this topology (names, counts, hops).",
    ),
) -> None:
    """Check experiment files without a running stack; every issue of every file at once."""
    issues: list[Issue] = []
    check = None
    if stack is not None:
        try:
            check = partial(topology_problems, topo=load_topology(stack))
        except InvalidInput as exc:
            issues += exc.issues
    loaded = []
    for path in runner.expand_paths(files):
        try:
            loaded.append((path, load_experiment(path, check)))
        except InvalidInput as exc:
            issues += exc.issues
    if issues:
        raise InvalidInput(issues)
    for path, exp in loaded:
        out.print(f"{path}: ok ({exp.name}: {len(exp.faults)} fault(s))")


@app.command()
def schema() -> None:
    """Print the JSON Schema of experiment files (for editors)."""
    import json

    print(json.dumps(json_schema(), indent=2))


@app.command()
def run(
    files: list[Path] = typer.Argument(..., help="Experiment files, or a directory (a suite)."),
    stack: Path = StackOpt,
    run_dir: Path = RunDirOpt,
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="Where run outputs go."),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Everything before the first injection (load, steady state); print what the "
        "faults would hit; inject nothing. Exit 1 when the steady state would fail.",
    ),
    seed: int | None = typer.Option(None, "--seed", help="Seed for target selection and load."),
    as_designed: bool = typer.Option(
        False,
        "--as-designed",
        help="Exit 0 when every verdict is the experiment's designed_verdict.",
    ),
) -> None:
    """Run experiments; exit 0 held, 1 deviated, 2 aborted, 3 invalid/refused, 4 error."""
    loaded = runner.load_all(files)
    results = []
    for path, exp in loaded:
        display = make_display(out, exp.name)
        try:
            results.append(
                runner.run_one(path, exp, stack, run_dir, runs_dir, display, dry_run, seed)
            )
        finally:
            display.close()
        last = results[-1]
        out.print(
            f"{exp.name}: [bold]{last.outcome.verdict}[/bold] (exit {last.outcome.exit_code}) "
            f"— report {last.out_dir / 'report.html'}"
        )
        for line in [*last.outcome.plan, *last.outcome.reasons]:
            out.print(f"  {line}", markup=False, highlight=False)
    if len(results) > 1:
        _print_summary(results)
    if as_designed:
        off = [r for r in results if r.outcome.verdict != r.designed]
        for r in off:
            err.print(f"{r.name}: {r.outcome.verdict}, designed to be {r.designed}", markup=False)
        raise typer.Exit(1 if off else 0)
    raise typer.Exit(max(r.outcome.exit_code for r in results))


@app.command()
def recover(stack: Path = StackOpt, run_dir: Path = RunDirOpt) -> None:
    """Undo whatever a dead run left: toxics, disabled proxies, paused or killed replicas."""
    topo = load_topology(stack)
    with ToxiproxyClient(f"http://{topo.host}:{topo.toxiproxy.port}") as tp:
        env = FaultEnv(toxiproxy=tp, runtime=LocalRuntime(topo, run_dir))
        report = recover_stack(run_dir, env)
    if report.journal is None:
        out.print("nothing to recover: no run left faults on this stack")
        return
    for line in report.reverted:
        out.print(f"reverted {line}", markup=False)
    for line in report.failed:
        err.print(f"FAILED {line}", markup=False)
    out.print(f"journal: {report.journal}")
    if not report.ok:
        raise typer.Exit(4)


def _print_summary(results: list[runner.RunResult]) -> None:
    table = Table(title="experiment suite")
    for col in ("experiment", "verdict", "as designed", "exit", "seconds"):
        table.add_column(col)
    for r in results:
        designed = r.outcome.verdict == r.designed
        mark = "[green]yes[/green]" if designed else f"[red]no (designed: {r.designed})[/red]"
        table.add_row(r.name, r.outcome.verdict, mark, str(r.outcome.exit_code), f"{r.seconds:.0f}")
    out.print(table)
    out.print("reports:")
    for r in results:
        out.print(f"  {r.out_dir / 'report.html'}", markup=False, highlight=False)


def _print_table(state: StackState, stack: Path | None) -> bool:
    rows = control.health(state, stack if stack and stack.exists() else None)
    sup_alive = state.supervisor().alive()
    table = Table(
        title=f"stack {state.phase} (supervisor pid {state.supervisor_pid}"
        f"{'' if sup_alive else ', NOT RUNNING'})"
    )
    for col in ("component", "pid", "port", "restarts", "health", "log"):
        table.add_column(col)
    for h in rows:
        c = h.component
        mark = (
            "[green]healthy[/green]"
            if h.healthy
            else ("[yellow]alive, not ready[/yellow]" if h.alive else "[red]down[/red]")
        )
        table.add_row(c.name, str(c.pid or "-"), str(c.port), str(c.restarts), mark, _short(c.log))
    out.print(table)
    return sup_alive and all(h.healthy for h in rows)


def _short(path: str) -> str:
    """A log path relative to the working directory when it is below it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def _print_urls(state: StackState) -> None:
    for name, url in state.urls.items():
        out.print(f"  {name:<19} {url}")


USAGE_EXIT = InvalidInput.exit_code  # a usage mistake is invalid input: 3
INTERNAL_EXIT = HarnessError.exit_code  # a bug: 4
ABORTED_EXIT = 130  # Ctrl-C outside a run's fault window (a run exits 4 "interrupted")


def main() -> None:
    """Console-script entry: the one place that turns every outcome into an exit code."""
    try:
        code = app(prog_name="harness", standalone_mode=False)  # returns typer.Exit's code
    except InvalidInput as exc:
        code = _say(*(str(issue) for issue in exc.issues), code=exc.exit_code)
    except HarnessError as exc:
        code = _say(f"error: {exc}", code=exc.exit_code)
    except typer.TyperException as exc:  # click's usage errors: unknown command, bad value…
        code = _usage_error(exc)
    except typer.Exit as exc:
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        code = ABORTED_EXIT
    except Exception as exc:
        if os.environ.get("HARNESS_DEBUG") == "1":
            raise
        code = _internal_error(exc)
    if code == ABORTED_EXIT:  # typer turns a KeyboardInterrupt into Exit(130)
        _say("aborted", code=code)
    sys.exit(code if isinstance(code, int) else 0)


def _say(*lines: str, code: int) -> int:
    """Print lines to stderr as they are (no markup) and return `code`."""
    for line in lines:
        err.print(line, markup=False, highlight=False, soft_wrap=True)
    return code


def _usage_error(exc: typer.TyperException) -> int:
    """What is wrong in one line, then the usage and where to find help."""
    message = " ".join(exc.format_message().split())
    lines = [f"error: {message[:1].lower()}{message[1:]}"]
    ctx = getattr(exc, "ctx", None) or _innermost_context(exc)
    if ctx is not None:
        lines.append(ctx.get_usage())
    lines.append(f"see `{ctx.command_path if ctx else 'harness'} --help`")
    return _say(*lines, code=USAGE_EXIT)


def _innermost_context(exc: BaseException) -> Any:
    """The context of the command being parsed: click's parser leaves some errors without one."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        ctx = tb.tb_frame.f_locals.get("ctx")
        found = ctx if hasattr(ctx, "get_usage") else found
        tb = tb.tb_next
    return found


def _internal_error(exc: Exception) -> int:
    """A bug: one line for the user, the traceback in a file for the report."""
    saved = _save_traceback(exc)
    message = " ".join(str(exc).split())
    return _say(
        f"error: internal error: {type(exc).__name__}: {message} (please report; {saved})",
        code=INTERNAL_EXIT,
    )


def _save_traceback(exc: Exception) -> str:
    """Write the traceback under $HARNESS_TRACEBACK_DIR (or the temp dir); say where."""
    folder = Path(os.environ.get("HARNESS_TRACEBACK_DIR") or tempfile.gettempdir())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="harness-traceback-", suffix=".txt", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("".join(traceback.format_exception(exc)))
    except OSError as write_error:
        return f"the traceback could not be saved: {write_error}"
    return f"traceback in {name}"
