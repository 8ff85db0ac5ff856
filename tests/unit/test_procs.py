"""Process identity: a signal only reaches the very process we started."""

import signal
import subprocess
import sys

from harness.procs import ProcessRef, start_time_of
from tests.waiting import wait_for


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_stop_terminates_our_process():
    proc = _sleeper()
    ref = ProcessRef.of(proc.pid)
    assert ref.alive()
    ref.stop(timeout=5)
    proc.wait(timeout=5)
    assert not ref.alive()


def test_a_reused_pid_with_another_start_time_is_not_signalled():
    proc = _sleeper()
    try:
        impostor = ProcessRef(proc.pid, start_time_of(proc.pid) - 1)
        assert not impostor.alive()
        assert impostor.send(signal.SIGTERM) is False
        assert proc.poll() is None  # untouched
    finally:
        proc.kill()
        proc.wait()


def test_paused_process_is_seen_as_stopped_and_stop_still_works():
    proc = _sleeper()
    ref = ProcessRef.of(proc.pid)
    ref.send(signal.SIGSTOP)
    wait_for(ref.stopped, 5, "the process to be stopped")
    ref.stop(timeout=5)  # SIGCONT first, then SIGTERM
    proc.wait(timeout=5)
    assert proc.returncode == -signal.SIGTERM
