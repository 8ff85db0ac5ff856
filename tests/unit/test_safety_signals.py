"""SIGINT/SIGTERM as one typed exception, held back while faults come off."""

from __future__ import annotations

import os
import signal
import time

import pytest

from harness.safety.signals import (
    Interrupted,
    deferred_signals,
    hold_signals,
    noted_signals,
    raise_on_signals,
)


def _signal_self(signum: int) -> None:
    """Send `signum` to this process; Python runs its handler at the next bytecode."""
    os.kill(os.getpid(), signum)
    for _ in range(1000):  # the handler runs here, in the main thread, at once
        pass


@pytest.fixture(autouse=True)
def handlers_are_restored():
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    assert {s: signal.getsignal(s) for s in before} == before


def test_a_signal_raises_interrupted():
    with raise_on_signals(), pytest.raises(Interrupted) as exc:
        _signal_self(signal.SIGINT)
    assert exc.value.signum == signal.SIGINT
    assert "SIGINT" in str(exc.value)


def test_sigterm_raises_interrupted_too():
    with raise_on_signals(), pytest.raises(Interrupted) as exc:
        _signal_self(signal.SIGTERM)
    assert exc.value.signum == signal.SIGTERM


def test_handlers_are_restored_after_raise_on_signals():
    before = signal.getsignal(signal.SIGINT)
    with raise_on_signals():
        assert signal.getsignal(signal.SIGINT) is not before
    assert signal.getsignal(signal.SIGINT) is before
    with pytest.raises(KeyboardInterrupt):  # pytest's default handler is back
        _signal_self(signal.SIGINT)


def test_handlers_are_restored_when_the_block_raises():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(ValueError), raise_on_signals():
        raise ValueError("boom")
    assert signal.getsignal(signal.SIGTERM) is before


def test_the_first_signal_raises_and_the_next_is_only_noted():
    with raise_on_signals():
        with pytest.raises(Interrupted):
            _signal_self(signal.SIGINT)
        _signal_self(signal.SIGINT)  # handling the first must not be cut short
        assert noted_signals() == [signal.SIGINT]


def test_deferred_signals_let_the_block_finish_then_raise_the_first():
    done = []
    with raise_on_signals():
        with pytest.raises(Interrupted) as exc:
            with deferred_signals():
                _signal_self(signal.SIGINT)
                _signal_self(signal.SIGTERM)
                time.sleep(0.01)  # a blocking call is not cut short either
                done.append("reverted")
                assert noted_signals() == [signal.SIGINT, signal.SIGTERM]
            done.append("not reached")
        assert exc.value.signum == signal.SIGINT
        assert done == ["reverted"]
        # raised once: a later signal is noted, not raised into the handling of the first
        _signal_self(signal.SIGTERM)
        assert noted_signals()[-1] == signal.SIGTERM


def test_an_exception_in_the_deferred_block_goes_on_unchanged():
    with raise_on_signals():
        with pytest.raises(RuntimeError, match="revert failed"), deferred_signals():
            _signal_self(signal.SIGINT)
            raise RuntimeError("revert failed")
        assert noted_signals() == [signal.SIGINT]  # noted, not lost
        with pytest.raises(Interrupted):  # and the run still raises on the next one
            _signal_self(signal.SIGINT)


def test_a_quiet_deferred_block_raises_nothing():
    with raise_on_signals():
        with deferred_signals():
            pass
        assert noted_signals() == []
        with pytest.raises(Interrupted):
            _signal_self(signal.SIGINT)


def test_after_hold_signals_nothing_raises():
    with raise_on_signals():
        hold_signals()
        _signal_self(signal.SIGINT)
        _signal_self(signal.SIGTERM)
        with deferred_signals():  # a deferred block in a held run raises nothing after
            _signal_self(signal.SIGINT)
        assert noted_signals() == [signal.SIGINT, signal.SIGTERM, signal.SIGINT]
