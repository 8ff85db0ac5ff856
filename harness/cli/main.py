"""`main`: the one place that turns every outcome into a message and an exit code.

Every HarnessError becomes a one-line message (or one line per issue) and its
exit code; click's usage errors exit 3; a bug is one line plus a saved traceback.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

import typer

from harness.cli.app import app, err
from harness.errors import HarnessError, InvalidInput
from harness.secrets import redact

__all__ = ["ABORTED_EXIT", "INTERNAL_EXIT", "USAGE_EXIT", "main"]

USAGE_EXIT = InvalidInput.exit_code  # a usage mistake is invalid input: 3
INTERNAL_EXIT = HarnessError.exit_code  # a bug: 4
ABORTED_EXIT = 130  # Ctrl-C outside a run's fault window (a run exits 4 "interrupted")


def main() -> None:
    """Console-script entry: the one place that turns every outcome into an exit code."""
    try:
        code = app(prog_name="harness", standalone_mode=False)  # returns typer.Exit's code
    except InvalidInput as exc:
        code = _say(*(str(issue) for issue in exc.issues), code=exc.exit_code)
    except HarnessError as exc:
        code = _say(f"error: {exc}", code=exc.exit_code)
    except typer.TyperException as exc:  # click's usage errors: unknown command, bad value…
        code = _usage_error(exc)
    except typer.Exit as exc:
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        code = ABORTED_EXIT
    except Exception as exc:
        if os.environ.get("HARNESS_DEBUG") == "1":
            raise
        code = _internal_error(exc)
    if code == ABORTED_EXIT:  # typer turns a KeyboardInterrupt into Exit(130)
        _say("aborted", code=code)
    sys.exit(code if isinstance(code, int) else 0)


def _say(*lines: str, code: int) -> int:
    """Print lines to stderr as they are (no markup) and return `code`."""
    for line in lines:
        err.print(line, markup=False, highlight=False, soft_wrap=True)
    return code


def _usage_error(exc: typer.TyperException) -> int:
    """What is wrong in one line, then the usage and where to find help."""
    message = " ".join(exc.format_message().split())
    lines = [f"error: {message[:1].lower()}{message[1:]}"]
    ctx = getattr(exc, "ctx", None) or _innermost_context(exc)
    if ctx is not None:
        lines.append(ctx.get_usage())
    lines.append(f"see `{ctx.command_path if ctx else 'harness'} --help`")
    return _say(*lines, code=USAGE_EXIT)


def _innermost_context(exc: BaseException) -> Any:
    """The context of the command being parsed: click's parser leaves some errors without one."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        ctx = tb.tb_frame.f_locals.get("ctx")
        found = ctx if hasattr(ctx, "get_usage") else found
        tb = tb.tb_next
    return found


def _internal_error(exc: Exception) -> int:
    """A bug: one line for the user, the traceback in a file for the report."""
    saved = _save_traceback(exc)
    message = " ".join(str(exc).split())
    return _say(
        f"error: internal error: {type(exc).__name__}: {message} (please report; {saved})",
        code=INTERNAL_EXIT,
    )


def _save_traceback(exc: Exception) -> str:
    """Write the traceback under $HARNESS_TRACEBACK_DIR (or the temp dir); say where."""
    folder = Path(os.environ.get("HARNESS_TRACEBACK_DIR") or tempfile.gettempdir())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="harness-traceback-", suffix=".txt", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(redact("".join(traceback.format_exception(exc))))
    except OSError as write_error:
        return f"the traceback could not be saved: {write_error}"
    return f"traceback in {name}"
