"""Traces of the load's requests: where one request's time went (its critical path in
Jaeger) and the report's table of the slowest and failed requests of each fault window.

From a report: `report_rows(records, outcome.fault_windows, topo, offset=offset)`.
"""

from harness.traces.critical import Hop, critical_path, root_span, top_hop
from harness.traces.table import TraceRow, Window, report_rows, trace_table

__all__ = [
    "Hop",
    "TraceRow",
    "Window",
    "critical_path",
    "report_rows",
    "root_span",
    "top_hop",
    "trace_table",
]
