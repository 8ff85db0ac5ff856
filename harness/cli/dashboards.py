"""The dashboards commands: `dashboards generate`, `dashboards lint`, `dashboards push`."""

from __future__ import annotations

from pathlib import Path

import typer

from harness.cli.app import StackOpt, app, err, out, write_generated
from harness.clients.prometheus import PrometheusClient, PrometheusError
from harness.dashboards.files import dashboard_files
from harness.dashboards.lint import Board, Finding, load_boards
from harness.dashboards.lint import lint as static_findings
from harness.dashboards.live import Window, empty_panels
from harness.errors import InvalidInput, Issue
from harness.runtime.endpoints import endpoints_for
from harness.specs.durations import parse_duration
from harness.specs.topology import load_topology

__all__ = ["dashboards_app", "generate", "lint", "push"]

DEFAULT_DIR = Path("dashboards")
DEFAULT_SCRAPE = 15.0  # Prometheus's own default, for a --prometheus without a stack file

dashboards_app = typer.Typer(help="Grafana dashboards: generate them, lint them, push them.")
app.add_typer(dashboards_app, name="dashboards")


@dashboards_app.command()
def generate(
    stack: Path = StackOpt,
    out_dir: Path = typer.Option(DEFAULT_DIR, "--out", help="Where to write the files."),
    check: bool = typer.Option(False, "--check", help="Only say whether the files are current."),
) -> None:
    """Write the dashboards (golden signals, SLOs, chaos) and Grafana's provisioning files."""
    files = {out_dir / rel: text for rel, text in dashboard_files(load_topology(stack)).items()}
    write_generated(files, check, "harness dashboards generate")


@dashboards_app.command()
def lint(
    paths: list[Path] = typer.Argument(
        None, help="Dashboard files or folders (default: dashboards)."
    ),
    stack: Path = StackOpt,
    prometheus: str | None = typer.Option(
        None,
        "--prometheus",
        help="Evaluate every panel here (default: the stack's, if it answers).",
    ),
    offline: bool = typer.Option(False, "--offline", help="Only the static rules."),
    scrape_interval: str | None = typer.Option(
        None, "--scrape-interval", help="For $__rate_interval (default: the stack's, else 15s)."
    ),
) -> None:
    """Lint dashboards with grafana's dashboard-linter rules, and check no panel is empty.

    Static rules: a templated $datasource, job/instance variables where queries match on them, every panel titled with a unit and a datasource, every query parses, rates over $__rate_interval. Live: every panel query, evaluated over the last 15 minutes, returns series.

    Exit codes: 0 no finding, 1 findings, 3 bad input, 4 Prometheus (given with --prometheus) unreachable.
    """  # noqa: E501 — one line per paragraph, so the help wraps to the terminal
    boards = load_boards(paths or [DEFAULT_DIR])
    findings: list[Finding] = static_findings(boards)
    url = None if offline else (prometheus or _stack_prometheus(stack))
    if url is not None:
        findings += _live(boards, url, _scrape_seconds(scrape_interval, stack), prometheus)
    for finding in findings:
        out.print(str(finding), markup=False, highlight=False)
    count = len(findings)
    out.print(f"{len(boards)} dashboards, {count} finding{'s' * (count != 1)}", markup=False)
    raise typer.Exit(1 if findings else 0)


def _live(boards: list[Board], url: str, scrape: float, given: str | None) -> list[Finding]:
    with PrometheusClient(url) as client:
        if not client.ready():
            if given is not None:
                raise PrometheusError(f"Prometheus at {url} does not answer")
            err.print(
                f"live checks skipped: no Prometheus answers at {url} "
                "(start the stack, or give --prometheus)",
                markup=False,
            )
            return []
        return empty_panels(boards, client, Window.last(scrape))


def _stack_prometheus(stack: Path) -> str | None:
    if not stack.is_file():
        return None
    topo = load_topology(stack)
    return endpoints_for(topo).prometheus


def _scrape_seconds(given: str | None, stack: Path) -> float:
    if given is None and stack.is_file():
        given = load_topology(stack).prometheus.scrape_interval
    try:
        seconds = parse_duration(given) if given else DEFAULT_SCRAPE
    except ValueError as exc:
        raise InvalidInput([Issue("--scrape-interval", None, "", str(exc))]) from None
    if seconds <= 0:
        raise InvalidInput([Issue("--scrape-interval", None, "", "must be more than 0")])
    return seconds


@dashboards_app.command()
def push(
    paths: list[Path] = typer.Argument(
        None, help="Dashboard files or folders (default: dashboards)."
    ),
    url: str = typer.Option(..., "--url", envvar="GRAFANA_URL", help="Grafana's base URL."),
    token: str | None = typer.Option(
        None, "--token", envvar="GRAFANA_TOKEN", help="A service-account token (bearer)."
    ),
    timeout: float = typer.Option(10.0, "--timeout", help="Seconds for each call to Grafana."),
) -> None:
    """Upsert every dashboard into Grafana's folder "chaos-harness" (overwrite)."""
    from harness.dashboards.push import connect
    from harness.dashboards.push import push as push_all  # grafana-client: only when pushing

    boards = {Path(b.file).name: b.data for b in load_boards(paths or [DEFAULT_DIR])}
    for pushed in push_all(connect(url, token, timeout), boards):
        out.print(
            f"pushed {pushed.file}: {pushed.uid} v{pushed.version} {pushed.url}",
            markup=False,
            highlight=False,
        )
