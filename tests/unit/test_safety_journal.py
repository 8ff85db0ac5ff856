"""The journal: one JSON line per event, appended by several processes, read back whole."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from pathlib import Path
from typing import Any

from harness.safety.events import FaultRemoved, parse_events
from harness.safety.journal import (
    Journal,
    open_faults,
    read_events,
    render_json,
    rendered_path,
    still_open,
)

N = 300
PAYLOAD = "x" * 3000  # lines near a page long: interleaved writes would show


def _write_events(path: str, by: str, n: int, start: Any) -> None:
    journal = Journal(Path(path), by)
    start.wait(10)
    for i in range(n):
        journal.record("probe", durable=i % 50 == 0, seq=i, payload=PAYLOAD)


def test_two_processes_append_concurrently_and_every_line_parses(tmp_path):
    path = tmp_path / "journal.jsonl"
    mp = multiprocessing.get_context("fork")
    start = mp.Event()
    writers = [
        mp.Process(target=_write_events, args=(str(path), by, N, start))
        for by in ("harness", "watchdog")
    ]
    for w in writers:
        w.start()
    start.set()
    for w in writers:
        w.join(timeout=30)
        assert w.exitcode == 0
    lines = path.read_bytes().splitlines()
    assert len(lines) == 2 * N
    events = [json.loads(line) for line in lines]  # every line parses on its own
    assert events == read_events(path)
    pids = {w.pid for w in writers}
    for by in ("harness", "watchdog"):
        mine = [e for e in events if e["by"] == by]
        assert [e["seq"] for e in mine] == list(range(N))  # each writer's order is kept
        assert len({e["pid"] for e in mine}) == 1
        assert mine[0]["pid"] in pids
    assert {e["pid"] for e in events} == pids


def test_a_torn_last_line_is_skipped_and_tail_waits_for_it(tmp_path):
    path = tmp_path / "journal.jsonl"
    journal = Journal.create(path, "harness", run_id="r1")
    journal.record("fault.applying", fault_id="r1/f0/0", action={"kind": "toxic"})
    reader = Journal(path, "reader")
    assert [e.event for e in reader.tail()] == ["run.started", "fault.applying"]

    whole = json.dumps(
        {"time": 1.0, "event": "fault.removed", "by": "x", "pid": 1, "fault_id": "r1/f0/0"}
    )
    half = len(whole) // 2
    with open(path, "ab") as fh:
        fh.write(whole[:half].encode())
    assert [e["event"] for e in read_events(path)] == ["run.started", "fault.applying"]
    assert reader.tail() == []  # the partial line is not returned, nor consumed
    assert [f.fault_id for f in still_open(path)] == ["r1/f0/0"]

    with open(path, "ab") as fh:
        fh.write(whole[half:].encode() + b"\n")
    (completed,) = reader.tail()
    assert isinstance(completed, FaultRemoved) and completed.fault_id == "r1/f0/0"
    assert still_open(path) == []


def test_a_torn_line_in_the_middle_does_not_hide_the_rest(tmp_path):
    path = tmp_path / "journal.jsonl"
    Journal.create(path, "harness")
    with open(path, "ab") as fh:
        fh.write(b'{"time": 1.0, "event": "fault.app\n')  # torn, then someone newline-terminated it
    Journal(path, "watchdog").record("watchdog.recovering", reason="gone")
    assert [e["event"] for e in read_events(path)] == ["run.started", "watchdog.recovering"]


def test_an_event_appended_after_a_torn_line_is_not_lost(tmp_path):
    path = tmp_path / "journal.jsonl"
    journal = Journal.create(path, "harness")
    journal.record("fault.applying", fault_id="f0", action={"kind": "toxic"})
    with open(path, "ab") as fh:  # the harness died in the middle of its next write
        fh.write(b'{"time": 2.0, "event": "fault.appl')
    Journal(path, "watchdog").record("fault.removed", fault_id="f0")
    assert "fault.removed" in [e["event"] for e in read_events(path)]
    assert still_open(path) == []


def test_tail_returns_only_new_events_from_every_writer(tmp_path):
    path = tmp_path / "journal.jsonl"
    harness = Journal.create(path, "harness")
    watchdog = Journal(path, "watchdog")
    assert [e.event for e in harness.tail()] == ["run.started"]
    assert harness.tail() == []
    watchdog.record("watchdog.recovering", reason="stale")
    harness.record("phase.start", phase="fault")
    new = harness.tail()
    assert [(e.event, e.by) for e in new] == [
        ("watchdog.recovering", "watchdog"),
        ("phase.start", "harness"),
    ]
    assert harness.tail() == []
    assert [e.event for e in watchdog.tail()] == [  # each reader has its own position
        "run.started",
        "watchdog.recovering",
        "phase.start",
    ]


def test_tail_of_a_missing_file_is_empty(tmp_path):
    assert Journal(tmp_path / "none.jsonl", "x").tail() == []
    assert read_events(tmp_path / "none.jsonl") == []


def _ev(event: str, fault_id: str) -> dict:
    return {"event": event, "fault_id": fault_id}


def test_open_faults_follow_applying_and_removed():
    events = [
        _ev("fault.applying", "a"),
        _ev("fault.applied", "a"),
        _ev("fault.applying", "b"),
        _ev("fault.applying", "c"),
        _ev("fault.removed", "b"),
        _ev("fault.revert_failed", "c"),
    ]
    assert [f.fault_id for f in open_faults(parse_events(events))] == ["a", "c"]
    closed = [*events, _ev("fault.removed", "a"), _ev("fault.removed", "c")]
    assert open_faults(parse_events(closed)) == []


def test_a_fault_removed_by_another_writer_is_closed(tmp_path):
    path = tmp_path / "journal.jsonl"
    harness = Journal.create(path, "harness")
    harness.record("fault.applying", fault_id="f0", action={})
    harness.record("fault.applying", fault_id="f1", action={})
    watchdog = Journal(path, "watchdog")
    watchdog.record("fault.revert_failed", fault_id="f1", error="503")
    watchdog.record("fault.removed", fault_id="f0")
    assert [f.fault_id for f in still_open(path)] == ["f1"]  # a failed revert stays open
    assert still_open(path)[0].by == "harness"  # the applying event, with its action


def test_render_json_without_a_verdict(tmp_path):
    path = tmp_path / "journal.jsonl"
    journal = Journal.create(path, "harness", run_id="r1", experiment="exp", seed=7)
    journal.record("fault.applying", fault_id="r1/f0/0", action={"kind": "toxic"})
    out = render_json(path)
    assert out == rendered_path(path) == tmp_path / "journal.json"
    doc = json.loads(out.read_text())
    assert doc["run_id"] == "r1" and doc["experiment"] == "exp" and doc["seed"] == 7
    assert doc["version"] == "harness/v1"
    assert doc["verdict"] is None
    assert doc["open_faults"] == ["r1/f0/0"]
    assert [e["event"] for e in doc["events"]] == ["run.started", "fault.applying"]
    assert not {"time", "by", "pid", "event"} & (doc.keys() - {"events"})


def test_render_json_takes_the_last_verdict(tmp_path):
    path = tmp_path / "journal.jsonl"
    journal = Journal.create(path, "harness", run_id="r1")
    journal.record("verdict", verdict="held", exit_code=0, reasons=[])
    journal.record("verdict", verdict="error", exit_code=4, reasons=["boom"])
    doc = json.loads(render_json(path).read_text())
    assert (doc["verdict"], doc["exit_code"], doc["reasons"]) == ("error", 4, ["boom"])
    assert doc["run_id"] == "r1"
    assert doc["open_faults"] == []


def test_render_json_is_atomic_from_many_threads(tmp_path):
    path = tmp_path / "journal.jsonl"
    journal = Journal.create(path, "harness", run_id="r1")
    errors: list[BaseException] = []

    def render(n: int) -> None:
        try:
            for i in range(n):
                journal.record("probe", durable=False, i=i)
                render_json(path)
                json.loads(rendered_path(path).read_text())  # never half a file
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=render, args=(20,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert sorted(os.listdir(tmp_path)) == ["journal.json", "journal.jsonl"]  # no tmp left
