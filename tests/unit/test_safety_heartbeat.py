"""The heartbeat beats from a thread: a busy or sleeping main thread is not a dead harness."""

from __future__ import annotations

import os
import time

from harness.safety.heartbeat import Heartbeat
from tests.waiting import wait_for

INTERVAL = 0.05
STALE = 10 * INTERVAL  # the watchdog's limit, in the same ratio as 5 s to a 0.5 s beat


def _age(path) -> float:
    return time.time() - os.stat(path).st_mtime


def _mtime(path) -> int:
    return os.stat(path).st_mtime_ns


def test_start_touches_the_file_at_once(tmp_path):
    path = tmp_path / "heartbeat"
    with Heartbeat(path, interval=10):
        assert path.exists()


def test_it_keeps_beating_while_the_main_thread_is_busy(tmp_path):
    path = tmp_path / "heartbeat"
    with Heartbeat(path, interval=INTERVAL):
        first = _mtime(path)
        worst = 0.0
        deadline = time.monotonic() + 4 * STALE  # busy for far longer than the stale limit
        while time.monotonic() < deadline:
            sum(i * i for i in range(2000))  # CPU work that never touches the file
            worst = max(worst, _age(path))
        assert _mtime(path) > first
        # a beat that waited for the main thread would be as old as the whole busy spell
        # (4 x STALE); the margin over STALE is for a loaded 2-core machine's scheduler
        assert worst < 2 * STALE


def test_it_keeps_beating_while_the_main_thread_sleeps(tmp_path):
    path = tmp_path / "heartbeat"
    with Heartbeat(path, interval=INTERVAL):
        first = _mtime(path)
        time.sleep(1.5 * STALE)  # the main thread is blocked: this is the case under test
        assert _mtime(path) > first
        assert _age(path) < STALE


def test_it_stops_beating_after_stop(tmp_path):
    path = tmp_path / "heartbeat"
    beat = Heartbeat(path, interval=INTERVAL).start()
    first = _mtime(path)
    wait_for(lambda: _mtime(path) > first, timeout=5, what="a beat", interval=0.01)
    beat.stop()
    assert not beat._thread.is_alive()
    last = _mtime(path)
    time.sleep(3 * INTERVAL)  # a stopped heartbeat stays silent over several intervals
    assert _mtime(path) == last


def test_stop_is_prompt_even_with_a_long_interval(tmp_path):
    beat = Heartbeat(tmp_path / "heartbeat", interval=30).start()
    started = time.monotonic()
    beat.stop()
    assert time.monotonic() - started < 0.5
    assert not beat._thread.is_alive()


def test_a_vanished_directory_does_not_kill_the_thread(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    path = folder / "heartbeat"
    beat = Heartbeat(path, interval=INTERVAL).start()
    try:
        path.unlink()
        folder.rmdir()
        time.sleep(2 * INTERVAL)  # beats fail while the directory is gone
        assert beat._thread.is_alive()
        folder.mkdir()
        wait_for(path.exists, timeout=5, what="the beat to resume", interval=0.01)
    finally:
        beat.stop()
