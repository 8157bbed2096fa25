"""`MemoryOutboxedEventRepository`: an outbox in memory, with transactions, for tests."""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from cqrs.events import INotificationEvent
from cqrs.exceptions import InvalidConfigurationError, MessageDecodeError
from cqrs.outbox.map import OutboxedEventMap
from cqrs.outbox.repository import DEFAULT_MAX_ATTEMPTS, EventStatus, OutboxedEvent

__all__ = ("MemoryOutbox", "MemoryOutboxedEventRepository")

_logger = logging.getLogger("cqrs.outbox")

_CLAIMABLE = (EventStatus.NEW, EventStatus.NOT_PRODUCED)


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


@dataclasses.dataclass(slots=True)
class _Row:
    """One stored event in a `MemoryOutbox`: the columns of the SQL table."""

    id: int
    event_name: str
    topic: str
    payload: dict[str, Any]
    partition_key: str | None
    next_attempt_at: datetime.datetime
    status: EventStatus = EventStatus.NEW
    attempts: int = 0
    locked_until: datetime.datetime | None = None
    last_error: str | None = None


class MemoryOutbox:
    """The committed rows of an in-memory outbox: one "database" for many repositories.

    Pass one to every `MemoryOutboxedEventRepository` that should see the same rows
    (the handlers' and the relay's), as they would share a database table.
    """

    __slots__ = ("_ids", "_locks", "rows")

    def __init__(self) -> None:
        self.rows: dict[int, _Row] = {}
        self._ids = itertools.count(1)
        self._locks: dict[int, object] = {}

    def insert(self, row: _Row) -> None:
        """Store a committed row under the next id."""
        row.id = next(self._ids)
        self.rows[row.id] = row

    def hold(self, row_id: int, owner: object) -> bool:
        """Lock a row for `owner`, unless another owner holds it (SKIP LOCKED)."""
        return self._locks.setdefault(row_id, owner) is owner

    def release(self, owner: object) -> None:
        """Release every row `owner` holds (its transaction ended)."""
        for row_id in [row_id for row_id, held in self._locks.items() if held is owner]:
            del self._locks[row_id]

    def status_of(self, outboxed_event_id: int) -> EventStatus:
        """The committed status of a row (for assertions in tests)."""
        return self.rows[outboxed_event_id].status

    def __len__(self) -> int:
        return len(self.rows)


