"""Every error the harness raises on purpose, and the exit code each maps to.

    HarnessError                 exit 4: something failed while working
    ├── InvalidInput             exit 3: a file or argument is wrong (file:line: field: message)
    ├── Refused                  exit 3: a valid request the harness will not carry out
    ├── RollbackFailed           exit 4: a fault could not be removed and may still be in place
    └── StackError               exit 4: the local stack could not be started/stopped/reached
        └── PreflightError       exit 4: a start precondition failed (port taken, binary missing)

    (a usage mistake)            exit 3: unknown command or option, missing or bad argument
    (any other exception)        exit 4: a bug: one line, the traceback saved to a file
    (Ctrl-C outside a run)       exit 130; during a run it is "interrupted": exit 4

The CLI turns these into one-line messages in one place (`harness.cli.main`); nothing
else maps exit codes. Answers that are not errors (a run's verdict: 0 held, 1 deviated,
2 aborted; `status` and `compose --check`: 1 for no) are in docs/cli.md, "Exit codes".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "HarnessError",
    "InvalidInput",
    "Issue",
    "PreflightError",
    "Refused",
    "RollbackFailed",
    "StackError",
]


class HarnessError(Exception):
    """Base class; `exit_code` is what the CLI exits with."""

    exit_code = 4


@dataclass(frozen=True)
class Issue:
    """One problem in an input file, located as precisely as we can."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class InvalidInput(HarnessError):
    """A file or argument failed validation; carries every issue found, not only the first."""

    exit_code = 3

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


class Refused(HarnessError):
    """The request is valid but unsafe (blast radius, lock held, unrecovered journal)."""

    exit_code = 3


class StackError(HarnessError):
    """The local stack failed to start, stop or answer."""


class PreflightError(StackError):
    """A precondition for starting failed; the message says what to run to fix it."""


class RollbackFailed(HarnessError):
    """A fault could not be removed: it may still be in place (`harness recover`)."""
