"""promtool and pint, judged by exit code only: their prose differs between versions.

Rules are checked with every promtool there is: the one on PATH (Debian's 2.x, which
runs the local stack) and promtool 3 when `scripts/install-system.sh` has built it into
the project's `.bin/prom3/` (kept off PATH: it is for checks only). Prometheus 3 reads
some rules differently (left-open ranges, `le` text), so a rule file and its unit tests
must pass both.

pint (Cloudflare's linter) is optional: the one on PATH, else the project's `.bin/pint`
(`make pint` builds it), run with the project's `.pint.hcl` and `--offline`.
"""

from __future__ import annotations

import os
import shutil
import subprocess  # noqa: S404 — argv lists with timeouts, never a shell
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import PreflightError
from harness.runtime.local.binaries import project_bin_dir

__all__ = [
    "PINT",
    "PINT_CONFIG",
    "PROMTOOL3",
    "TIMEOUT_SECONDS",
    "Pint",
    "Promtool",
    "Verdict",
    "find_pint",
    "pint_lint",
    "promtool3_path",
    "promtool_check",
    "promtool_test",
    "promtools",
]

TIMEOUT_SECONDS = 60.0
PROMTOOL3 = Path("prom3") / "promtool"  # under the project's .bin/
PINT = Path("pint")  # under the project's .bin/
PINT_CONFIG = Path(".pint.hcl")  # at the project's root


@dataclass(frozen=True)
class Verdict:
    ok: bool
    detail: str = ""  # on failure: the tool's first telling lines (stderr, then stdout), for people


@dataclass(frozen=True)
class Promtool:
    """One promtool binary and the name its checks are reported under."""

    label: str  # "promtool" (on PATH) or "promtool 3" (the project's .bin/prom3)
    path: Path


@dataclass(frozen=True)
class Pint:
    """The pint binary and the config it runs with (None: pint's defaults)."""

    path: Path
    config: Path | None

    def lint(self, paths: list[Path]) -> Verdict:
        """Offline: pint never asks a Prometheus (and `.pint.hcl` names none)."""
        config = ["--config", str(self.config)] if self.config is not None else []
        # --log-level error: its first stderr lines are then the problems, not progress
        flags = ["--no-color", "--offline", "--log-level", "error", *config]
        return _run([str(self.path), *flags, "lint", *(str(p) for p in paths)])


def promtools(near: Iterable[Path]) -> list[Promtool]:
    """promtool on PATH (required), then promtool 3 of the project the files `near` are
    in, when built there: `.bin/prom3/promtool` in their nearest ancestor that has one."""
    on_path = Promtool("promtool", Path(_binary("promtool")))
    prom3 = next((p for p in map(promtool3_path, near) if p is not None), None)
    if prom3 is None or _same_file(prom3, on_path.path):
        return [on_path]
    return [on_path, Promtool("promtool 3", prom3)]


def promtool3_path(start: Path) -> Path | None:
    """`<root>/.bin/prom3/promtool` for `start` or its nearest ancestor that has it."""
    return _upward(start, lambda root: project_bin_dir(root) / PROMTOOL3, executable=True)


def find_pint(near: Iterable[Path]) -> Pint | None:
    """pint on PATH, else `.bin/pint` of the project the files `near` are in; with the
    `.pint.hcl` of their nearest ancestor that has one. None when there is no pint."""
    files = list(near)
    on_path = shutil.which("pint")
    found = (
        Path(on_path)
        if on_path
        else _first_upward(files, lambda root: project_bin_dir(root) / PINT, executable=True)
    )
    if found is None:
        return None
    return Pint(found, _first_upward(files, lambda root: root / PINT_CONFIG))


def promtool_check(path: Path, promtool: Promtool | None = None) -> Verdict:
    return _run([_path_of(promtool), "check", "rules", str(path)])


def promtool_test(path: Path, promtool: Promtool | None = None) -> Verdict:
    return _run([_path_of(promtool), "test", "rules", str(path)])


def pint_lint(paths: list[Path]) -> Verdict | None:
    """pint's opinion of the files, or None when pint is not installed."""
    pint = find_pint(paths)
    return None if pint is None else pint.lint(paths)


def _first_upward(
    starts: Iterable[Path], where: Callable[[Path], Path], *, executable: bool = False
) -> Path | None:
    return next((p for s in starts if (p := _upward(s, where, executable=executable))), None)


def _upward(start: Path, where: Callable[[Path], Path], *, executable: bool = False) -> Path | None:
    """`where(root)` for `start` or its nearest ancestor `root` where that is a file."""
    here = start.resolve()
    for root in (here, *here.parents):
        found = where(root)
        if found.is_file() and (not executable or os.access(found, os.X_OK)):
            return found
    return None


def _path_of(promtool: Promtool | None) -> str:
    return str(promtool.path) if promtool is not None else _binary("promtool")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


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
