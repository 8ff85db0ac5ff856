"""disk_fill: fill the filesystem the local stack's PostgreSQL writes to, never past a floor.

The targeted replicas name the writers whose database fills up (each must depend on
postgres; they are what the blast radius counts): the fault adds one file, named by the
harness for this run and fault, in the stack's PostgreSQL data directory, grown a chunk
at a time (fallocate, else zeros) to `size_mb`, or until `until_free_mb` is left free.
Whatever was asked, the harness never leaves less than FLOOR free on that filesystem
(512 MiB or 5% of it, whichever is larger): free space is checked before every chunk.
The file's path is journaled before the first byte; revert deletes exactly that file.
"""

from __future__ import annotations

import errno
import math
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from harness.errors import HarnessError
from harness.faults.base import Action, FaultEnv, register
from harness.faults.settings import FaultSettings, Planned, kind
from harness.runtime.local.runtime import LocalRuntime

__all__ = ["DiskFill", "FillFile", "fill", "floor_bytes"]

MIB = 2**20
FLOOR_MIN = 512 * MIB
FLOOR_SHARE = 0.05
CHUNK = 64 * MIB
MAX_MB = 1024 * 1024  # a TiB: a bound, not a goal
DEFAULT_MB = 1024

Usage = Callable[[Path], Any]  # shutil.disk_usage: .total, .free


def floor_bytes(total: int) -> int:
    """Free space the harness never goes below on a filesystem of `total` bytes."""
    return max(FLOOR_MIN, math.ceil(total * FLOOR_SHARE))


def fill(path: Path, want: int, usage: Usage = shutil.disk_usage, chunk: int = CHUNK) -> int:
    """Create `path` (it must not exist) and grow it by up to `want` bytes, a chunk at a
    time, stopping where the next chunk would leave less than the floor free; bytes written."""
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        while written < want:
            now = usage(path.parent)
            step = min(chunk, want - written, now.free - floor_bytes(now.total))
            if step <= 0:
                break
            _grow(fd, written, step)
            written += step
        os.fsync(fd)
    finally:
        os.close(fd)
    return written


def _grow(fd: int, offset: int, size: int) -> None:
    try:
        os.posix_fallocate(fd, offset, size)
        return
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise
    zeros = bytes(min(size, MIB))
    os.lseek(fd, offset, os.SEEK_SET)
    left = size
    while left > 0:
        left -= os.write(fd, zeros[:left])


@register
@dataclass(frozen=True)
class FillFile:
    """One file the harness creates to eat free space, and deletes on revert."""

    kind: ClassVar[str] = "disk_fill"
    path: str
    size_mb: int | None
    until_free_mb: int | None

    def want(self, free: int) -> int:
        if self.size_mb is not None:
            return self.size_mb * MIB
        return max(0, free - (self.until_free_mb or 0) * MIB)

    def apply(self, env: FaultEnv) -> None:
        target = Path(self.path)
        want = self.want(shutil.disk_usage(target.parent).free)
        try:
            fill(target, want)
        except OSError as exc:
            raise HarnessError(f"disk_fill: cannot write {target}: {exc}") from exc

    def revert(self, env: FaultEnv) -> None:
        Path(self.path).unlink(missing_ok=True)

    def describe(self) -> str:
        how = (
            f"{self.size_mb} MB" if self.size_mb is not None else f"to {self.until_free_mb} MB free"
        )
        return f"disk fill {how} with {self.path}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


class DiskFill(FaultSettings):
    """Fill the PostgreSQL data directory's filesystem (size_mb, or until until_free_mb are left)."""

    family: ClassVar[Literal["network", "process"]] = "process"

    type: Literal["disk_fill"] = kind(
        "disk_fill", "fill the filesystem of the stack's PostgreSQL data directory"
    )
    size_mb: int | None = Field(
        None,
        ge=1,
        le=MAX_MB,
        description=f"write this many MB ({DEFAULT_MB} when until_free_mb is not given either)",
    )
    until_free_mb: int | None = Field(
        None, ge=1, le=MAX_MB, description="write until this many MB are left free (or the floor)"
    )

    @model_validator(mode="after")
    def _one_amount(self) -> DiskFill:
        if self.size_mb is not None and self.until_free_mb is not None:
            raise ValueError("give size_mb or until_free_mb, not both")
        return self

    def actions(self, planned: Planned, env: FaultEnv, run_id: str) -> list[Action]:
        runtime = env.runtime
        if not isinstance(runtime, LocalRuntime):  # preflight refused it (supported_faults)
            raise HarnessError(
                f"disk_fill acts on the local stack's PostgreSQL data directory only, "
                f"not through the {runtime.kind} runtime"
            )
        services = runtime.topo.services
        writers = [r for r in planned.replicas if not _writes_postgres(runtime, r)]
        if writers or not runtime.topo.uses_postgres or not planned.replicas:
            raise HarnessError(
                f"disk_fill fills PostgreSQL's disk: {', '.join(writers) or 'its target'} "
                f"must depend on postgres (services that do: "
                f"{', '.join(s for s, v in services.items() if 'postgres' in v.depends_on)})"
            )
        data = runtime.run.postgres_data
        self._check_floor(data)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", f".harness-disk-fill-{run_id}-f{planned.index}")
        return [FillFile(str(data / name), self.amount_mb, self.until_free_mb)]

    @property
    def amount_mb(self) -> int | None:
        """MB to write; None: as many as leave until_free_mb free."""
        if self.until_free_mb is not None:
            return None
        return self.size_mb or DEFAULT_MB

    def _check_floor(self, data: Path) -> None:
        """Refuse what the floor rules out now, rather than fill less than asked."""
        usage = shutil.disk_usage(data)
        floor = floor_bytes(usage.total)
        asked = FillFile("", self.amount_mb, self.until_free_mb).want(usage.free)
        if asked > usage.free - floor or (self.until_free_mb or math.inf) * MIB < floor:
            raise HarnessError(
                f"disk_fill: {data} has {usage.free // MIB} MB free and the harness never "
                f"leaves less than {floor // MIB} MB: {self.describe_amount()} would cross it"
            )

    def describe_amount(self) -> str:
        if self.until_free_mb is None:
            return f"size_mb={self.amount_mb}"
        return f"until_free_mb={self.until_free_mb}"


def _writes_postgres(runtime: LocalRuntime, replica: str) -> bool:
    service = runtime.topo.replica_named(replica).service
    return "postgres" in runtime.topo.services[service].depends_on
