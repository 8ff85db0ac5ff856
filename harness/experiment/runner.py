"""Run experiment files against the local stack and write their outputs.

The CLI calls `run_files`; it builds one RunContext per experiment, runs the engine,
then writes junit.xml and report.html beside the journal in runs/<time>-<name>/ —
for every experiment, refused ones included, so a suite goes on and says why.
"""

from __future__ import annotations

import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from harness.clients.prometheus import PrometheusClient
from harness.dashboards.annotations import Annotator
from harness.errors import HarnessError, InvalidInput, Issue
from harness.experiment.run import Display, Outcome, RunContext, run_experiment
from harness.faults import FaultEnv
from harness.faults.base import toxiproxy_of
from harness.report import write_junit
from harness.report.html import Provenance, write_html
from harness.rundir import RunDir
from harness.runtime import runtime_for
from harness.safety.journal import JOURNAL_FILE, Journal, run_start
from harness.specs.experiment import Experiment, load_experiment
from harness.specs.topology import load_topology
from harness.traces import report_rows
from harness.version import version

__all__ = ["RunResult", "expand_paths", "load_all", "run_one"]


@dataclass(frozen=True)
class RunResult:
    source: Path
    name: str
    outcome: Outcome
    out_dir: Path
    seconds: float
    designed: str = "held"


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given; directories expand to their *.yaml/*.yml files, sorted."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
        else:
            out.append(p)
    if not out:
        raise InvalidInput(
            [Issue(", ".join(map(str, paths)), None, "", "no experiment files found")]
        )
    return out


def load_all(paths: list[Path]) -> list[tuple[Path, Experiment]]:
    """Validate every file; raise one InvalidInput with every issue of every file."""
    loaded, issues = [], []
    for path in expand_paths(paths):
        try:
            loaded.append((path, load_experiment(path)))
        except InvalidInput as exc:
            issues += exc.issues
    if issues:
        raise InvalidInput(issues)
    return loaded


def run_one(
    source: Path,
    exp: Experiment,
    stack_file: Path,
    stack_run_dir: Path,
    runs_dir: Path,
    display: Display,
    dry_run: bool = False,
    seed: int | None = None,
) -> RunResult:
    topo = load_topology(stack_file)
    run = RunDir(stack_run_dir)
    run_id = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)
    out_dir = runs_dir / f"{run_id}-{exp.slug}"
    out_dir.mkdir(parents=True, exist_ok=True)
    seed = seed if seed is not None else secrets.randbelow(2**31)
    runtime = runtime_for(topo, stack_file, stack_run_dir)
    experiment_text = _copy_as_run(source, out_dir)
    journal = Journal.create(
        out_dir / JOURNAL_FILE,
        "harness",
        runtime=runtime.describe(),
        run_id=run_id,
        experiment=exp.name,
        source=str(source),
        seed=seed,
        hypothesis=exp.hypothesis,
        dry_run=dry_run,
        started=time.time(),
        harness_version=version(),
        git_commit=git_commit(),
        stack_file=str(stack_file.resolve()),
    )
    with (
        PrometheusClient(runtime.endpoints().prometheus, timeout=2.0) as prom,
        toxiproxy_of(runtime) as tp,
    ):
        env = FaultEnv(toxiproxy=tp, runtime=runtime)
        ctx = RunContext(
            exp=exp,
            source=source,
            topo=topo,
            stack_file=stack_file.resolve(),
            stack_run=run,
            out_dir=out_dir,
            run_id=run_id,
            journal=journal,
            prom=prom,
            env=env,
            display=display,
            seed=seed,
            dry_run=dry_run,
            annotator=None if dry_run else Annotator.from_env(),
        )
        started = time.time()
        outcome = run_experiment(ctx)  # never raises: refusals and errors are verdicts
        seconds = time.time() - started
        write_junit(out_dir / "junit.xml", exp.name, outcome, seconds)
        services = ctx.plan.services if ctx.plan else []
        events = journal.events
        provenance = Provenance.of(
            run_start(events),
            events,
            experiment_text=experiment_text,
            stack_file=str(stack_file.resolve()),
            topology=topo.summary(),
        )
        result = ctx.load_result
        records = result.records if result is not None else []
        offset = result.offset if result is not None else 0.0
        # never raises for Jaeger: a row says why it has no critical path
        traces = report_rows(records, outcome.fault_windows, topo, offset=offset)
        try:
            write_html(
                out_dir / "report.html",
                exp,
                outcome,
                events,
                prom,
                run_id,
                started,
                services,
                topo.entry_service(),
                records=records,
                offset=offset,
                provenance=provenance,
                traces=traces,
                topo=topo,
            )
        except (HarnessError, OSError) as exc:  # the verdict and junit.xml stand without it
            outcome.reasons.append(f"report.html could not be written: {exc}")
    return RunResult(source, exp.name, outcome, out_dir, seconds, exp.designed_verdict)


def _copy_as_run(source: Path, out_dir: Path) -> str:
    """The experiment file as run, kept beside its journal (the source may change)."""
    try:
        text = source.read_text()
    except OSError:
        return ""
    (out_dir / "experiment.yaml").write_text(text)
    return text


def git_commit() -> str | None:
    """The commit of the harness's own checkout, if it is one (bounded: 2 s)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        done = subprocess.run(  # noqa: S603 — a fixed argv, no shell
            ["git", "-C", str(root), "rev-parse", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None
