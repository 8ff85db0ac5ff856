"""The SLO commands: `slo generate`."""

from __future__ import annotations

from pathlib import Path

import typer

from harness.cli.app import app, write_generated
from harness.errors import InvalidInput, Issue
from harness.slo import Options, load_slo_file, render
from harness.slo.windows import PERIODS

__all__ = ["generate", "slo_app"]

slo_app = typer.Typer(help="Service level objectives: generate their Prometheus rules.")
app.add_typer(slo_app, name="slo")


@slo_app.command()
def generate(
    slo_files: list[Path] = typer.Argument(..., help="SLO files (Sloth prometheus/v1)."),
    out_dir: Path = typer.Option(Path("alert_rules"), "--out", help="Where to write the rules."),
    check: bool = typer.Option(False, "--check", help="Only say whether the files are current."),
    window_scale: float = typer.Option(
        1.0, "--window-scale", help="Shorten every window by this factor (e.g. 0.01 for demos)."
    ),
    period: str = typer.Option("30d", "--period", help="The SLO period: 30d or 28d."),
    guards: bool = typer.Option(
        True, "--guards/--no-guards", help="Zero-traffic guard and no-data alert (beyond Sloth)."
    ),
) -> None:
    """Write `slo-<name>.yml` rules (Sloth's recordings and alerts) for each SLO file."""
    opts = _options(window_scale, period, guards)
    files = {
        out_dir / f"slo-{p.stem}.yml": render(load_slo_file(p), p.name, opts) for p in slo_files
    }
    write_generated(files, check, "harness slo generate")


def _options(scale: float, period: str, guards: bool) -> Options:
    if not 0 < scale <= 1:
        raise InvalidInput([Issue("--window-scale", None, "", "must be in (0, 1]")])
    if period not in PERIODS:
        raise InvalidInput([Issue("--period", None, "", "must be 30d or 28d")])
    return Options(period="30d" if period == "30d" else "28d", scale=scale, guards=guards)