class MemoryOutboxedEventRepository:
    """An `OutboxedEventRepository` in memory, with the transaction semantics of SQL.

    One repository is one session: `add` and `update_status` are staged and reach the
    shared `MemoryOutbox` on `commit` (`rollback` discards them); `get_many` reads
    committed rows and, like `FOR UPDATE SKIP LOCKED`, skips rows another open
    repository holds, holding the ones it returns until its commit or rollback.

    Example:
        >>> import asyncio, cqrs
        >>> class Joined(cqrs.NotificationEvent[dict[str, str]], frozen=True):
        ...     pass
        >>> outbox = MemoryOutbox()
        >>> repo = MemoryOutboxedEventRepository(OutboxedEventMap(Joined), outbox=outbox)
        >>> repo.add(Joined(event_name="joined", payload={"user": "u1"}))
        >>> asyncio.run(repo.get_many())  # staged, not committed
        []
        >>> asyncio.run(repo.commit())
        >>> [row.event.payload for row in asyncio.run(repo.get_many())]
        [{'user': 'u1'}]
    """

    __slots__ = (
        "_added",
        "_clock",
        "_event_map",
        "_leases",
        "_max_attempts",
        "_outbox",
        "_updates",
    )

    def __init__(
        self,
        event_map: OutboxedEventMap,
        *,
        outbox: MemoryOutbox | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        clock: Callable[[], datetime.datetime] | None = None,
    ) -> None:
        if max_attempts < 1:
            msg = f"max_attempts must be at least 1, got {max_attempts}"
            raise InvalidConfigurationError(msg)
        self._event_map = event_map
        self._outbox = outbox if outbox is not None else MemoryOutbox()
        self._max_attempts = max_attempts
        self._clock = clock if clock is not None else _utcnow
        self._added: list[_Row] = []
        self._leases: dict[int, datetime.datetime] = {}
        self._updates: list[tuple[int, EventStatus, datetime.datetime | None, str | None]] = []

    @property
    def outbox(self) -> MemoryOutbox:
        """The shared rows this repository commits to."""
        return self._outbox

    def add(
        self,
        event: INotificationEvent[Any],
        *,
        partition_key: str | None = None,
        not_before: datetime.datetime | None = None,
    ) -> None:
        """Stage `event` (its class must be registered); `commit` stores it."""
        name, payload = self._event_map.encode(event)
        self._added.append(
            _Row(
                id=0,
                event_name=name,
                topic=event.topic,
                payload=payload,
                partition_key=(
                    partition_key
                    if partition_key is not None
                    else self._event_map.partition_key_of(event)
                ),
                next_attempt_at=not_before if not_before is not None else self._clock(),
            )
        )

    async def get_many(
        self,
        batch_size: int = 100,
        topic: str | None = None,
        *,
        lease: datetime.timedelta | None = None,
    ) -> list[OutboxedEvent]:
        """Committed rows due now, not held by another repository; they are held until commit."""
        now = self._clock()
        # Per-key order: only the earliest pending row of a key is claimable.
        first_pending: dict[str, int] = {}
        for row in self._outbox.rows.values():
            if row.partition_key is not None and row.status in _CLAIMABLE:
                known = first_pending.get(row.partition_key)
                if known is None or row.id < known:
                    first_pending[row.partition_key] = row.id
        found: list[OutboxedEvent] = []
        for row in sorted(
            self._outbox.rows.values(), key=lambda row: (row.next_attempt_at, row.id)
        ):
            if len(found) >= batch_size:
                break
            if (
                row.status not in _CLAIMABLE
                or row.next_attempt_at > now
                or (row.locked_until is not None and row.locked_until > now)
                or (topic is not None and row.topic != topic)
                or (row.partition_key is not None and first_pending[row.partition_key] != row.id)
                or any(update[0] == row.id for update in self._updates)
                or not self._outbox.hold(row.id, self)
            ):
                continue
            try:
                event = self._event_map.decode(row.event_name, row.payload)
            except MessageDecodeError as error:
                _logger.exception("outbox row %s (%s) cannot be decoded", row.id, row.event_name)
                self._updates.append((row.id, EventStatus.NOT_PRODUCED, None, str(error)))
                continue
            if lease is not None:
                self._leases[row.id] = now + lease
            found.append(
                OutboxedEvent(
                    id=row.id,
                    event=event,
                    topic=row.topic,
                    status=row.status,
                    attempts=row.attempts,
                    partition_key=row.partition_key,
                )
            )
        return found

    async def update_status(
        self,
        outboxed_event_id: int,
        new_status: EventStatus,
        *,
        retry_at: datetime.datetime | None = None,
        error: str | None = None,
    ) -> None:
        """Stage a status change (see the state machine in `cqrs.outbox.repository`)."""
        self._updates.append((outboxed_event_id, EventStatus(new_status), retry_at, error))

    async def mark_produced(self, outboxed_event_ids: Sequence[int], /) -> None:
        """`update_status(id, PRODUCED)` for each of the rows."""
        for outboxed_event_id in outboxed_event_ids:
            await self.update_status(outboxed_event_id, EventStatus.PRODUCED)

    async def commit(self) -> None:
        """Store the staged rows and status changes; release the rows held."""
        for row in self._added:
            self._outbox.insert(row)
        for row_id, until in self._leases.items():
            self._outbox.rows[row_id].locked_until = until
        now = self._clock()
        for row_id, status, retry_at, error in self._updates:
            stored = self._outbox.rows.get(row_id)
            if stored is not None:
                self._apply(stored, status, retry_at, error, now)
        self._end()

    async def rollback(self) -> None:
        """Discard the staged rows and status changes; release the rows held."""
        self._end()

    def _apply(
        self,
        row: _Row,
        status: EventStatus,
        retry_at: datetime.datetime | None,
        error: str | None,
        now: datetime.datetime,
    ) -> None:
        row.locked_until = None
        if error is not None:
            row.last_error = error
        if status is EventStatus.NOT_PRODUCED:
            row.attempts += 1
            if row.attempts >= self._max_attempts:
                status = EventStatus.FAILED
        elif status is EventStatus.NEW:
            row.attempts = 0
            row.last_error = error
        row.status = status
        if retry_at is not None:
            row.next_attempt_at = retry_at
        elif status is EventStatus.NEW:
            row.next_attempt_at = now

    def _end(self) -> None:
        self._added = []
        self._leases = {}
        self._updates = []
        self._outbox.release(self)
