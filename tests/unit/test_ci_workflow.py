"""The release-gate workflow (.github/workflows/release-gate.yml).

Its triggers and permissions, its steps in order, and what each must keep. The suite and
the gate continue on error, publishing runs whatever happened, and the last step fails
the job. The shell of the gate step and the final step runs here for real, with a fake
`harness`. The workflow is also validated against SchemaStore's GitHub workflow schema,
vendored in tests/schemas/ (see its README).
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "release-gate.yml"
SCHEMA = ROOT / "tests" / "schemas" / "github-workflow.json"
INSTALL_SCRIPT = ROOT / "scripts" / "install-system.sh"

# GitHub's default shell for `run:` on Linux
BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]
# owner/repo[/path]@vN[.N[.N]] or @<full commit SHA>
PINNED = re.compile(r"[\w.-]+/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})")

Step = dict[str, Any]


def load_workflow() -> dict[str, Any]:
    """The workflow as GitHub reads it: YAML 1.1 parses the key `on` as True."""
    data = yaml.safe_load(WORKFLOW.read_text())
    if True in data:
        data["on"] = data.pop(True)
    return data


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return load_workflow()


@pytest.fixture(scope="module")
def job(workflow) -> dict[str, Any]:
    (only,) = workflow["jobs"].values()
    return only


@pytest.fixture(scope="module")
def steps(job) -> list[Step]:
    return job["steps"]


def run_of(step: Step) -> str:
    return step.get("run", "")


def uses_of(step: Step) -> str:
    return step.get("uses", "")


def is_suite(step: Step) -> bool:
    return bool(re.search(r"harness run experiments\b.*--as-designed", run_of(step)))


def is_gate(step: Step) -> bool:
    return "harness gate" in run_of(step)


def is_junit(step: Step) -> bool:
    return uses_of(step).startswith(("mikepenz/action-junit-report@", "dorny/test-reporter@"))


def is_upload(step: Step) -> bool:
    return uses_of(step).startswith("actions/upload-artifact@")


def is_comment(step: Step) -> bool:
    return uses_of(step).startswith(
        ("marocchino/sticky-pull-request-comment@", "actions/github-script@")
    )


def is_final(step: Step) -> bool:
    text = run_of(step) + json.dumps(step.get("env", {}))
    return "steps.suite." in text and "steps.gate." in text and "exit" in run_of(step)


STAGES: list[tuple[str, Callable[[Step], bool]]] = [
    ("make install", lambda s: "make install" in run_of(s)),
    ("harness up", lambda s: "harness up" in run_of(s)),
    ("the experiment suite", is_suite),
    ("harness gate", is_gate),
    ("the JUnit report", is_junit),
    ("the artefact upload", is_upload),
    ("the PR comment", is_comment),
    ("harness down", lambda s: "harness down" in run_of(s)),
    ("the final failure step", is_final),
]


def only(steps: list[Step], predicate: Callable[[Step], bool], what: str) -> Step:
    found = [s for s in steps if predicate(s)]
    assert len(found) == 1, f"expected one step for {what}, found {len(found)}"
    return found[0]


# --- triggers, permissions, limits ---------------------------------------------------


def test_on_key_is_read_as_on_not_true(workflow):
    assert "on" in workflow and True not in workflow


def test_triggers_on_pull_request_and_by_hand(workflow):
    assert "pull_request" in workflow["on"]
    assert "workflow_dispatch" in workflow["on"]


def test_permissions_are_minimal(workflow, job):
    assert workflow["permissions"] == {"contents": "read"}
    writes = {k for k, v in job["permissions"].items() if v == "write"}
    assert writes <= {"checks", "pull-requests"}
    assert job["permissions"]["pull-requests"] == "write"


def test_has_a_timeout_and_one_run_per_ref(workflow, job):
    assert 0 < job["timeout-minutes"] <= 120
    assert "github.ref" in workflow["concurrency"]["group"]
    assert job["runs-on"] == "ubuntu-latest"


def test_every_action_is_pinned_to_a_version(steps):
    for step in steps:
        if "uses" in step:
            assert PINNED.fullmatch(step["uses"]), f"not pinned: {step['uses']}"


def test_setup_python_is_311_with_a_pip_cache(steps):
    step = only(steps, lambda s: uses_of(s).startswith("actions/setup-python@"), "python")
    assert str(step["with"]["python-version"]) == "3.11"
    assert step["with"]["cache"] == "pip"


def test_setup_go_is_new_enough_for_the_install_script(steps):
    """scripts/install-system.sh says which Go each `go install` needs (promtool 3: 1.26.7+)."""
    found = re.findall(r"install Go (\d+)\.(\d+)(?:\.(\d+))?", INSTALL_SCRIPT.read_text())
    needed = max((int(major), int(minor), int(patch or 0)) for major, minor, patch in found)
    step = only(steps, lambda s: uses_of(s).startswith("actions/setup-go@"), "go")
    given = tuple(int(n) for n in str(step["with"]["go-version"]).split("."))
    assert given[:2] >= needed[:2]
    if len(given) < 3:  # "1.26": only the newest patch is sure to be new enough
        assert step["with"]["check-latest"] is True


# --- the steps, in order ---------------------------------------------------------------


def test_steps_come_in_order(steps):
    positions = [steps.index(only(steps, predicate, what)) for what, predicate in STAGES]
    assert positions == sorted(positions), [what for what, _ in STAGES]


def test_the_final_step_is_last(steps):
    assert is_final(steps[-1])


def test_suite_and_gate_continue_on_error_and_have_ids(steps):
    for step in (only(steps, is_suite, "suite"), only(steps, is_gate, "gate")):
        assert step["continue-on-error"] is True
        assert step["id"]


def test_suite_writes_its_runs_where_the_gate_reads_them(steps):
    suite = run_of(only(steps, is_suite, "suite"))
    gate = run_of(only(steps, is_gate, "gate"))
    runs = re.search(r"--results-dir (\S+)", suite)
    assert runs and f"--run {runs.group(1)} " in gate


def test_gate_writes_json_junit_and_markdown(steps):
    gate = run_of(only(steps, is_gate, "gate"))
    for flag in ("--run", "--json", "--junit", "--markdown"):
        assert f"{flag} " in gate


def test_reports_are_published_whatever_happened(steps):
    for step in (only(steps, is_junit, "junit"), only(steps, is_upload, "upload")):
        assert "always()" in step["if"]
    down = only(steps, lambda s: "harness down" in run_of(s), "down")
    assert "always()" in down["if"]


def test_junit_covers_every_run_and_the_gate(steps):
    paths = only(steps, is_junit, "junit")["with"]["report_paths"].split()
    assert paths == ["runs/*/junit.xml", "gate-junit.xml"]


def test_artefact_holds_the_runs_and_the_gate_results(steps):
    paths = only(steps, is_upload, "upload")["with"]["path"].split()
    assert "runs/" in paths and "gate.*" in paths


def test_comment_only_on_pull_requests(steps):
    step = only(steps, is_comment, "comment")
    assert "github.event_name == 'pull_request'" in step["if"]
    assert "gate.md" in json.dumps(step["with"])


# --- the shell of the gate step and of the final step, run for real ----------------------


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [*BASH, script], cwd=cwd, env=base | env, capture_output=True, text=True, check=False
    )


def final_env(step: Step, suite: str, gate: str) -> dict[str, str]:
    """The final step's env with its expressions replaced by the given outcomes."""
    values = {}
    for name, expression in step["env"].items():
        values[name] = suite if "steps.suite.outcome" in expression else gate
    return values


