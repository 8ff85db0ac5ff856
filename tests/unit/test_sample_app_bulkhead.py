"""Bulkhead limits and load shedding."""

from __future__ import annotations

import asyncio

import pytest

from sample_app.resilience import Bulkhead, BulkheadFull, LoadShedder

pytestmark = pytest.mark.anyio


async def test_bulkhead_admits_up_to_its_limit_then_fails_fast():
    bulkhead = Bulkhead("orders", limit=2, max_wait=1.0)
    async with bulkhead.slot(), bulkhead.slot():
        assert bulkhead.in_use == 2
        with pytest.raises(BulkheadFull):
            async with bulkhead.slot(wait=0):
                pass
    assert bulkhead.in_use == 0


async def test_bulkhead_wait_is_bounded():
    bulkhead = Bulkhead("orders", limit=1, max_wait=0.02)
    loop = asyncio.get_running_loop()
    async with bulkhead.slot():
        start = loop.time()
        with pytest.raises(BulkheadFull):
            async with bulkhead.slot(wait=5.0):  # capped by max_wait
                pass
        assert loop.time() - start < 1.0


async def test_a_waiter_gets_the_slot_when_it_frees():
    bulkhead = Bulkhead("catalog", limit=1, max_wait=5.0)
    release = asyncio.Event()
    entered = asyncio.Event()

    async def holder() -> None:
        async with bulkhead.slot():
            entered.set()
            await release.wait()

    task = asyncio.create_task(holder())
    await entered.wait()
    waiter = asyncio.create_task(_enter(bulkhead))
    await asyncio.sleep(0)  # let the waiter queue up
    assert not waiter.done()
    release.set()
    async with asyncio.timeout(5):
        assert await waiter == 1
        await task
    assert bulkhead.in_use == 0


async def _enter(bulkhead: Bulkhead) -> int:
    async with bulkhead.slot():
        return bulkhead.in_use


async def test_slot_is_released_when_the_body_raises():
    bulkhead = Bulkhead("catalog", limit=1, max_wait=0)
    with pytest.raises(RuntimeError):
        async with bulkhead.slot():
            raise RuntimeError("boom")
    async with bulkhead.slot():
        assert bulkhead.in_use == 1


def test_bulkhead_needs_a_slot():
    with pytest.raises(ValueError):
        Bulkhead("x", limit=0, max_wait=0)


def test_shedder_refuses_beyond_its_limit_and_recovers():
    shedder = LoadShedder(limit=2)
    assert shedder.try_enter() and shedder.try_enter()
    assert not shedder.try_enter()
    assert shedder.in_flight == 2
    shedder.leave()
    assert shedder.try_enter()
