"""promtool and pint, judged by exit code only: their prose differs between versions."""

from __future__ import annotations

import shutil
import subprocess  # noqa: S404 — argv lists with timeouts, never a shell
from dataclasses import dataclass
from pathlib import Path

from harness.errors import PreflightError

__all__ = ["TIMEOUT_SECONDS", "Verdict", "pint_lint", "promtool_check", "promtool_test"]

TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Verdict:
    ok: bool
    detail: str = ""  # on failure: the tool's first telling lines (stderr, then stdout), for people


def promtool_check(path: Path) -> Verdict:
    return _run([_binary("promtool"), "check", "rules", str(path)])


def promtool_test(path: Path) -> Verdict:
    return _run([_binary("promtool"), "test", "rules", str(path)])


def pint_lint(paths: list[Path]) -> Verdict | None:
    """pint's opinion of the files, or None when pint is not installed."""
    pint = shutil.which("pint")
    if pint is None:
        return None
    return _run([pint, "--no-color", "lint", *(str(p) for p in paths)])


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise PreflightError(f"{name} is not on PATH: install Prometheus's {name}")
    return found


def _run(argv: list[str]) -> Verdict:
    try:
        done = subprocess.run(  # noqa: S603 — a fixed argv
            argv, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        return Verdict(False, f"{Path(argv[0]).name} timed out after {TIMEOUT_SECONDS:g}s")
    if done.returncode == 0:
        return Verdict(True)
    lines = [ln.strip() for ln in (done.stderr + "\n" + done.stdout).splitlines() if ln.strip()]
    # shown to people, never parsed: the first lines that say more than a bare "FAILED:"
    telling = [ln for ln in lines if ln.rstrip(":").upper() != "FAILED"][:2]
    return Verdict(False, " ".join(telling) if telling else f"exit code {done.returncode}")
