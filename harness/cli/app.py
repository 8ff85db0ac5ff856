"""The Typer app, its shared options and consoles, and `--version`.

The command modules (`stack`, `experiments`, `slo`) register on `app`; `main` runs it.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import TextIO, cast

import typer
from rich.console import Console
from typer.core import TyperGroup

from harness.secrets import redact
from harness.version import version

__all__ = ["RunDirOpt", "StackOpt", "app", "err", "out", "write_generated"]

app = typer.Typer(
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    # a bug is reported by `main` in one line; never render a traceback with its locals
    pretty_exceptions_enable=False,
    help="Chaos harness: bring up the local shop stack and run experiments against it.",
)


class _Redacted(io.TextIOBase):
    """sys.stdout or sys.stderr (looked up at each write: tests swap them) with every
    secret the process resolved redacted (`harness.secrets`): nothing the CLI prints,
    a live view or an error message, can show one."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self._name = name

    @property
    def _stream(self) -> TextIO:
        stream: TextIO = getattr(sys, self._name)
        return stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", None) or "utf-8"


out = Console(file=cast(TextIO, _Redacted("stdout")), soft_wrap=True)  # lines stay whole piped
err = Console(file=cast(TextIO, _Redacted("stderr")))

StackOpt = typer.Option(Path("stack.yaml"), "--stack", "-s", help="The topology file.")
RunDirOpt = typer.Option(Path(".run"), "--run-dir", help="Where the stack keeps its state.")


def _print_version(value: bool) -> None:
    if value:
        out.print(f"harness {_version()}", markup=False, highlight=False)
        raise typer.Exit()


def _version() -> str:
    return version()


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    # bare `harness` is a usage mistake (exit 3), said in one line like the others
    if ctx.invoked_subcommand is None and isinstance(ctx.command, TyperGroup):
        ctx.fail("missing command: one of " + ", ".join(ctx.command.list_commands(ctx)))


def write_generated(files: dict[Path, str], check: bool, command: str) -> None:
    """Write generated files, or with `check` only say which are stale (exit 1 if any).

    The one implementation behind `compose`, `slo generate` and `dashboards generate`.
    """
    stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    if check:
        for p in stale:
            err.print(f"{p} is not what `{command}` writes: run it", markup=False)
        raise typer.Exit(1 if stale else 0)
    for p, text in files.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        out.print(f"wrote {p}", markup=False, highlight=False)
