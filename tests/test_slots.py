"""`Slots`, the limiter behind the event concurrency limit, on its awkward paths."""

from __future__ import annotations

import asyncio

import pytest

from cqrs._dispatch.slots import Slots


async def test_a_waiter_cancelled_after_its_slot_was_released_raises_cancelled_error() -> None:
    slots = Slots(1)
    await slots.acquire()
    waiting = asyncio.ensure_future(slots.acquire())
    await asyncio.sleep(0)  # the waiter is queued

    # In one turn: the waiter is cancelled, then the holder releases. The release pops
    # the cancelled waiter, skips it and frees the slot; the waiter must still end
    # with its cancellation, not with an error about a waiter that is gone.
    waiting.cancel()
    slots.release()
    with pytest.raises(asyncio.CancelledError):
        await waiting

    assert slots.try_acquire()  # the slot is free again, exactly once
    assert not slots.try_acquire()


async def test_a_slot_handed_to_a_cancelled_waiter_is_passed_on() -> None:
    slots = Slots(1)
    await slots.acquire()
    first = asyncio.ensure_future(slots.acquire())
    second = asyncio.ensure_future(slots.acquire())
    await asyncio.sleep(0)

    slots.release()  # handed to `first`...
    first.cancel()  # ...which is cancelled before it resumes: `second` gets the slot
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, timeout=5)  # a guard, not a clock

    assert not slots.try_acquire()
