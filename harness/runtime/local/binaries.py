"""Find the external programs the stack runs, with a fix hint when one is missing."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from harness.errors import PreflightError

__all__ = [
    "Binaries",
    "find_alertmanager",
    "find_binaries",
    "find_jaeger",
    "project_bin_dir",
    "with_redis",
]

INSTALL_HINT = "run `make install` (it installs what is missing)"


@dataclass(frozen=True)
class Binaries:
    toxiproxy: Path
    postgres: Path
    initdb: Path
    prometheus: Path
    alertmanager: Path
    jaeger: Path | None = None  # None: the topology runs no Jaeger
    redis: Path | None = None  # None: the topology runs no Redis


def project_bin_dir(root: Path) -> Path:
    """Project-local, git-ignored directory where `make install` puts Toxiproxy and Jaeger."""
    return root / ".bin"


def find_binaries(root: Path | None = None, jaeger: bool = False) -> Binaries:
    """Locate every binary or raise PreflightError naming the first missing one.

    Toxiproxy is looked for in $TOXIPROXY_SERVER, `<root>/.bin`, this checkout's `.bin`
    (where `make install` builds it) and then on PATH; Jaeger (only with `jaeger`: the
    topology runs it) likewise, in $JAEGER_BINARY first. Redis: `with_redis`.
    """
    pg_bin = _postgres_bin_dir()
    tp_candidates: list[Path | str | None] = [os.environ.get("TOXIPROXY_SERVER")]
    tp_candidates += [d / "toxiproxy-server" for d in _bin_dirs(root)]
    return Binaries(
        toxiproxy=_first("toxiproxy-server", tp_candidates),
        postgres=_first("postgres", [pg_bin / "postgres" if pg_bin else None]),
        initdb=_first("initdb", [pg_bin / "initdb" if pg_bin else None]),
        prometheus=_first("prometheus", []),
        alertmanager=find_alertmanager(),
        jaeger=find_jaeger(root) if jaeger else None,
    )


def with_redis(bins: Binaries) -> Binaries:
    """`bins` and redis-server (Debian's package; on PATH), or PreflightError."""
    return replace(bins, redis=_first("redis-server", []))


def find_jaeger(root: Path | None = None) -> Path:
    """Jaeger v2 (`make install` builds it into `.bin/jaeger`), or PreflightError."""
    candidates: list[Path | str | None] = [os.environ.get("JAEGER_BINARY")]
    return _first("jaeger", candidates + [d / "jaeger" for d in _bin_dirs(root)])


def _bin_dirs(root: Path | None) -> list[Path]:
    here = Path(__file__).resolve().parents[3]  # the checkout: harness/runtime/local/ is three down
    return [project_bin_dir(d) for d in (root, here) if d]


def find_alertmanager() -> Path:
    """Alertmanager alone (Debian names it prometheus-alertmanager), or PreflightError."""
    return _first("prometheus-alertmanager", [], also=("alertmanager",))


def _postgres_bin_dir() -> Path | None:
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


def _first(name: str, candidates: list[Path | str | None], also: tuple[str, ...] = ()) -> Path:
    for cand in candidates:
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return Path(cand)
    for exe in (name, *also):
        found = shutil.which(exe)
        if found:
            return Path(found)
    raise PreflightError(f"{name} not found: {INSTALL_HINT}")
