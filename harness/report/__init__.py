"""Run outputs: journal.json (rendered from journal.jsonl when the run ends), junit.xml
and report.html."""

from harness.report.html import write_html
from harness.report.junit import write_junit

__all__ = ["write_html", "write_junit"]
