"""The experiment commands: validate, schema, run, recover."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import typer
from rich.table import Table

from harness.cli.app import ResultsDirOpt, StackDirOpt, StackOpt, app, err, out
from harness.cli.display import make_display
from harness.clients.prometheus import PrometheusClient
from harness.errors import InvalidInput, Issue
from harness.experiment import runner
from harness.experiment.plan import static_problems, target_problems
from harness.experiment.probesupport import topology_probe_problems
from harness.faults import FaultEnv
from harness.faults.base import toxiproxy_of
from harness.probes.checks import CheckResult
from harness.report.rebuild import rebuild
from harness.report.suite import write_suite
from harness.runtime import runtime_for
from harness.runtime.endpoints import endpoints_for
from harness.safety.recover import recover_stack, runtime_to_recover
from harness.specs.experiment import Experiment, json_schema, load_experiment
from harness.specs.topology import Topology, load_topology
from harness.specs.yamlload import Problem

__all__ = ["recover", "report", "run", "run_loaded", "schema", "validate"]


@app.command()
def validate(
    files: list[Path] = typer.Argument(..., help="Experiment files or directories."),
    stack: Path | None = typer.Option(
        None,
        "--stack",
        "-s",
        help="Also check targets against this topology (names, counts, hops) and the "
        "blast radius on it with every replica live: what `run` would refuse, said the same way.",
    ),
) -> None:
    """Check experiment files without a running stack; every issue of every file at once."""
    issues: list[Issue] = []
    check = targets = None
    if stack is not None:
        try:
            topo = load_topology(stack)
            check = partial(_stack_problems, topo=topo)
            targets = partial(target_problems, topo=topo)
        except InvalidInput as exc:
            issues += exc.issues
    loaded = []
    for path in runner.expand_paths(files):
        try:
            loaded.append((path, load_experiment(path, check, targets)))
        except InvalidInput as exc:
            issues += exc.issues
    if issues:
        raise InvalidInput(issues)
    for path, exp in loaded:
        ramp = f", a ramp of {len(exp.ramp.steps)} steps" if exp.ramp is not None else ""
        out.print(f"{path}: ok ({exp.name}: {len(exp.faults)} fault(s){ramp})")


def _stack_problems(exp: Experiment, topo: Topology) -> list[Problem]:
    """What `run` would refuse on this topology: the planner's, and probes it cannot read."""
    return [*static_problems(exp, topo), *topology_probe_problems(exp, topo)]


@app.command()
def schema(
    topology: bool = typer.Option(
        False, "--topology", help="The topology files' schema instead (stack.yaml)."
    ),
) -> None:
    """Print the JSON Schema of experiment files, or of topology files (for editors)."""
    import json

    from harness.specs import topology as topology_spec

    print(json.dumps(topology_spec.json_schema() if topology else json_schema(), indent=2))


@app.command()
def run(
    files: list[Path] = typer.Argument(..., help="Experiment files, or a directory (a suite)."),
    stack: Path = StackOpt,
    run_dir: Path = StackDirOpt,
    runs_dir: Path = ResultsDirOpt,
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
    results = run_loaded(loaded, stack, run_dir, runs_dir, dry_run, seed)
    if len(results) > 1:
        _print_summary(results)
        page = write_suite(runs_dir, results)
        out.print(f"suite report: {page}", markup=False, highlight=False)
    if as_designed:
        off = [r for r in results if r.outcome.verdict != r.designed]
        for r in off:
            err.print(f"{r.name}: {r.outcome.verdict}, designed to be {r.designed}", markup=False)
        raise typer.Exit(1 if off else 0)
    raise typer.Exit(max(r.outcome.exit_code for r in results))


def run_loaded(
    loaded: list[tuple[Path, Experiment]],
    stack: Path,
    run_dir: Path,
    runs_dir: Path,
    dry_run: bool,
    seed: int | None,
) -> list[runner.RunResult]:
    """Run each experiment in turn with a live display; one line each with its verdict."""
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
        ramp = last.outcome.ramp
        said = [r for r in last.outcome.reasons if r.startswith("ramp:")]
        finding = ramp is not None and not said and last.outcome.verdict != "dry run"
        ramp_line = [f"ramp: {ramp.summary()}"] if ramp is not None and finding else []
        for line in [*last.outcome.plan, *last.outcome.reasons, *ramp_line]:
            out.print(f"  {line}", markup=False, highlight=False)
        for line in last.outcome.figures.lines():
            out.print(f"  {line}", markup=False, highlight=False)
        for proof in last.outcome.alerts:
            if proof.ok:  # a failed one is among the reasons already
                out.print(f"  {proof.summary()}", markup=False, highlight=False)
        for burn in last.outcome.budget:
            out.print(f"  budget {burn.summary()}", markup=False, highlight=False)
        for check in last.outcome.checks:
            if check.ok:  # a failed one is among the reasons already
                out.print(f"  {_check_line(check)}", markup=False, highlight=False)
    return results


def _check_line(check: CheckResult) -> str:
    """A check's result: what it verified of the requests its users were acknowledged."""
    verified = f"{check.verified} of {check.acknowledged} acknowledged verified"
    return f"check {check.name}: {check.status} ({verified}, {check.missed} missing)"


@app.command()
def recover(stack: Path = StackOpt, run_dir: Path = StackDirOpt) -> None:
    """Undo whatever a dead run left: toxics, disabled proxies, paused or killed replicas."""
    # the runtime the dead run journaled (the stack's own when no run points here)
    runtime = runtime_to_recover(run_dir, runtime_for(load_topology(stack), stack, run_dir))
    with toxiproxy_of(runtime) as tp:
        report = recover_stack(run_dir, FaultEnv(toxiproxy=tp, runtime=runtime))
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
    # names whole: the other columns wrap first (rich's default would cut the name with …)
    longest = max((len(r.name) for r in results), default=0)
    table.add_column("experiment", min_width=longest, overflow="fold")
    for col in ("verdict", "as designed", "exit", "seconds"):
        table.add_column(col)
    for r in results:
        designed = r.outcome.verdict == r.designed
        mark = "[green]yes[/green]" if designed else f"[red]no (designed: {r.designed})[/red]"
        table.add_row(r.name, r.outcome.verdict, mark, str(r.outcome.exit_code), f"{r.seconds:.0f}")
    out.print(table)
    out.print("reports:")
    for r in results:
        out.print(f"  {r.out_dir / 'report.html'}", markup=False, highlight=False)


@app.command()
def report(
    run_dir: Path = typer.Argument(
        ..., metavar="RUN_DIR", help="One run's results: <results-dir>/<time>-<name>."
    ),
    stack: Path = StackOpt,
) -> None:
    """Rebuild a run's report.html from its journal (also after a crash)."""
    topo = load_topology(stack)
    with PrometheusClient(endpoints_for(topo).prometheus, timeout=5.0) as prom:
        path = rebuild(run_dir, topo, prom)
    out.print(f"wrote {path}", markup=False, highlight=False)
