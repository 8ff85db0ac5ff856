"""JUnit XML: each probe, guardrail, expectation and check a test case with its evidence."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 — we only write XML
from pathlib import Path

from harness.outcome import Outcome
from harness.report.cases import cases_of
from harness.secrets import redact

__all__ = ["write_junit"]


def write_junit(path: Path, experiment: str, outcome: Outcome, seconds: float) -> None:
    cases = cases_of(outcome, experiment)
    suite = ET.Element(
        "testsuite",
        {
            "name": experiment,
            "tests": str(len(cases)),
            "failures": str(sum(1 for c in cases if not c.ok)),
            "errors": "0",
            "skipped": "0",
            "time": f"{seconds:.3f}",
        },
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (("verdict", str(outcome.verdict)), ("exit_code", str(outcome.exit_code))):
        ET.SubElement(props, "property", {"name": key, "value": value})
    for case in cases:
        el = ET.SubElement(suite, "testcase", {"classname": case.classname, "name": case.name})
        if not case.ok:
            failure = ET.SubElement(el, "failure", {"message": case.message[:500]})
            failure.text = case.message
        else:
            ET.SubElement(el, "system-out").text = case.message
    ET.indent(suite)
    text = ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
    path.write_text(redact(text), encoding="utf-8")  # no secret, whatever a message held
