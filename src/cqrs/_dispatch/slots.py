"""`Slots`: a counting limiter shared by every `emit_events` call of one processor.

Unlike `asyncio.Semaphore` it is bound to no event loop: a mediator built at import
time may serve several loops, even in several threads at once (the limit then holds
across all of them). It hands a released slot straight to the oldest waiter, so a
waiting call cannot be overtaken; a waiter of another loop is woken on its own loop
(`call_soon_threadsafe`), never from the releasing thread.
"""

from __future__ import annotations

import asyncio
import collections
import threading

__all__ = ("Slots",)


class Slots:
    __slots__ = ("_free", "_lock", "_waiters")

    def __init__(self, count: int) -> None:
        self._free = count
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            if self._free > 0 and not self._waiters:
                self._free -= 1
                return True
            return False

    async def acquire(self) -> None:
        if self.try_acquire():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._lock:
            if self._free > 0 and not self._waiters:  # released meanwhile, by another thread
                self._free -= 1
                return
            self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed over just as we were cancelled: pass it on
            else:
                with self._lock:
                    # A release may already have popped (and skipped) our waiter.
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        with self._lock:
            if not self._waiters:  # the common case: nobody waits, no loop to look up
                self._free += 1
                return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                if waiter.done():
                    continue  # cancelled
                loop = waiter.get_loop()
                if loop is running:
                    waiter.set_result(None)
                    return
                try:
                    loop.call_soon_threadsafe(self._hand_over, waiter)
                except RuntimeError:  # its loop is closed: the waiter is gone
                    continue
                return
            self._free += 1

    def _hand_over(self, waiter: asyncio.Future[None]) -> None:
        # On the waiter's own loop: it may have been cancelled since it was picked.
        if waiter.done():
            self.release()
        else:
            waiter.set_result(None)
