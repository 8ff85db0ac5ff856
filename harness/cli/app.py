"""The Typer app, its shared options and consoles, and `--version`.

The command modules (`stack`, `experiments`, `slo`) register on `app`; `main` runs it.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any, TextIO, cast

import typer
from rich.console import Console
from typer.core import TyperGroup

from harness.secrets import redact
from harness.version import version

__all__ = [
    "RENAMED_OPTIONS",
    "ResultsDirOpt",
    "StackDirOpt",
    "StackOpt",
    "app",
    "err",
    "out",
    "renamed",
    "write_generated",
]

# the old spellings keep working, unlisted, for scripts: `--run-dir` held the stack's state
# and `--runs-dir` the runs' results, two names too alike to tell apart
RENAMED_OPTIONS = {"--run-dir": "--stack-dir", "--runs-dir": "--results-dir"}


def renamed(args: list[str]) -> list[str]:
    """`args` with each old option name (also as `--old=value`) replaced, up to `--`."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            return [*out, *args[i:]]
        name, eq, value = arg.partition("=")
        out.append(RENAMED_OPTIONS[name] + eq + value if name in RENAMED_OPTIONS else arg)
    return out


class _RenamedOptions(TyperGroup):
    """The root command: every command's arguments pass here first, old names renamed."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, renamed(args))


app = typer.Typer(
    cls=_RenamedOptions,
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
StackDirOpt = typer.Option(
    Path(".run"),
    "--stack-dir",
    help="The stack's state directory: what `up` started (PIDs, logs, configs), read by "
    "every command that acts on the stack.",
)
ResultsDirOpt = typer.Option(
    Path("runs"),
    "--results-dir",
    help="Where each run's results go (<dir>/<time>-<name>/: report, journal, JUnit), and a "
    "suite's page.",
)


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
