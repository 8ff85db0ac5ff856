"""The `harness` command line: parse, call, print, exit. No logic lives here.

Every HarnessError becomes a one-line message (or one line per issue) and its
exit code, in one place: `main`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from harness.errors import HarnessError, InvalidInput
from harness.stack import control
from harness.stack.state import StackState

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Chaos harness: bring up the local shop stack and run experiments against it.",
)
out = Console()
err = Console(stderr=True)

StackOpt = typer.Option(Path("stack.yaml"), "--stack", "-s", help="The topology file.")
RunDirOpt = typer.Option(Path(".run"), "--run-dir", help="Where the stack keeps its state.")


@app.command()
def up(stack: Path = StackOpt, run_dir: Path = RunDirOpt) -> None:
    """Start the local stack (idempotent) and print what runs where."""
    with err.status("starting the stack…") if err.is_terminal else _nothing():
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
        table.add_row(c.name, str(c.pid or "-"), str(c.port), str(c.restarts), mark, c.log)
    out.print(table)
    return sup_alive and all(h.healthy for h in rows)


def _print_urls(state: StackState) -> None:
    for name, url in state.urls.items():
        out.print(f"  {name:<19} {url}")


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def main() -> None:
    """Console-script entry: map HarnessError to its message and exit code."""
    try:
        app(standalone_mode=False)
    except InvalidInput as exc:
        for issue in exc.issues:
            err.print(str(issue), markup=False, highlight=False)
        sys.exit(exc.exit_code)
    except HarnessError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        sys.exit(130)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code if exc.exit_code != 2 else 3)
        raise
