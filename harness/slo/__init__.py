"""SLOs in Sloth's `prometheus/v1` format, turned into Prometheus rules.

- `spec`: the file format, loaded with file:line errors;
- `windows`: the burn-rate window arithmetic and Prometheus/Go number formatting;
- `rules`: the rule groups (Sloth v0.16's, plus our guards) and their YAML text.
"""

from __future__ import annotations

from harness.slo.rules import Options, render, rule_groups
from harness.slo.spec import SloFile, load_slo_file

__all__ = ["Options", "SloFile", "load_slo_file", "render", "rule_groups"]
