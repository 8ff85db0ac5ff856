"""Static checks of Prometheus rule files: promtool, its unit tests, and our own lints.

- `rules`: rule files read into typed rules that know their file and line;
- `lints`: the checks promtool does not make (labels, annotations, templates, rate
  ranges, duplicates, untested alerts), on the project's PromQL parser;
- `tools`: promtool and pint, judged by exit code only;
- `check`: runs everything over files and directories, and writes JUnit XML.
"""

from __future__ import annotations

from harness.alerts.check import Case, Report, check_paths, rule_files, write_junit
from harness.alerts.lints import Finding

__all__ = ["Case", "Finding", "Report", "check_paths", "rule_files", "write_junit"]
