"""A mistake is never a traceback: usage errors, bugs and Ctrl-C become one line and a code.

Which test drives each exit code the CLI returns (docs/cli.md, "Exit codes"):
  0    here: validate of a good file, compose --check of current files, --help, --version;
       integration test_experiments.py: test_latency_fault_holds_and_is_removed (held)
  1    here: status with no stack, compose --check of stale files;
       integration: test_a_probe_with_no_data_never_passes (not steady). No integration test
       asserts a "deviated" verdict's 1 (test_pause_then_sigcont accepts 0 or 1).
  2    integration: test_database_down_aborts_on_the_guardrail,
       test_client_guardrail_aborts_without_waiting_for_a_scrape
  3    here: every usage mistake, an invalid file, run refused while the lock is held;
       integration: test_blast_radius_refusal_injects_nothing,
       test_without_the_watchdog_run_refuses_until_recover,
       test_validate_reports_every_error_of_every_file
  4    here: run with no stack, an internal error;
       integration: test_sigint_and_sigterm_during_the_fault_roll_back (interrupted)
  130  here: Ctrl-C outside a run
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from harness import __version__, cli
from harness.cli.app import renamed
from harness.safety.lock import RunLock

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "experiments" / "orders-latency-one-replica.yaml"


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, so `main`'s mapping is what is tested."""
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("HARNESS_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )


@pytest.mark.parametrize(
    ("args", "says", "usage"),
    [
        ([], "missing command: one of up, down, status", "harness"),
        (["bogus"], "no such command 'bogus'", "harness"),
        (["validate", "--bogus", str(GOOD)], "no such option: --bogus", "harness validate"),
        (["validate"], "missing argument", "harness validate"),
        (["run", "--seed", "abc", str(GOOD)], "invalid value for '--seed'", "harness run"),
        (["schema", "extra"], "unexpected extra argument", "harness schema"),
        (["status", "--stack"], "option '--stack' requires an argument", "harness status"),
        (["compose", "--check=yes"], "option '--check' does not take a value", "harness compose"),
    ],
    ids=["bare", "command", "option", "argument", "seed", "extra", "no-value", "flag-value"],
)
def test_a_usage_mistake_is_one_line_then_the_usage(args: list[str], says: str, usage: str):
    result = harness(*args)
    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    error, usage_line, hint = result.stderr.splitlines()
    assert error.startswith("error: ") and says in error
    assert usage_line.startswith(f"Usage: {usage} [OPTIONS]")
    assert hint == f"see `{usage} --help`"


def test_version_prints_the_package_version():
    try:
        expected = metadata.version("chaos-harness")
    except metadata.PackageNotFoundError:
        expected = __version__
    result = harness("--version")
    assert (result.returncode, result.stdout, result.stderr) == (0, f"harness {expected}\n", "")


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["run", "--help"], ["validate", "-h"]])
def test_help_exits_0(args: list[str]):
    result = harness(*args)
    assert result.returncode == 0, result.stderr
    assert "Usage: harness" in result.stdout


def test_validate_exits_0_for_a_good_file_and_3_for_a_bad_one(tmp_path: Path):
    assert harness("validate", str(GOOD)).returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.read_text().replace("latency_ms: 300", "latency_ms: 0"))
    result = harness("validate", str(bad))
    assert result.returncode == 3
    assert result.stderr.startswith(f"{bad}:") and "latency_ms" in result.stderr
    assert "Traceback" not in result.stderr


