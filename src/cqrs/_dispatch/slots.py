"""`Slots`: a counting limiter shared by every `emit_events` call of one processor.

Unlike `asyncio.Semaphore` it is bound to no event loop (a mediator built at import
time may serve several loops), and it hands a released slot straight to the oldest
waiter, so a waiting call cannot be overtaken.
"""

from __future__ import annotations

import asyncio
import collections

__all__ = ("Slots",)


class Slots:
    __slots__ = ("_free", "_waiters")

    def __init__(self, count: int) -> None:
        self._free = count
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def try_acquire(self) -> bool:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        return False

    async def acquire(self) -> None:
        if self.try_acquire():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed over just as we were cancelled: pass it on
            elif waiter in self._waiters:
                # A release may already have popped (and skipped) our cancelled waiter.
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1
