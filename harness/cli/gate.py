"""`harness gate`: may this release ship? Pass, warn, fail or inconclusive from SLOs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.table import Table

from harness.alerts.floor import prom_seconds
from harness.cli.app import StackOpt, app, err, out
from harness.clients.prometheus import PrometheusClient
from harness.errors import InvalidInput, Issue, StackError
from harness.gate import GateResult, default_gate, evaluate, load_gate
from harness.gate.evaluate import Baseline
from harness.gate.indicators import Scope
from harness.gate.ranges import parse_time, run_range, since_range
from harness.gate.render import EXIT_CODES, markdown, stamp, write_json, write_junit
from harness.runtime.endpoints import endpoints_for
from harness.slo import load_slo_file
from harness.specs.topology import Topology, load_topology

__all__ = ["gate"]

_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "inconclusive": "magenta"}


@app.command()
def gate(
    slo_files: list[Path] = typer.Argument(
        None, help="SLO files (Sloth prometheus/v1); default: the stack's `slo.files`."
    ),
    stack: Path = StackOpt,
    prometheus: str | None = typer.Option(
        None, "--prometheus", help="Any Prometheus (a staging or canary one): no stack needed."
    ),
    gate_file: Path | None = typer.Option(
        None, "--gate", help="Objectives and criteria (default: one made from the SLOs)."
    ),
    since: str | None = typer.Option(None, "--since", help="The last 30m, 1h, 7d, ..."),
    start: str | None = typer.Option(None, "--start", help="Unix seconds or RFC 3339."),
    end: str | None = typer.Option(None, "--end", help="Unix seconds or RFC 3339 (default now)."),
    run: Path | None = typer.Option(
        None,
        "--run",
        help="One run's results (<results-dir>/<time>-<name>), or a results directory: "
        "a suite's range.",
    ),
    baseline: Path | None = typer.Option(
        None, "--baseline", help="A previous gate result (--json) to compare with."
    ),
    compare_to: str | None = typer.Option(
        None, "--compare-to", help="The same range this long before: 1d, 1w."
    ),
    window_scale: float | None = typer.Option(
        None,
        "--window-scale",
        help="Windows and period scaled like the stack's rules (default: the stack's; "
        "1 with --prometheus).",
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Write the result (JSON)."),
    junit: Path | None = typer.Option(None, "--junit", help="Write JUnit XML."),
    markdown_out: Path | None = typer.Option(None, "--markdown", help="Write Markdown."),
    strict: bool = typer.Option(False, "--strict", help="A warning exits 2 (else 0)."),
) -> None:
    """Decide from SLOs whether a release may ship: pass, warn, fail or inconclusive.

    Per objective it reads the SLI, the error budget left, burn rates or any PromQL over the range, and cites the query, the value, the threshold and the time. No data is never a pass: too few requests, too many objectives without data, or an objective without data (policy `inconclusive`, the default) make the gate inconclusive.

    Exit codes: 0 pass (and warn without --strict), 1 fail, 2 warn with --strict, 3 inconclusive (or invalid input), 4 error (Prometheus unreachable).
    """  # noqa: E501 — one line per paragraph, so the help wraps to the terminal
    topo = load_topology(stack) if (prometheus is None or not slo_files) else None
    files = slo_files or (list(topo.slo.files) if topo else [])
    if not files:
        raise InvalidInput([Issue(str(stack), None, "slo.files", "no SLO files: name some")])
    slos = [load_slo_file(p) for p in files]
    spec = load_gate(gate_file) if gate_file else default_gate(slos)
    problems = spec.check_slos(slos, str(gate_file or "the default gate"))
    if problems:
        raise InvalidInput([Issue(p, None, "", "") for p in problems])
    first, last = _range(since, start, end, run)
    scale = _scale(window_scale, prometheus, topo)
    url = prometheus or (endpoints_for(topo).prometheus if topo is not None else "")
    with PrometheusClient(url, timeout=10.0) as prom:
        if not prom.ready():
            raise StackError(f"Prometheus at {url} is not ready: no verdict")
        period = _period(topo)
        scope = Scope(prom, first, last, scale, period)
        base, source = _baseline(baseline, compare_to, scope)
        result = evaluate(spec, slos, scope, base, source)
    _print(result)
    if json_out:
        write_json(json_out, result)
    if junit:
        write_junit(junit, result)
    if markdown_out:
        markdown_out.write_text(markdown(result))
    code = EXIT_CODES[result.verdict]
    raise typer.Exit(0 if code == 2 and not strict else code)


def _range(
    since: str | None, start: str | None, end: str | None, run: Path | None
) -> tuple[float, float]:
    given = [n for n, v in (("--since", since), ("--start", start), ("--run", run)) if v]
    if len(given) != 1:
        raise InvalidInput(
            [Issue("range", None, "", "give exactly one of --since, --start (with --end), --run")]
        )
    if since:
        return since_range(since)
    if run:
        first, last, _names = run_range(run)
        return first, last
    assert start is not None
    first = parse_time(start, "--start")
    last = parse_time(end, "--end") if end else time.time()
    if last <= first:
        raise InvalidInput([Issue("--end", None, "", "must be after --start")])
    return first, last


def _scale(given: float | None, prometheus: str | None, topo: Topology | None) -> float:
    if given is not None:
        if not 0 < given <= 1:
            raise InvalidInput([Issue("--window-scale", None, "", "must be in (0, 1]")])
        return given
    if prometheus is None and topo is not None:
        return topo.slo.window_scale
    return 1.0


def _period(topo: Topology | None) -> str:
    return topo.slo.period if topo is not None else "30d"


def _baseline(path: Path | None, compare_to: str | None, scope: Scope) -> tuple[Baseline, str]:
    if path and compare_to:
        raise InvalidInput([Issue("--baseline", None, "", "give --baseline or --compare-to")])
    if compare_to:
        try:
            seconds = prom_seconds(compare_to)
        except ValueError:
            raise InvalidInput(
                [Issue("--compare-to", None, "", f"{compare_to!r}: use 1d, 1w, 12h")]
            ) from None
        return scope.shifted(seconds), f"the same range {compare_to} earlier"
    if path is None:
        return None, ""
    try:
        data = json.loads(path.read_text())
        values = {o["name"]: o["value"] for o in data["objectives"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(
            [Issue(str(path), None, "", f"not a gate result (--json): {exc}")]
        ) from None
    return values, f"{path} ({stamp(data.get('start', 0))} → {stamp(data.get('end', 0))})"


def _print(result: GateResult) -> None:
    table = Table(title=f"release gate {stamp(result.start)} → {stamp(result.end)}")
    for col in ("objective", "status", "value", "criteria", "weight"):
        table.add_column(col)
    for o in result.objectives:
        colour = _STYLE.get(o.status, "dim")
        value = "no data" if o.value is None else f"{o.value:.6g}"
        criteria = "; ".join(c.text() for c in o.criteria)
        name = f"{o.name} (key)" if o.key else o.name
        table.add_row(name, f"[{colour}]{o.status}[/{colour}]", value, criteria, f"{o.weight:g}")
    out.print(table)
    for line in result.reasons:
        out.print(f"  {line}", markup=False, highlight=False)
    score = "—" if result.score is None else f"{result.score:.1f}%"
    requests = "no" if result.requests is None else f"{result.requests:.0f}"
    colour = _STYLE[result.verdict]
    out.print(
        f"verdict: [bold {colour}]{result.verdict}[/bold {colour}] (score {score}, "
        f"{requests} requests, Prometheus {result.prometheus})"
    )
    if result.verdict == "inconclusive":
        err.print("no data is never a pass: inconclusive", markup=False)
