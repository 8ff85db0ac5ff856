"""Run outputs: journal.json (written as the run goes), junit.xml and report.html."""

from harness.report.html import write_html
from harness.report.junit import write_junit

__all__ = ["write_html", "write_junit"]
