"""`OutboxRelay`: publishes committed outbox rows through a `MessageBroker`, at least once.

One iteration (`run_once`) is three steps, each short:

1. **Claim** a batch in its own transaction: `get_many(batch_size, lease=...)`, commit.
   On PostgreSQL and MariaDB the claim takes `FOR UPDATE SKIP LOCKED` and writes a lease
   (`locked_until`), so other relays skip these rows until the lease ends.
2. **Publish** each event *outside* any transaction, as the mediator's emitter does:
   `Message(message_name=type(event).__name__, message_id=event.event_id,
   topic=row.topic, payload=event.to_dict())`.
3. **Mark** the outcomes in a new transaction: PRODUCED, or NOT_PRODUCED with
   `retry_at` = now + exponential backoff with jitter (`Backoff`) and the error text.
   The repository turns a row FAILED when it reaches its `max_attempts`; the relay logs
   that at ERROR, naming the event. A FAILED row is kept (re-drive it with
   `update_status(id, EventStatus.NEW)`).

Delivery is **at least once**: a relay that dies (or loses the database) after a
publish and before its mark commits publishes those rows again once their lease ends.
A batch claimed but not published (the relay stopped, or the lease ran short) is
released when its lease ends. Publishing stops once `lease_margin` of the lease is
used, so a slow broker cannot make a lease expire under a publish in progress.

`run()` loops: it polls every `poll_interval` seconds when idle, goes on at once after
a full batch or a wake-up (`wake()`, or `wakeups=`: PostgreSQL `LISTEN/NOTIFY` by
default on asyncpg, see `cqrs.outbox.notify`), and survives a failing database or
broker (logged, backed off with `error_backoff`, retried).

Rows with a `partition_key` are published in the order they were added: only the
earliest pending row of a key is claimable, so a key advances one row per claim, and
a row waiting for a retry holds its key back (a FAILED row no longer does). Rows
without a key are not ordered.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import logging
import math
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import (
    TYPE_CHECKING,
    Any,
    Final,
    Literal,
    Protocol,
    TypeAlias,
    TypeVar,
    cast,
    runtime_checkable,
)

from cqrs.events import INotificationEvent
from cqrs.exceptions import InvalidConfigurationError
from cqrs.message_brokers import Message, MessageBroker
from cqrs.outbox.repository import (
    DEFAULT_MAX_ATTEMPTS,
    EventStatus,
    OutboxedEvent,
    OutboxedEventRepository,
)

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import AsyncSession

    from cqrs.outbox.map import OutboxedEventMap

__all__ = (
    "DEFAULT_LEASE",
    "Backoff",
    "OutboxRelay",
    "OutboxRelayRepository",
    "PublishOutcome",
    "RepositoryFactory",
    "Wakeups",
    "outbox_message",
)

_logger = logging.getLogger("cqrs.outbox")

DEFAULT_LEASE: Final = datetime.timedelta(seconds=60)
"""How long a claimed batch stays claimed by one relay (published and marked within it)."""

_MARK_ATTEMPTS: Final = 5

_T = TypeVar("_T")


@runtime_checkable
class OutboxRelayRepository(OutboxedEventRepository, Protocol):
    """The repository a relay needs: python-cqrs's protocol with leases, backoff and errors.

    `MemoryOutboxedEventRepository` and `SqlAlchemyOutboxedEventRepository` implement it.
    """

    async def get_many(
        self,
        batch_size: int = 100,
        topic: str | None = None,
        *,
        lease: datetime.timedelta | None = None,
    ) -> list[OutboxedEvent]:
        """Claim up to `batch_size` due rows, leased for `lease` after the commit."""
        ...

    async def update_status(
        self,
        outboxed_event_id: int,
        new_status: EventStatus,
        *,
        retry_at: datetime.datetime | None = None,
        error: str | None = None,
    ) -> None:
        """Record an outcome; NOT_PRODUCED rows are not claimed again before `retry_at`."""
        ...


@runtime_checkable
class Wakeups(Protocol):
    """Tells an idle relay that rows were committed, so it claims before its next poll.

    `cqrs.outbox.sqlalchemy.PostgresNotifications` (PostgreSQL `LISTEN/NOTIFY`) is one.
    """

    async def listen(self, wake: Callable[[], None], /) -> None:
        """Call `wake()` whenever new rows may be due; run until cancelled.

        Raising ends this listening (it is logged and started again after a backoff);
        the relay polls meanwhile.
        """
        ...


RepositoryFactory: TypeAlias = Callable[
    [], "AbstractAsyncContextManager[OutboxRelayRepository] | OutboxRelayRepository"
]
"""Gives a fresh repository (its own session) per transaction.

