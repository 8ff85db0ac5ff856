"""The gate's result for people and pipelines: Markdown (a pull-request comment), JUnit XML
(one case per objective, plus the verdict), and JSON (the baseline format)."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET  # noqa: S405 — we only write XML
from pathlib import Path

from harness.gate.evaluate import GateResult, ObjectiveResult

__all__ = ["EXIT_CODES", "markdown", "write_json", "write_junit"]

# 2 (warn) only with --strict; the CLI decides
EXIT_CODES = {"pass": 0, "fail": 1, "warn": 2, "inconclusive": 3}
_ICONS = {"pass": "✅", "warn": "⚠️", "fail": "❌", "inconclusive": "❔", "ignored": "➖"}


def stamp(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def markdown(result: GateResult) -> str:
    score = "—" if result.score is None else f"{result.score:.1f}%"
    requests = "no data" if result.requests is None else f"{result.requests:.0f}"
    lines = [
        f"## Release gate: {_ICONS[result.verdict]} {result.verdict.upper()}",
        "",
        f"Score **{score}** · range {stamp(result.start)} → {stamp(result.end)} "
        f"({result.end - result.start:.0f} s) · {requests} requests · Prometheus "
        f"`{result.prometheus}`" + (f" · baseline: {result.baseline}" if result.baseline else ""),
        "",
    ]
    if result.reasons:
        lines += [f"- {_escape(r)}" for r in result.reasons] + [""]
    lines += [
        "| objective | status | value | criteria | weight |",
        "| --- | --- | --- | --- | --- |",
    ]
    for o in result.objectives:
        key = " (key)" if o.key else ""
        lines.append(
            f"| {o.name}{key} | {_ICONS[o.status]} {o.status} | {_value(o)} | "
            f"{_escape(_criteria(o))} | {o.weight:g} |"
        )
    lines += ["", "<details><summary>Queries (evaluated at the range's end)</summary>", ""]
    for o in result.objectives:
        lines.append(f"- **{o.name}** at {stamp(o.at)}: `{_escape(o.query)}`")
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def write_json(path: Path, result: GateResult) -> None:
    path.write_text(json.dumps(result.to_json(), indent=2) + "\n")


def write_junit(path: Path, result: GateResult) -> None:
    failing = [o for o in result.objectives if o.status in ("fail", "inconclusive")]
    suite = ET.Element(
        "testsuite",
        name="harness gate",
        tests=str(len(result.objectives) + 1),
        failures=str(len(failing) + (result.verdict != "pass")),
        timestamp=stamp(result.end),
    )
    for o in result.objectives:
        case = ET.SubElement(suite, "testcase", classname="gate.objectives", name=o.name)
        if o.status in ("fail", "inconclusive"):
            ET.SubElement(case, "failure", message=o.status).text = o.line()
        elif o.status == "ignored":
            ET.SubElement(case, "skipped", message="no data, ignored by policy")
        else:
            ET.SubElement(case, "system-out").text = o.line()
    verdict = ET.SubElement(suite, "testcase", classname="gate", name="verdict")
    text = f"{result.verdict} (score {result.score})\n" + "\n".join(result.reasons)
    if result.verdict != "pass":
        ET.SubElement(verdict, "failure", message=result.verdict).text = text
    else:
        ET.SubElement(verdict, "system-out").text = text
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def _value(o: ObjectiveResult) -> str:
    return "no data" if o.value is None else f"{o.value:.6g}"


def _criteria(o: ObjectiveResult) -> str:
    return "; ".join(c.text() for c in o.criteria)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