def run_in(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    state, results = str(tmp_path / "run"), str(tmp_path / "runs")
    return harness("run", str(GOOD), "--stack-dir", state, "--results-dir", results)


def test_run_exits_4_when_the_stack_is_not_running(tmp_path: Path):
    result = run_in(tmp_path)
    assert result.returncode == 4
    # an error line on stderr, or (a suite goes on) the run's verdict and reason on stdout
    assert "the stack is not running" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_run_exits_3_refused_while_another_run_holds_the_lock(tmp_path: Path):
    with RunLock(tmp_path / "run"):
        result = run_in(tmp_path)
    assert result.returncode == 3
    assert f"pid {os.getpid()}" in result.stdout + result.stderr


def test_the_check_commands_exit_1_for_no(tmp_path: Path):
    assert harness("status", "--stack-dir", str(tmp_path / "run")).returncode == 1
    out = ["--out", str(tmp_path / "compose")]
    assert harness("compose", "--check", *out).returncode == 1
    assert harness("compose", *out).returncode == 0
    assert harness("compose", "--check", *out).returncode == 0


def test_the_old_option_names_still_work_but_are_not_listed(tmp_path: Path):
    """--run-dir (the stack's state) and --runs-dir (run results) became --stack-dir and
    --results-dir; scripts that use the old names keep working."""
    result = harness("status", "--run-dir", str(tmp_path / "old"))
    assert result.returncode == 1 and f"no state in {tmp_path / 'old'}" in result.stdout
    with RunLock(tmp_path / "run"):  # both old names reach `run`: the lock in the given dir
        state, results = f"--run-dir={tmp_path / 'run'}", str(tmp_path / "runs")
        refused = harness("run", str(GOOD), state, "--runs-dir", results)
    assert refused.returncode == 3 and f"pid {os.getpid()}" in refused.stdout + refused.stderr
    shown = harness("run", "--help").stdout
    assert "--stack-dir" in shown and "--results-dir" in shown
    assert "--run-dir" not in shown and "--runs-dir" not in shown


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["up", "--run-dir", "a"], ["up", "--stack-dir", "a"]),
        (["run", "x.yaml", "--runs-dir=r"], ["run", "x.yaml", "--results-dir=r"]),
        (["run", "--", "--run-dir"], ["run", "--", "--run-dir"]),  # after --: a file name
        (["gate", "--run", "runs"], ["gate", "--run", "runs"]),
    ],
)
def test_renamed_replaces_only_the_old_option_names(args: list[str], expected: list[str]):
    assert renamed(args) == expected


@pytest.fixture
def command_raising(monkeypatch: pytest.MonkeyPatch):
    """Add a `harness boom` that raises the given exception; `main` runs it in-process."""

    def install(exc: BaseException) -> None:
        def boom() -> None:
            raise exc

        monkeypatch.setattr(cli.app, "registered_commands", list(cli.app.registered_commands))
        cli.app.command("boom")(boom)
        monkeypatch.setattr(sys, "argv", ["harness", "boom"])

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # typer installs its own
    monkeypatch.delenv("HARNESS_DEBUG", raising=False)
    return install


def exit_code_of_main() -> int | str | None:
    with pytest.raises(SystemExit) as exited:
        cli.main()
    return exited.value.code


def test_a_bug_is_one_line_and_a_saved_traceback(command_raising, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HARNESS_TRACEBACK_DIR", str(tmp_path / "tracebacks"))
    command_raising(RuntimeError("it broke\nbadly"))
    assert exit_code_of_main() == 4
    (line,) = capsys.readouterr().err.splitlines()
    found = re.fullmatch(
        r"error: internal error: RuntimeError: it broke badly "
        r"\(please report; traceback in (.+)\)",
        line,
    )
    assert found, line
    saved = Path(found[1])
    assert saved.parent == tmp_path / "tracebacks"
    text = saved.read_text()
    assert text.startswith("Traceback") and "RuntimeError: it broke" in text


def test_harness_debug_raises_the_bug(command_raising, monkeypatch):
    command_raising(RuntimeError("for a developer"))
    monkeypatch.setenv("HARNESS_DEBUG", "1")
    with pytest.raises(RuntimeError, match="for a developer"):
        cli.main()


def test_ctrl_c_outside_a_run_exits_130(command_raising, capsys):
    command_raising(KeyboardInterrupt())
    assert exit_code_of_main() == 130
    assert capsys.readouterr().err == "aborted\n"