Either an async context manager yielding the repository (closed after the transaction,
e.g. one that opens an `AsyncSession` from an `async_sessionmaker`), or the repository
itself (nothing to close, e.g. a `MemoryOutboxedEventRepository`).
"""


@dataclasses.dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: `min(maximum, initial * multiplier**(n-1) + U(0, jitter))`.

    The formula of tenacity's `wait_exponential_jitter` and stamina's retries (their
    helpers need a retry loop's state, so the relay computes it here).

    Attributes:
        initial: seconds before the first retry (attempt 1), before jitter.
        maximum: the cap, jitter included.
        multiplier: the growth factor per attempt.
        jitter: up to this many seconds added at random (spreads retries of a batch).

    Example:
        >>> backoff = Backoff(initial=1.0, maximum=30.0, multiplier=2.0, jitter=0.0)
        >>> [backoff.delay(attempt) for attempt in (1, 2, 3, 6, 1000)]
        [1.0, 2.0, 4.0, 30.0, 30.0]
    """

    initial: float = 1.0
    maximum: float = 300.0
    multiplier: float = 2.0
    jitter: float = 1.0

    def __post_init__(self) -> None:
        values = (self.initial, self.maximum, self.multiplier, self.jitter)
        if not all(math.isfinite(value) for value in values):
            msg = f"backoff settings must be finite numbers, got {self!r}"
            raise InvalidConfigurationError(msg)
        if self.initial < 0 or self.jitter < 0 or self.multiplier < 1:
            msg = f"backoff needs initial >= 0, jitter >= 0 and multiplier >= 1, got {self!r}"
            raise InvalidConfigurationError(msg)
        if self.maximum < self.initial:
            msg = f"backoff maximum must be at least initial, got {self!r}"
            raise InvalidConfigurationError(msg)

    def delay(self, attempt: int, *, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 for the first)."""
        exponent = max(attempt, 1) - 1
        try:
            base = self.initial * self.multiplier**exponent
        except OverflowError:
            base = math.inf
        if self.jitter:
            base += (rng if rng is not None else _RANDOM).uniform(0.0, self.jitter)
        return min(self.maximum, base)


_RANDOM = random.Random()  # noqa: S311 - jitter, not cryptography


def outbox_message(outboxed: OutboxedEvent, /) -> Message:
    """The `Message` a row is published as: the emitter's message, to the row's topic."""
    event: INotificationEvent[Any] = outboxed.event
    return Message(
        message_name=type(event).__name__,
        message_id=event.event_id,
        topic=outboxed.topic,
        payload=event.to_dict(),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class PublishOutcome:
    """What publishing one row did.

    Attributes:
        outboxed: the row.
        error: why the publish failed (the exception's type and text); None: published.
    """

    outboxed: OutboxedEvent
    error: str | None = None


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _describe(outboxed: OutboxedEvent) -> str:
    event = outboxed.event
    return (
        f"outbox row {outboxed.id} ({type(event).__name__} {event.event_id}, "
        f"topic {outboxed.topic!r})"
    )


def _error_text(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__qualname__}: {text}" if text else type(error).__qualname__


class OutboxRelay:
    """Publishes committed outbox rows through a `MessageBroker` (see the module docstring).

    Args:
        repositories: gives a fresh repository per transaction (`RepositoryFactory`);
            `OutboxRelay.for_sqlalchemy` builds one from an `async_sessionmaker`.
        message_broker: where the events go.
        batch_size: rows claimed per transaction.
        lease: how long a claimed batch stays claimed; publishing stops once
            `lease_margin` of it is used (the rest is claimed again when it ends).
        max_attempts: the repositories' `max_attempts` (the relay reports the attempt
            that makes a row FAILED); `for_sqlalchemy` passes it to them.
        backoff: the delay before a row whose publish failed is claimed again.
        poll_interval: seconds between claims while the outbox is empty (with
            `wakeups`, the longest an idle relay waits when a wake-up is lost).
        error_backoff: the delay after an iteration failed (database or broker down),
            growing with consecutive failures.
        topic: claim only rows of this topic (None: every topic).
        lease_margin: the share of the lease publishing may use (0 < margin <= 1).
        wakeups: wakes the idle relay when rows are committed (e.g.
            `PostgresNotifications`); `wake()` does the same from your own code.

    Example:
        >>> import asyncio, cqrs
        >>> from cqrs.message_brokers import Message
        >>> from cqrs.outbox import MemoryOutbox, MemoryOutboxedEventRepository, OutboxedEventMap
        >>> class Joined(cqrs.NotificationEvent[dict[str, str]], frozen=True):
        ...     pass
        >>> class Printer:
        ...     async def send_message(self, message: Message, /) -> None:
        ...         print(message.message_name, message.topic, message.payload["payload"])
        >>> events, outbox = OutboxedEventMap(Joined), MemoryOutbox()
        >>> handler_side = MemoryOutboxedEventRepository(events, outbox=outbox)
        >>> handler_side.add(Joined(event_name="joined", topic="users", payload={"u": "1"}))
        >>> asyncio.run(handler_side.commit())
        >>> relay = OutboxRelay(
        ...     lambda: MemoryOutboxedEventRepository(events, outbox=outbox), Printer()
        ... )
        >>> asyncio.run(relay.run_once())
        Joined users {'u': '1'}
        1
        >>> outbox.status_of(1)
        <EventStatus.PRODUCED: 'produced'>
    """

    __slots__ = (
        "_backoff",
        "_batch_size",
        "_broker",
        "_error_backoff",
        "_lease",
        "_lease_margin",
        "_max_attempts",
        "_poll_interval",
        "_repositories",
        "_run_stop",
        "_stop",
        "_topic",
        "_wake",
        "_wakeups",
    )

    def __init__(
        self,
        repositories: RepositoryFactory,
        message_broker: MessageBroker,
        *,
        batch_size: int = 100,
        lease: datetime.timedelta = DEFAULT_LEASE,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff: Backoff | None = None,
        poll_interval: float = 1.0,
        error_backoff: Backoff | None = None,
        topic: str | None = None,
        lease_margin: float = 0.8,
        wakeups: Wakeups | None = None,
    ) -> None:
        if batch_size < 1:
            msg = f"batch_size must be at least 1, got {batch_size}"
            raise InvalidConfigurationError(msg)
        if lease <= datetime.timedelta(0):
            msg = f"lease must be positive, got {lease}"
            raise InvalidConfigurationError(msg)
        if max_attempts < 1:
            msg = f"max_attempts must be at least 1, got {max_attempts}"
            raise InvalidConfigurationError(msg)
        if not (math.isfinite(poll_interval) and poll_interval >= 0):
            msg = f"poll_interval must be a number of seconds >= 0, got {poll_interval}"
            raise InvalidConfigurationError(msg)
        if not 0 < lease_margin <= 1:
            msg = f"lease_margin must be in (0, 1], got {lease_margin}"
            raise InvalidConfigurationError(msg)
        self._repositories = repositories
        self._broker = message_broker
        self._batch_size = batch_size
        self._lease = lease
        self._max_attempts = max_attempts
        self._backoff = backoff if backoff is not None else Backoff()
        self._poll_interval = poll_interval
        self._error_backoff = (
            error_backoff if error_backoff is not None else Backoff(initial=0.5, maximum=30.0)
        )
        self._topic = topic
        self._lease_margin = lease_margin
        self._stop = asyncio.Event()
        self._run_stop: asyncio.Event | None = None
        self._wake = asyncio.Event()
        self._wakeups = wakeups

    @classmethod
    def for_sqlalchemy(
        cls,
        sessionmaker: Callable[[], AsyncSession],
        event_map: OutboxedEventMap,
        message_broker: MessageBroker,
        *,
        table: sa.Table | None = None,
        batch_size: int = 100,
        lease: datetime.timedelta = DEFAULT_LEASE,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff: Backoff | None = None,
        poll_interval: float = 1.0,
        error_backoff: Backoff | None = None,
        topic: str | None = None,
        lease_margin: float = 0.8,
        wakeups: Wakeups | Literal["auto"] | None = "auto",
    ) -> OutboxRelay:
        """A relay over `SqlAlchemyOutboxedEventRepository`, one session per transaction.

        Args:
            sessionmaker: an `async_sessionmaker` (or any callable giving an
                `AsyncSession`); each transaction opens and closes its own session.
            event_map: the event classes the outbox stores.
            message_broker: where the events go.
            table: the outbox table (`outbox_table(...)`; default: the `outbox` table).
            wakeups: as for `OutboxRelay`; "auto": `PostgresNotifications` when
                `sessionmaker` is an `async_sessionmaker` bound to a PostgreSQL engine
                on asyncpg (the repository notifies on commit), else none (polling).

        `batch_size`, `lease`, `max_attempts`, `backoff`, `poll_interval`,
        `error_backoff`, `topic` and `lease_margin` are as for `OutboxRelay`.
        """
        from cqrs.outbox.notify import PostgresNotifications
        from cqrs.outbox.sqlalchemy import SqlAlchemyOutboxedEventRepository

        chosen = (
            PostgresNotifications.for_sessionmaker(sessionmaker, table=table)
            if wakeups == "auto"
            else wakeups
        )

        @contextlib.asynccontextmanager
        async def repositories() -> AsyncGenerator[OutboxRelayRepository, None]:
            async with sessionmaker() as session:
                yield SqlAlchemyOutboxedEventRepository(
                    session, event_map, table=table, max_attempts=max_attempts
                )

        return cls(
            repositories,
            message_broker,
            batch_size=batch_size,
            lease=lease,
            max_attempts=max_attempts,
            backoff=backoff,
            poll_interval=poll_interval,
            error_backoff=error_backoff,
            topic=topic,
            lease_margin=lease_margin,
            wakeups=chosen,
        )

    @property
    def message_broker(self) -> MessageBroker:
        """Where the events go."""
        return self._broker

    @property
    def wakeups(self) -> Wakeups | None:
        """What wakes this relay when idle (None: it polls)."""
        return self._wakeups

    @property
    def max_attempts(self) -> int:
        """Failed attempts after which a row is FAILED."""
        return self._max_attempts

    def __repr__(self) -> str:
        return (
            f"OutboxRelay(broker={self._broker!r}, batch_size={self._batch_size}, "
            f"lease={self._lease}, max_attempts={self._max_attempts})"
        )

    def stop(self) -> None:
        """Ask `run()` to stop after the current batch's status updates."""
        self._stop.set()

    def wake(self) -> None:
        """Make an idle `run()` claim now instead of at its next poll."""
        self._wake.set()

    async def run_once(self) -> int:
        """Claim, publish and mark one batch; the number of rows published or failed.

        Raises:
            Exception: the database failed while claiming or marking (a publish
                failure is recorded on its row, not raised). Rows published but not
                marked are published again once their lease ends.
        """
        started = time.monotonic()
        batch = await self._in_transaction(self._claim)
        if not batch:
            return 0
        deadline = started + self._lease.total_seconds() * self._lease_margin
        outcomes: list[PublishOutcome] = []
        for outboxed in batch:
            if self._stopping() or time.monotonic() >= deadline:
                # Not published: claimed again when the lease ends.
                _logger.info(
                    "outbox relay leaves %d claimed rows to their lease (%s)",
                    len(batch) - len(outcomes),
                    "stopping" if self._stopping() else "lease running out",
                )
                break
            outcomes.append(await self.publish(outboxed))
        if outcomes:
            # A cancelled relay still records what it published (fewer duplicates).
            await asyncio.shield(self._mark_with_retries(outcomes))
        return len(outcomes)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Relay until `stop` is set (or `stop()` is called); never raises on a failure.

        A failed iteration (database down, broker down, a bug) is logged with its
        traceback and retried after `error_backoff`, longer after each consecutive one.
        """
        failures = 0
        waiter = asyncio.ensure_future(stop.wait()) if stop is not None else None
        listener = (
            asyncio.ensure_future(self._listen(self._wakeups))
            if self._wakeups is not None
            else None
        )
        self._run_stop = stop
        try:
            if waiter is not None:
                waiter.add_done_callback(lambda _: self._stop.set())
            while not self._stopping():
                try:
                    handled = await self.run_once()
                except Exception:
                    failures += 1
                    delay = self._error_backoff.delay(failures)
                    _logger.exception(
                        "outbox relay iteration failed (%d in a row); retrying in %.1f s",
                        failures,
                        delay,
                    )
                    await self._sleep(delay)
                    continue
                failures = 0
                if handled < self._batch_size:
                    await self._idle(self._poll_interval)
        finally:
            if waiter is not None:
                waiter.cancel()
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
            self._run_stop = None
            self._stop.clear()

    async def publish(self, outboxed: OutboxedEvent, /) -> PublishOutcome:
        """Publish one row's event; the outcome to record (a failure is not raised)."""
        try:
            await self._broker.send_message(outbox_message(outboxed))
        except Exception as error:  # noqa: BLE001 - recorded on the row and retried
            text = _error_text(error)
            _logger.warning(
                "%s: publish attempt %d failed: %s",
                _describe(outboxed),
                outboxed.attempts + 1,
                text,
            )
            return PublishOutcome(outboxed, text)
        return PublishOutcome(outboxed, None)

    async def record(self, repository: OutboxRelayRepository, outcome: PublishOutcome, /) -> None:
        """Stage `outcome` in `repository` (PRODUCED, or NOT_PRODUCED with a backoff)."""
        outboxed = outcome.outboxed
        if outcome.error is None:
            await repository.update_status(outboxed.id, EventStatus.PRODUCED)
            return
        attempt = outboxed.attempts + 1
        retry_at = _utcnow() + datetime.timedelta(seconds=self._backoff.delay(attempt))
        await repository.update_status(
            outboxed.id, EventStatus.NOT_PRODUCED, retry_at=retry_at, error=outcome.error
        )

    def report(self, outcomes: Sequence[PublishOutcome], /) -> None:
        """Log at ERROR each row the recorded outcomes made FAILED."""
        for outcome in outcomes:
            attempt = outcome.outboxed.attempts + 1
            if outcome.error is not None and attempt >= self._max_attempts:
                _logger.error(
                    "%s FAILED after %d attempts, kept in the outbox (re-drive it with "
                    "update_status(%d, EventStatus.NEW)); last error: %s",
                    _describe(outcome.outboxed),
                    attempt,
                    outcome.outboxed.id,
                    outcome.error,
                )

    async def _claim(self, repository: OutboxRelayRepository) -> list[OutboxedEvent]:
        return await repository.get_many(self._batch_size, self._topic, lease=self._lease)

    async def _mark_with_retries(self, outcomes: Sequence[PublishOutcome]) -> None:
        async def mark(repository: OutboxRelayRepository) -> None:
            rest: Sequence[PublishOutcome] = outcomes
            mark_produced = getattr(repository, "mark_produced", None)
            if mark_produced is not None:
                # One statement for the published rows, then the failures one by one.
                produced = [o.outboxed.id for o in outcomes if o.error is None]
                await cast("Callable[[list[int]], Awaitable[None]]", mark_produced)(produced)
                rest = [o for o in outcomes if o.error is not None]
            for outcome in rest:
                await self.record(repository, outcome)

        for attempt in range(1, _MARK_ATTEMPTS + 1):
            try:
                await self._in_transaction(mark)
                break
            except Exception:
                if attempt == _MARK_ATTEMPTS:
                    raise
                delay = self._error_backoff.delay(attempt)
                _logger.exception(
                    "outbox relay could not record %d outcomes; retrying in %.1f s",
                    len(outcomes),
                    delay,
                )
                await asyncio.sleep(delay)
        self.report(outcomes)

    async def _in_transaction(self, work: Callable[[OutboxRelayRepository], Awaitable[_T]]) -> _T:
        made = self._repositories()
        if isinstance(made, AbstractAsyncContextManager):
            async with made as repository:
                return await self._commit_or_rollback(repository, work)
        return await self._commit_or_rollback(made, work)

    @staticmethod
    async def _commit_or_rollback(
        repository: OutboxRelayRepository,
        work: Callable[[OutboxRelayRepository], Awaitable[_T]],
    ) -> _T:
        try:
            result = await work(repository)
            await repository.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                await repository.rollback()
            raise
        return result

    def _stopping(self) -> bool:
        return self._stop.is_set() or (self._run_stop is not None and self._run_stop.is_set())

    async def _idle(self, seconds: float) -> None:
        # Until the poll interval ends, a wake-up, or stop; a wake-up during the last
        # batch (already set) makes this return at once.
        waits = [asyncio.ensure_future(self._stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        self._wake.clear()

    async def _listen(self, wakeups: Wakeups) -> None:
        failures = 0
        while True:
            try:
                await wakeups.listen(self.wake)
            except Exception:
                failures += 1
                delay = self._error_backoff.delay(failures)
                _logger.warning(
                    "outbox relay wake-ups (%r) failed; polling meanwhile, listening again "
                    "in %.1f s",
                    wakeups,
                    delay,
                    exc_info=True,
                )
                await asyncio.sleep(delay)
            else:  # it stopped by itself: listen again, without a busy loop
                failures = 0
                await asyncio.sleep(self._error_backoff.delay(1))

    async def _sleep(self, seconds: float) -> None:
        # asyncio.TimeoutError: wait_for's error, not yet the builtin one on Python 3.10.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
