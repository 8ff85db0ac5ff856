"""SLO files in Sloth's `prometheus/v1` format, as frozen models.

Field names are Sloth's (`pkg/prometheus/api/v1`): `version`, `service`, `labels`,
`slos[]` with `name`, `objective`, `description`, `labels`, `sli.events.error_query`
and `total_query` (each with `{{.window}}`), and `alerting` with `name`, `labels`,
`annotations`, `page_alert` and `ticket_alert` (`labels`, `annotations`, `disable`).
Only event SLIs are supported (no `raw` or `plugin` SLIs, no SLO plugins).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from harness.specs.base import Strict
from harness.specs.yamlload import FieldError, load_model

__all__ = ["WINDOW", "Alerting", "AlertMeta", "Events", "Sli", "Slo", "SloFile", "load_slo_file"]

WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")  # Go template syntax, as Sloth accepts it
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"  # goes into rule group names and label values
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

Labels = dict[str, str]


def _check_labels(labels: Labels) -> Labels:
    bad = [k for k in labels if not _LABEL.match(k)]
    if bad:
        raise ValueError(f"not a Prometheus label name: {', '.join(bad)}")
    return labels


class Events(Strict):
    error_query: str = Field(min_length=1)
    total_query: str = Field(min_length=1)

    @field_validator("error_query", "total_query")
    @classmethod
    def _has_window(cls, query: str) -> str:
        if not WINDOW.search(query):
            raise ValueError("the query has no {{.window}}: every SLI window needs it")
        return query


class Sli(Strict):
    events: Events


class AlertMeta(Strict):
    labels: Labels = {}
    annotations: Labels = {}
    disable: bool = False

    _labels = field_validator("labels")(_check_labels)


class Alerting(Strict):
    name: str = ""
    labels: Labels = {}
    annotations: Labels = {}
    page_alert: AlertMeta = AlertMeta()
    ticket_alert: AlertMeta = AlertMeta()

    _labels = field_validator("labels")(_check_labels)

    @model_validator(mode="after")
    def _named(self) -> Alerting:
        enabled = not (self.page_alert.disable and self.ticket_alert.disable)
        if enabled and not self.name:
            raise FieldError(("name",), "an alert name is required unless both alerts are disabled")
        return self


class Slo(Strict):
    name: str = Field(pattern=_NAME)
    objective: float = Field(gt=0, le=100, description="The target in percent, e.g. 99.9.")
    description: str = ""
    labels: Labels = {}
    sli: Sli
    alerting: Alerting

    _labels = field_validator("labels")(_check_labels)


class SloFile(Strict):
    version: Literal["prometheus/v1"]
    service: str = Field(pattern=_NAME)
    labels: Labels = {}
    slos: list[Slo] = Field(min_length=1)

    _labels = field_validator("labels")(_check_labels)

    @model_validator(mode="after")
    def _unique(self) -> SloFile:
        seen: set[str] = set()
        for i, slo in enumerate(self.slos):
            if slo.name in seen:
                raise FieldError(("slos", i, "name"), f"a second SLO named {slo.name!r}")
            seen.add(slo.name)
        return self


def load_slo_file(path: Path) -> SloFile:
    """Read and validate one SLO file; InvalidInput names file:line for every problem."""
    return load_model(path, SloFile)
