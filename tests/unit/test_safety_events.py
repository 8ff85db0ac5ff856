"""Journal events: named once, parsed once into typed records, and journals written by
earlier versions (tests/golden/journals, real runs) still read and render as they did."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

from harness.report.rebuild import outcome_from_events
from harness.safety.events import _RECORDS as RECORDS
from harness.safety.events import (
    Event,
    EventName,
    FaultApplying,
    FaultRemoved,
    FaultRevertFailed,
    HandedOver,
    Probe,
    RunStarted,
    VerdictEvent,
    WatchdogRecovering,
    parse_event,
)
from harness.safety.journal import (
    Journal,
    open_faults,
    read_events,
    read_records,
    render_json,
    run_start,
    still_open,
)

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "journals"
RUNS = sorted(p.name for p in GOLDEN.iterdir())


def _copy(name: str, tmp_path: Path) -> Path:
    path = tmp_path / "journal.jsonl"
    shutil.copy(GOLDEN / name / "journal.jsonl", path)
    return path


@pytest.mark.parametrize("name", RUNS)
def test_a_journal_written_by_an_earlier_version_renders_as_it_did(name, tmp_path):
    path = _copy(name, tmp_path)
    out = render_json(path)
    assert out.read_text() == (GOLDEN / name / "journal.json").read_text()


@pytest.mark.parametrize("name", RUNS)
def test_every_line_of_an_earlier_journal_parses_to_its_typed_record(name, tmp_path):
    lines = read_events(_copy(name, tmp_path))
    records = [parse_event(line) for line in lines]
    for line, record in zip(lines, records, strict=True):
        assert type(record) is RECORDS.get(line["event"], Event), line
        assert record.raw == line and record.event == line["event"]
    rendered = json.loads((GOLDEN / name / "journal.json").read_text())
    assert [f.fault_id for f in open_faults(records)] == rendered["open_faults"]
    start = run_start(records)
    assert start is not None and start.run_id == rendered["run_id"]
    outcome = outcome_from_events(records)
    assert outcome.verdict == rendered["verdict"]
    assert outcome.reasons == rendered["reasons"]
    assert len(outcome.probes) == sum(1 for line in lines if line["event"] == "probe")


def test_a_torn_last_line_of_an_earlier_journal_is_skipped(tmp_path):
    path = _copy("tp-frozen", tmp_path)
    whole = len(read_records(path))
    with open(path, "ab") as fh:
        fh.write(b'{"time": 1.0, "event": "fault.appl')
    assert len(read_records(path)) == whole
    assert still_open(path) == []


def test_records_carry_typed_fields_and_the_line_as_written():
    line = {
        "time": 5.0,
        "event": "fault.applying",
        "by": "harness",
        "pid": 7,
        "fault_id": "r1/f0/0",
        "action": {"kind": "toxic", "proxy": "db"},
        "description": "latency on db",
        "later": "a field a newer version added",
    }
    record = parse_event(line)
    assert isinstance(record, FaultApplying)
    assert (record.fault_id, record.action, record.by, record.pid) == (
        "r1/f0/0",
        {"kind": "toxic", "proxy": "db"},
        "harness",
        7,
    )
    assert record.raw == line
    assert record.fields == {
        k: v for k, v in line.items() if k not in ("time", "event", "by", "pid")
    }


@pytest.mark.parametrize(
    "line",
    [
        {"event": "chaos.object_created", "time": 1.0, "name": "pc-1"},  # a newer name
        {"event": "fault.removed", "time": 1.0},  # its fault_id lost
        {"event": "probe", "time": "not a time", "phase": "before"},
        {"event": "verdict", "time": 1.0, "reasons": "not a list"},
        {"event": 3},
        {},
    ],
)
def test_a_line_that_fits_no_record_parses_to_a_plain_event_and_never_raises(line):
    record = parse_event(line)
    assert type(record) is Event
    assert record.raw == line
    assert record.event == (
        line["event"] if isinstance(line.get("event"), str) else str(line.get("event", ""))
    )


def test_an_unknown_event_keeps_its_fields():
    record = parse_event({"event": "chaos.object_created", "time": 1.0, "by": "x", "name": "pc-1"})
    assert record.fields == {"name": "pc-1"} and record.by == "x"


def test_a_fault_applying_without_its_action_is_still_listed_open():
    """What may be in place is never under-reported because a line lost a field."""
    records = [parse_event({"event": "fault.applying", "time": 1.0, "fault_id": "f0"})]
    assert [f.fault_id for f in open_faults(records)] == ["f0"]


def test_written_by_name_read_back_typed(tmp_path):
    path = tmp_path / "journal.jsonl"
    journal = Journal.create(path, "harness", run_id="r1", runtime={"kind": "fake"})
    journal.record(EventName.FAULT_APPLYING, fault_id="r1/f0/0", action={"kind": "toxic"})
    journal.record(EventName.FAULT_REVERT_FAILED, fault_id="r1/f0/0", error="503")
    journal.record(EventName.ROLLBACK_HANDED_OVER, still_open=["r1/f0/0"], reason="SIGINT")
    journal.record(EventName.WATCHDOG_RECOVERING, reason="stale")
    journal.record(EventName.FAULT_REMOVED, fault_id="r1/f0/0", seconds=0.1)
    journal.record(EventName.PROBE, phase="before", name="p", query="q", op="<", threshold=1.0,
                   value=0.5, status="pass")  # fmt: skip
    journal.record(EventName.VERDICT, verdict="held", exit_code=0, reasons=[])
    assert [line["event"] for line in read_events(path)] == [
        "run.started",
        "fault.applying",
        "fault.revert_failed",
        "rollback.handed_over",
        "watchdog.recovering",
        "fault.removed",
        "probe",
        "verdict",
    ]
    kinds = [type(e) for e in journal.events]
    assert kinds == [
        RunStarted,
        FaultApplying,
        FaultRevertFailed,
        HandedOver,
        WatchdogRecovering,
        FaultRemoved,
        Probe,
        VerdictEvent,
    ]
    start = run_start(journal.events)
    assert start is not None and start.runtime == {"kind": "fake"} and start.run_id == "r1"
    assert still_open(path) == []


def test_every_named_event_with_a_record_is_in_the_table():
    assert set(RECORDS) <= set(EventName)
    assert all(isinstance(name, EventName) for name in RECORDS)


# -- one place names them ----------------------------------------------------------------

NAMES = {str(n) for n in EventName}
EVENTS_MODULE = ROOT / "harness" / "safety" / "events.py"
WRITER = ROOT / "harness" / "safety" / "journal.py"  # writes the `event` key of each line


def _violations(source: str, name: str, writer: bool = False) -> list[str]:
    """Event names as string literals (written, or compared with an event's name) and
    reads of a line's `event` key: what only harness/safety/events.py may do (and the
    journal's writer, which writes the key)."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        where = f"{name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            first = node.args[0] if node.args else None
            if node.func.attr == "record" and isinstance(first, ast.Constant):
                found.append(f"{where}: record({first.value!r})")
        if isinstance(node, ast.Compare) and _names_an_event(node):
            found.append(f"{where}: compares an event's name with a string")
        if isinstance(node, ast.Constant) and "." in str(node.value) and node.value in NAMES:
            found.append(f"{where}: {node.value!r}")
        if not writer and isinstance(node, ast.Subscript | ast.Call):
            key = node.slice if isinstance(node, ast.Subscript) else _get_key(node)
            if isinstance(key, ast.Constant) and key.value == "event":
                found.append(f"{where}: reads a line's 'event' by hand")
    return found


def _names_an_event(node: ast.Compare) -> bool:
    """`x.event == "verdict"` (or `in (...)`): a match on a string, not on the record."""
    sides = [node.left, *node.comparators]
    if not any(isinstance(s, ast.Attribute) and s.attr == "event" for s in sides):
        return False
    consts = [
        c for s in sides for c in (s.elts if isinstance(s, ast.Tuple | ast.Set | ast.List) else [s])
    ]
    return any(isinstance(c, ast.Constant) and isinstance(c.value, str) for c in consts)


def _get_key(call: ast.Call) -> ast.expr | None:
    is_get = isinstance(call.func, ast.Attribute) and call.func.attr == "get"
    return call.args[0] if is_get and call.args else None


def test_no_event_name_is_a_string_outside_the_events_module():
    files = [p for p in (ROOT / "harness").rglob("*.py") if p != EVENTS_MODULE]
    found = [
        v
        for p in files
        for v in _violations(p.read_text(), str(p.relative_to(ROOT)), writer=p == WRITER)
    ]
    assert found == [], "name events by EventName, read them as typed records:\n" + "\n".join(found)


def test_the_check_sees_each_kind_of_string_event_name():
    src = (
        'journal.record("phase.start", phase="x")\n'
        'ok = e["event"] == "verdict"\n'
        'name = "fault.applying"\n'
        'e.get("event")\n'
        'journal.record(EventName.PHASE_START, phase="x")\n'
        'fine = phase == "guardrail" and "verdict" in outcome and e.event in _SHOWN\n'
        'if e.event in ("verdict", "abort"): pass\n'
    )
    assert sorted(_violations(src, "x.py")) == [
        "x.py:1: 'phase.start'",
        "x.py:1: record('phase.start')",
        "x.py:2: reads a line's 'event' by hand",
        "x.py:3: 'fault.applying'",
        "x.py:4: reads a line's 'event' by hand",
        "x.py:7: compares an event's name with a string",
    ]