@pytest.mark.parametrize("code", [0, 1, 2, 3, 4])
def test_gate_step_keeps_the_exit_code_for_the_final_step(steps, tmp_path, code):
    fake = tmp_path / ".venv" / "bin" / "harness"
    fake.parent.mkdir(parents=True)
    fake.write_text('#!/bin/sh\necho "## gate" > gate.md\nexit "$FAKE_EXIT"\n')
    fake.chmod(0o755)
    env = {
        "FAKE_EXIT": str(code),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
    }
    result = bash(run_of(only(steps, is_gate, "gate")), tmp_path, env)
    assert result.returncode == code, result.stderr
    final = json.dumps(steps[-1]["env"])
    name = re.search(r"steps\.gate\.outputs\.([\w-]+)", final)
    assert name and f"{name.group(1)}={code}" in (tmp_path / "output").read_text().split()
    assert "## gate" in (tmp_path / "summary").read_text()


@pytest.mark.parametrize(
    ("suite", "gate", "fails"),
    [
        ("success", "0", False),
        ("success", "2", False),  # warn: only with --strict, a warning
        ("success", "1", True),
        ("success", "3", True),
        ("success", "4", True),
        ("success", "", True),  # the gate never ran
        ("failure", "0", True),  # a run not as designed
        ("skipped", "", True),  # the stack never came up
    ],
)
def test_final_step_fails_the_job(steps, tmp_path, suite, gate, fails):
    step = steps[-1]
    result = bash(run_of(step), tmp_path, final_env(step, suite, gate))
    assert (result.returncode != 0) is fails, result.stdout


# --- GitHub's workflow schema ----------------------------------------------------------


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)
    assert cls is jsonschema.Draft7Validator
    cls.check_schema(schema)
    return cls(schema)


def test_workflow_is_valid_against_githubs_schema(validator, workflow):
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(workflow)]
    assert errors == []


def test_schema_catches_a_misspelt_key(validator, workflow):
    broken = copy.deepcopy(workflow)
    (job,) = broken["jobs"].values()
    job["steps"][0]["continue_on_error"] = True
    assert not validator.is_valid(broken)
