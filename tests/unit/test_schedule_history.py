"""The schedule history: one JSON line per slot, appended, torn lines skipped."""

from __future__ import annotations

import json
import os
from multiprocessing import Process

from harness.schedule.history import (
    HISTORY_FILE,
    Entry,
    ExperimentRun,
    append,
    clear_inflight,
    read_entries,
    read_inflight,
    write_inflight,
)


def entry(slot: str, decision: str = "skipped", **kw) -> Entry:
    return Entry(slot, 1.0, "s", decision, **kw)  # type: ignore[arg-type]


def test_append_then_read_round_trips(tmp_path):
    run = ExperimentRun("exp", "held", "held", 0, "runs/x/report.html")
    append(tmp_path, entry("a", "ran", experiments=[run], seconds=12.5))
    append(tmp_path, entry("b", reason="alert firing: X"))
    first, second = read_entries(tmp_path)
    assert first.experiments == [run] and first.clean and first.seconds == 12.5
    assert second.reason == "alert firing: X"


def test_no_history_is_empty(tmp_path):
    assert read_entries(tmp_path / "nowhere") == []


def test_a_torn_last_line_is_skipped_and_the_next_entry_kept(tmp_path):
    append(tmp_path, entry("a"))
    with open(tmp_path / HISTORY_FILE, "a") as fh:
        fh.write('{"slot": "torn", "decis')  # a crash mid-write
    assert [e.slot for e in read_entries(tmp_path)] == ["a"]
    append(tmp_path, entry("c"))
    assert [e.slot for e in read_entries(tmp_path)] == ["a", "c"]
    lines = (tmp_path / HISTORY_FILE).read_text().splitlines()
    assert lines[1] == '{"slot": "torn", "decis' and json.loads(lines[2])["slot"] == "c"


def test_foreign_lines_are_skipped(tmp_path):
    (tmp_path / HISTORY_FILE).write_text('[1, 2]\n{"other": true}\nnot json\n')
    append(tmp_path, entry("a"))
    assert [e.slot for e in read_entries(tmp_path)] == ["a"]


def _writer(folder, n):
    for i in range(n):
        append(folder, entry(f"{os.getpid()}-{i}", reason="x" * 3000))


def test_concurrent_appends_never_interleave(tmp_path):
    procs = [Process(target=_writer, args=(tmp_path, 40)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert len(read_entries(tmp_path)) == 120


def test_inflight_marker(tmp_path):
    assert read_inflight(tmp_path) is None
    write_inflight(tmp_path, "slot-1")
    assert read_inflight(tmp_path) == {"slot": "slot-1", "pid": os.getpid()}
    clear_inflight(tmp_path)
    assert read_inflight(tmp_path) is None
