"""The stack commands: up, down, status, compose."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import typer
from rich.table import Table

from harness.cli.app import StackDirOpt, StackOpt, app, err, out, write_generated
from harness.errors import InvalidInput, Issue
from harness.runtime.compose import compose_files
from harness.runtime.local import control
from harness.runtime.local.state import ComponentState, StackState, failure_text
from harness.specs.topology import load_topology

__all__ = ["compose", "down", "status", "up"]

# `status` and `down` read the topology from the run directory's state; given, it is used
StackSeenOpt = typer.Option(
    None,
    "--stack",
    "-s",
    help="The topology file the stack was started from (default: the one `up` recorded).",
)


@app.command()
def up(stack: Path = StackOpt, run_dir: Path = StackDirOpt) -> None:
    """Start the local stack (idempotent) and print what runs where."""
    _refuse_cluster(stack, "up")
    with err.status("starting the stack…") if err.is_terminal else nullcontext():
        state, started = control.up(stack, run_dir)
    if not started:
        out.print("[dim]the stack is already up; nothing changed[/dim]")
    _print_table(state, stack)
    _print_urls(state)


@app.command()
def down(stack: Path | None = StackSeenOpt, run_dir: Path = StackDirOpt) -> None:
    """Stop exactly the processes `up` started (by recorded PID)."""
    _refuse_cluster(stack, "down")
    state = control.down(run_dir, stack)
    if state is None:
        out.print("nothing to stop: no stack state in " + str(run_dir))
        return
    out.print(f"stopped {len(state.components)} components and the supervisor")


@app.command()
def status(stack: Path | None = StackSeenOpt, run_dir: Path = StackDirOpt) -> None:
    """Show each component, its PID, port, restarts and health; after a failed `up`, what
    failed and the end of its log."""
    _refuse_cluster(stack, "status")
    state = control.status(run_dir)
    if state is None:
        out.print(f"the stack is not running (no state in {run_dir}); start it with `harness up`")
        raise typer.Exit(1)
    healthy = _print_table(state, stack)
    if state.phase == "failed":
        out.print(failure_text(state), markup=False, highlight=False)
    if state.phase != "ready" or not healthy:
        raise typer.Exit(1)


@app.command()
def compose(
    stack: Path = StackOpt,
    out_dir: Path = typer.Option(Path("."), "--out", help="Where to write the files."),
    check: bool = typer.Option(False, "--check", help="Only say whether the files are current."),
) -> None:
    """Write docker-compose.yml and compose/* from the topology (the same stack as containers)."""
    _refuse_cluster(stack, "compose")
    files = compose_files(load_topology(stack), out_dir.resolve())
    write_generated({out_dir / p: text for p, text in files.items()}, check, "harness compose")


def _refuse_cluster(stack: Path | None, command: str) -> None:
    """The stack commands run a local stack; a cluster runs a kubernetes topology's."""
    if stack is None or not stack.exists():
        return  # `up` reports a missing file itself; down/status read the recorded one
    try:
        runtime = load_topology(stack).runtime
    except InvalidInput:
        return  # `up` reports it; down and status never need a valid file to stop a stack
    if runtime == "kubernetes":
        message = (
            f"kubernetes: the cluster runs this topology's services and stack; "
            f"`harness {command}` is for a local stack (run experiments against the cluster)"
        )
        raise InvalidInput([Issue(str(stack), None, "runtime", message)])


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
            ("[green]done[/green]" if c.status == "done" else "[green]healthy[/green]")
            if h.healthy
            else ("[yellow]alive, not ready[/yellow]" if h.alive else "[red]down[/red]")
        )
        port = str(c.port) if c.port is not None else "-"
        table.add_row(c.name, str(c.pid or "-"), port, str(c.restarts), mark, _short(c.log))
    out.print(table)
    for c in (h.component for h in rows):
        if note := _note(c):
            out.print(f"  {c.name}: {note}", markup=False, highlight=False, soft_wrap=True)
    return sup_alive and all(h.healthy for h in rows)


def _note(comp: ComponentState) -> str:
    """Why it failed, or why it was last restarted (an exit, a failed liveness)."""
    if comp.status == "failed" and comp.error:
        return f"failed: {comp.error}"
    return f"last restart: {comp.last_restart}" if comp.last_restart else ""


def _short(path: str) -> str:
    """A log path relative to the working directory when it is below it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def _print_urls(state: StackState) -> None:
    for name, url in state.urls.items():
        out.print(f"  {name:<19} {url}")
