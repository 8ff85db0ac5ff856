"""Nothing in the engine or the safety code names a particular runtime: they speak only
through the seam (`harness.runtime`), so a new runtime plugs in without changing them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "harness"
RUNTIME_NEUTRAL = ("experiment", "safety")
PARTICULAR = ("harness.runtime.local", "harness.runtime.compose")


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in `path`, inside functions too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


@pytest.mark.parametrize("package", RUNTIME_NEUTRAL)
def test_no_module_imports_a_particular_runtime(package):
    files = sorted((HARNESS / package).rglob("*.py"))
    assert files
    offending = [
        f"{path.relative_to(HARNESS.parent)}:{line}: {module}"
        for path in files
        for line, module in _imports(path)
        if module.startswith(PARTICULAR)
    ]
    assert offending == []


def test_the_rule_sees_an_import_inside_a_function(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f():\n    from harness.runtime import local\n")
    assert (2, "harness.runtime.local") in _imports(sneaky)


def test_the_report_reads_the_outcome_without_importing_the_engine():
    files = sorted((HARNESS / "report").rglob("*.py"))
    engine = [
        f"{path.relative_to(HARNESS.parent)}:{line}: {module}"
        for path in files
        for line, module in _imports(path)
        if module.startswith("harness.experiment")
    ]
    assert files and engine == []
