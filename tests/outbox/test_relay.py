"""`OutboxRelay` and python-cqrs's `EventProducer`: claim, publish, mark, on every database.

SQLite (in memory and a file) and the in-memory repository always run; PostgreSQL and
MariaDB come from the `postgresql_url` / `mariadb_url` fixtures and RabbitMQ from
`rabbitmq_url` (skipped when down, failed with CQRS_REQUIRE_SERVICES=1). Every test
creates its own tables and queue (unique names), drops them afterwards, and is bounded
by `anyio.fail_after` (asyncio.timeout is 3.11+).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime
import logging
import random
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from tests.outbox.engines import BACKENDS, LOCKING_BACKENDS, engine_for, tables_on

import cqrs
from cqrs.exceptions import InvalidConfigurationError
from cqrs.message_brokers.protocol import Message
from cqrs.outbox import (
    Backoff,
    EventStatus,
    MemoryOutbox,
    MemoryOutboxedEventRepository,
    OutboxedEventMap,
    OutboxRelay,
    OutboxRelayRepository,
    Wakeups,
    outbox_message,
)
from cqrs.outbox.notify import PostgresNotifications
from cqrs.outbox.sqlalchemy import SqlAlchemyOutboxedEventRepository, outbox_table
from cqrs.producer import EventProducer

TIMEOUT = 60.0  # seconds any one test may take
NO_WAIT = Backoff(initial=0.0, maximum=0.0, jitter=0.0)

# --- events and a broker that records -------------------------------------------------


class Joined(cqrs.Response):
    n: int


class UserJoined(cqrs.NotificationEvent[Joined], frozen=True):
    pass


def user_joined(n: int, *, topic: str = "users") -> UserJoined:
    return UserJoined(event_name="user_joined", topic=topic, payload=Joined(n=n))


def events_map() -> OutboxedEventMap:
    return OutboxedEventMap(UserJoined)


class RecordingBroker:
    """Records what it is sent; fails each message's first `fail_times` sends (or all)."""

    def __init__(
        self, *, fail_times: int = 0, always_fail: bool = False, delay: float = 0.0
    ) -> None:
        self.messages: list[Message] = []
        self.sends: collections.Counter[uuid.UUID] = collections.Counter()
        self.fail_times = fail_times
        self.always_fail = always_fail
        self.delay = delay
        self.after_send: Callable[[], None] | None = None
        self._changed = asyncio.Condition()

    async def wait_for(self, count: int) -> None:
        """Return once `count` messages have been published."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self.messages) >= count)

    async def send_message(self, message: Message, /) -> None:
        self.sends[message.message_id] += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.always_fail or self.sends[message.message_id] <= self.fail_times:
            msg = f"broker down ({message.message_id})"
            raise ConnectionError(msg)
        self.messages.append(message)
        if self.after_send is not None:
            self.after_send()
        async with self._changed:
            self._changed.notify_all()

    def published_ids(self) -> collections.Counter[uuid.UUID]:
        return collections.Counter(message.message_id for message in self.messages)


# --- databases ------------------------------------------------------------------------


@dataclasses.dataclass
class Database:
    backend: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    outbox: sa.Table
    orders: sa.Table

    def relay(self, broker: Any, **kwargs: Any) -> OutboxRelay:
        kwargs.setdefault("backoff", NO_WAIT)
        kwargs.setdefault("error_backoff", NO_WAIT)
        kwargs.setdefault("poll_interval", 0.01)
        return OutboxRelay.for_sqlalchemy(
            self.sessions, events_map(), broker, table=self.outbox, **kwargs
        )

    async def add_committed(self, *events: cqrs.INotificationEvent[Any]) -> None:
        async with self.sessions() as session:
            repository = SqlAlchemyOutboxedEventRepository(session, events_map(), table=self.outbox)
            for event in events:
                repository.add(event)
            await repository.commit()

    async def rows(self) -> dict[uuid.UUID, Any]:
        async with self.sessions() as session:
            result = await session.execute(sa.select(self.outbox))
            return {row.event_id: row for row in result}


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Database]:
    async for database in _open(request.param, request, tmp_path):
        yield database


@pytest.fixture(params=LOCKING_BACKENDS)
async def locking_db(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Database]:
    async for database in _open(request.param, request, tmp_path):
        yield database


async def _open(
    backend: str, request: pytest.FixtureRequest, tmp_path: Any
) -> AsyncIterator[Database]:
    engine = engine_for(backend, request, tmp_path)
    suffix = uuid.uuid4().hex[:12]
    metadata = sa.MetaData()
    outbox = outbox_table(metadata, f"relay_outbox_{suffix}")
    orders = sa.Table(
        f"relay_orders_{suffix}",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    )

    async with tables_on(engine, metadata) as sessions:
        yield Database(backend, engine, sessions, outbox, orders)


async def drain(relay: OutboxRelay) -> int:
    """run_once until a batch comes back empty; the rows handled in all."""
    total = 0
    while handled := await relay.run_once():
        total += handled
    return total


# --- backoff ------------------------------------------------------------------------------


def test_backoff_grows_exponentially_up_to_the_cap() -> None:
    backoff = Backoff(initial=0.5, maximum=10.0, multiplier=3.0, jitter=0.0)

    assert [backoff.delay(n) for n in range(1, 6)] == [0.5, 1.5, 4.5, 10.0, 10.0]
    assert backoff.delay(0) == 0.5  # before the first attempt: the first delay
    assert backoff.delay(10_000) == 10.0  # no OverflowError


def test_backoff_jitter_stays_within_its_bounds_and_varies() -> None:
    backoff = Backoff(initial=1.0, maximum=100.0, multiplier=2.0, jitter=0.5)
    rng = random.Random(7)  # noqa: S311 - jitter, not cryptography

    delays = [backoff.delay(3, rng=rng) for _ in range(200)]

    assert all(4.0 <= delay <= 4.5 for delay in delays)
    assert len(set(delays)) > 100
    assert max(Backoff(initial=1.0, maximum=1.2, jitter=5.0).delay(1) for _ in range(50)) <= 1.2


@pytest.mark.parametrize(
    "settings",
    [
        {"initial": -1.0},
        {"jitter": -0.1},
        {"multiplier": 0.5},
        {"initial": 5.0, "maximum": 1.0},
        {"maximum": float("inf")},
    ],
)
def test_backoff_refuses_nonsense(settings: dict[str, float]) -> None:
    with pytest.raises(InvalidConfigurationError):
        Backoff(**settings)


def test_the_relay_refuses_nonsense() -> None:
    outbox = MemoryOutbox()

    def factory() -> MemoryOutboxedEventRepository:
        return MemoryOutboxedEventRepository(events_map(), outbox=outbox)

    for kwargs in (
        {"batch_size": 0},
        {"lease": datetime.timedelta(0)},
        {"max_attempts": 0},
        {"poll_interval": -1.0},
        {"lease_margin": 0.0},
    ):
        with pytest.raises(InvalidConfigurationError):
            OutboxRelay(factory, RecordingBroker(), **kwargs)


def test_the_message_is_the_emitters() -> None:
    event = user_joined(3, topic="t")
    repository = MemoryOutboxedEventRepository(events_map())
    repository.add(event)

    async def claim() -> Any:
        await repository.commit()
        return (await repository.get_many())[0]

    message = outbox_message(asyncio.run(claim()))

    assert message == Message(
        message_name="UserJoined", message_id=event.event_id, topic="t", payload=event.to_dict()
    )


# --- the relay on every database ----------------------------------------------------------


async def test_committed_events_are_published_once_and_marked_produced(db: Database) -> None:
    with anyio.fail_after(TIMEOUT):
        events = [user_joined(n) for n in range(25)]
        await db.add_committed(*events)
        broker = RecordingBroker()
        relay = db.relay(broker, batch_size=10)

        assert await relay.run_once() == 10
        assert await drain(relay) == 15
        assert await relay.run_once() == 0

        rows = await db.rows()
    assert broker.published_ids() == collections.Counter(event.event_id for event in events)
    assert [message.payload["payload"]["n"] for message in broker.messages] == list(range(25))
    assert {row.status for row in rows.values()} == {EventStatus.PRODUCED.value}
    assert {row.locked_until for row in rows.values()} == {None}


async def test_a_rolled_back_commands_event_is_never_published(db: Database) -> None:
    with anyio.fail_after(TIMEOUT):
        kept, lost = user_joined(1), user_joined(2)
        await db.add_committed(kept)

        async def command() -> None:
            async with db.sessions() as session, session.begin():
                await session.execute(sa.insert(db.orders).values(id=2))
                SqlAlchemyOutboxedEventRepository(session, events_map(), table=db.outbox).add(lost)
                msg = "handler failed"
                raise RuntimeError(msg)

        with pytest.raises(RuntimeError, match="handler failed"):
            await command()
        broker = RecordingBroker()

        assert await drain(db.relay(broker)) == 1

        rows = await db.rows()
    assert [message.message_id for message in broker.messages] == [kept.event_id]
    assert set(rows) == {kept.event_id}


async def test_a_publish_failing_twice_succeeds_on_the_third_attempt(db: Database) -> None:
    with anyio.fail_after(TIMEOUT):
        event = user_joined(1)
        await db.add_committed(event)
        broker = RecordingBroker(fail_times=2)
        relay = db.relay(broker, max_attempts=5)

        for _ in range(3):
            assert await relay.run_once() == 1
        assert await relay.run_once() == 0

        (row,) = (await db.rows()).values()
    assert broker.sends[event.event_id] == 3
    assert broker.published_ids() == {event.event_id: 1}
    assert row.status == EventStatus.PRODUCED.value
    assert row.attempts == 2
    assert "ConnectionError: broker down" in row.last_error


async def test_a_failed_publish_waits_for_its_backoff(db: Database) -> None:
    with anyio.fail_after(TIMEOUT):
        await db.add_committed(user_joined(1))
        broker = RecordingBroker(fail_times=1)
        relay = db.relay(broker, backoff=Backoff(initial=60.0, maximum=60.0, jitter=0.0))

        assert await relay.run_once() == 1
        assert await relay.run_once() == 0  # due in a minute, not now

        (row,) = (await db.rows()).values()
    assert row.status == EventStatus.NOT_PRODUCED.value
    due = row.next_attempt_at
    due = due if due.tzinfo else due.replace(tzinfo=datetime.timezone.utc)
    remaining = due - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(seconds=50) < remaining <= datetime.timedelta(seconds=60)


async def test_an_always_failing_publish_ends_failed_and_logged(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with anyio.fail_after(TIMEOUT):
        event = user_joined(1)
        await db.add_committed(event)
        broker = RecordingBroker(always_fail=True)
        relay = db.relay(broker, max_attempts=3)

        with caplog.at_level(logging.WARNING, logger="cqrs.outbox"):
            assert await drain(relay) == 3

        (row,) = (await db.rows()).values()
    assert broker.sends[event.event_id] == 3
    assert broker.messages == []
    assert row.status == EventStatus.FAILED.value
    assert row.attempts == 3
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    text = errors[0].getMessage()
    assert str(event.event_id) in text
    assert "UserJoined" in text
    assert "FAILED after 3 attempts" in text


async def test_run_polls_publishes_and_stops(db: Database) -> None:
    if db.backend == "sqlite-memory":
        pytest.skip("one shared connection cannot serve a writer and a running relay at once")
    with anyio.fail_after(TIMEOUT):
        broker = RecordingBroker()
        relay = db.relay(broker, batch_size=7)
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        events = [user_joined(n) for n in range(20)]
        for chunk in (events[:5], events[5:]):
            await db.add_committed(*chunk)
            await asyncio.sleep(0.05)
        await broker.wait_for(len(events))
        stop.set()
        await task

        rows = await db.rows()
    assert broker.published_ids() == collections.Counter(event.event_id for event in events)
    assert {row.status for row in rows.values()} == {EventStatus.PRODUCED.value}


async def test_stopping_mid_batch_marks_what_was_published_and_leaves_the_rest_leased(
    db: Database,
) -> None:
    with anyio.fail_after(TIMEOUT):
        events = [user_joined(n) for n in range(10)]
        await db.add_committed(*events)
        broker = RecordingBroker()
        relay = db.relay(broker, batch_size=10, lease=datetime.timedelta(seconds=1))
        stop = asyncio.Event()
        broker.after_send = stop.set  # stop once the first event is out

        await relay.run(stop)

        rows = await db.rows()
        statuses = collections.Counter(row.status for row in rows.values())
        assert statuses == {EventStatus.PRODUCED.value: 1, EventStatus.NEW.value: 9}
        broker.after_send = None
        assert await relay.run_once() == 0  # still leased
        await asyncio.sleep(1.1)
        assert await drain(relay) == 9  # released when the lease ended
    assert broker.published_ids() == collections.Counter(event.event_id for event in events)


async def test_run_survives_a_failing_database(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with anyio.fail_after(TIMEOUT):
        await db.add_committed(*(user_joined(n) for n in range(5)))
        broker = RecordingBroker()
        outages = 3

        def sessions() -> AsyncSession:
            nonlocal outages
            if outages:
                outages -= 1
                msg = "database down"
                raise ConnectionRefusedError(msg)
            return db.sessions()

        relay = OutboxRelay.for_sqlalchemy(
            sessions,
            events_map(),
            broker,
            table=db.outbox,
            error_backoff=Backoff(initial=0.01, maximum=0.05, jitter=0.0),
            poll_interval=0.01,
        )
        stop = asyncio.Event()
        with caplog.at_level(logging.ERROR, logger="cqrs.outbox"):
            task = asyncio.create_task(relay.run(stop))
            await broker.wait_for(5)
            stop.set()
            await task
    assert len(broker.published_ids()) == 5
    failures = [r for r in caplog.records if "iteration failed" in r.getMessage()]
    assert len(failures) == 3
    assert all(r.exc_info is not None for r in failures)


# --- concurrent relays --------------------------------------------------------------------


async def test_three_concurrent_relays_publish_every_event_once(locking_db: Database) -> None:
    db = locking_db
    with anyio.fail_after(TIMEOUT):
        events = [user_joined(n) for n in range(300)]
        await db.add_committed(*events)
        # One broker per relay (each yields between publishes: the relays interleave); each
        # relay runs its own loop, which retries a claim MariaDB reports as a deadlock.
        brokers = [RecordingBroker(delay=0.001) for _ in range(3)]
        everything = asyncio.Event()

        def check() -> None:
            if sum(len(broker.messages) for broker in brokers) >= len(events):
                everything.set()

        for broker in brokers:
            broker.after_send = check
        stop = asyncio.Event()
        relays = [db.relay(broker, batch_size=10) for broker in brokers]
        tasks = [asyncio.create_task(relay.run(stop)) for relay in relays]
        await everything.wait()
        await asyncio.sleep(0.2)  # a duplicate would arrive now
        stop.set()
        await asyncio.gather(*tasks)

        rows = await db.rows()
    published = collections.Counter(
        message.message_id for broker in brokers for message in broker.messages
    )
    duplicates = sum(count - 1 for count in published.values())
    assert duplicates == 0
    assert set(published) == {event.event_id for event in events}
    assert {row.status for row in rows.values()} == {EventStatus.PRODUCED.value}
    assert all(broker.messages for broker in brokers)  # all three took part


async def test_the_relay_reconnects_after_postgresql_drops_its_connections(
    request: pytest.FixtureRequest, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """What a PostgreSQL restart does to a client: every connection is terminated."""
    async for db in _open("postgresql", request, tmp_path):
        with anyio.fail_after(TIMEOUT):
            application = f"relay-{uuid.uuid4().hex[:8]}"
            relay_engine = create_async_engine(
                request.getfixturevalue("postgresql_url"),
                pool_pre_ping=False,  # the relay itself must cope with a dead connection
                connect_args={"timeout": 5, "server_settings": {"application_name": application}},
            )
            try:
                broker = RecordingBroker()
                relay = OutboxRelay.for_sqlalchemy(
                    async_sessionmaker(relay_engine, expire_on_commit=False),
                    events_map(),
                    broker,
                    table=db.outbox,
                    error_backoff=Backoff(initial=0.05, maximum=0.2, jitter=0.0),
                    poll_interval=0.02,
                )
                stop = asyncio.Event()
                task = asyncio.create_task(relay.run(stop))
                first = [user_joined(n) for n in range(5)]
                await db.add_committed(*first)
                await broker.wait_for(5)
                async with db.engine.connect() as connection:
                    killed = await connection.scalar(
                        sa.text(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE application_name = :name"
                        ),
                        {"name": application},
                    )
                assert killed >= 1
                second = [user_joined(n) for n in range(5, 10)]
                await db.add_committed(*second)
                await broker.wait_for(10)
                stop.set()
                await task
                assert not task.cancelled()
            finally:
                await relay_engine.dispose()
        assert set(broker.published_ids()) == {e.event_id for e in first + second}


async def test_a_batch_is_marked_in_one_update_plus_one_per_failed_row(db: Database) -> None:
    events = [user_joined(n) for n in range(20)]
    await db.add_committed(*events)
    broker = FlakyFor({events[3].event_id, events[7].event_id})
    updates: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            updates.append(statement)

    sa.event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        updates.clear()
        assert await db.relay(broker, batch_size=20).run_once() == 20
    finally:
        sa.event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    # The claim's lease (1), the 18 published rows (1), the 2 failed ones (1 each).
    assert len(updates) == 4
    rows = await db.rows()
    assert sum(row.status == EventStatus.PRODUCED.value for row in rows.values()) == 18
    assert sum(row.status == EventStatus.NOT_PRODUCED.value for row in rows.values()) == 2


# --- per-key ordering -------------------------------------------------------------------


class FlakyFor(RecordingBroker):
    """Fails the first `times` sends of the given event ids (of the others: none)."""

    def __init__(self, failing: set[uuid.UUID], *, times: int = 1, delay: float = 0.0) -> None:
        super().__init__(delay=delay)
        self.failing = failing
        self.times = times

    async def send_message(self, message: Message, /) -> None:
        if message.message_id in self.failing and self.sends[message.message_id] < self.times:
            self.sends[message.message_id] += 1
            msg = f"broker refused {message.message_id}"
            raise ConnectionError(msg)
        await super().send_message(message)


def keyed(n: int, key: str | None) -> tuple[UserJoined, str | None]:
    return user_joined(n), key


async def add_keyed(db: Database, rows: list[tuple[UserJoined, str | None]]) -> None:
    async with db.sessions() as session:
        repository = SqlAlchemyOutboxedEventRepository(session, events_map(), table=db.outbox)
        for event, key in rows:
            repository.add(event, partition_key=key)
        await repository.commit()


def order_by_key(
    broker: RecordingBroker, rows: list[tuple[UserJoined, str | None]]
) -> dict[str | None, list[int]]:
    key_of = {event.event_id: key for event, key in rows}
    published: dict[str | None, list[int]] = collections.defaultdict(list)
    for message in broker.messages:
        published[key_of[message.message_id]].append(message.payload["payload"]["n"])
    return dict(published)


async def test_a_keys_events_are_published_in_order_even_when_one_is_retried(
    db: Database,
) -> None:
    rows = [keyed(n, "abc"[n % 3]) for n in range(12)] + [keyed(n, None) for n in range(12, 15)]
    await add_keyed(db, rows)
    first_of_a = rows[0][0].event_id
    broker = FlakyFor({first_of_a}, times=2)
    relay = db.relay(broker, batch_size=100)

    with anyio.fail_after(TIMEOUT):
        # One row per key per claim: a key's next row waits until the one before is done.
        claimed = await relay.run_once()
        assert claimed == 3 + 3  # a, b, c (a's first failed) + the three unkeyed rows
        await drain(relay)

    published = order_by_key(broker, rows)
    assert published["a"] == [0, 3, 6, 9]  # 0 failed twice: 3 waited for it
    assert published["b"] == [1, 4, 7, 10]
    assert published["c"] == [2, 5, 8, 11]
    assert sorted(published[None]) == [12, 13, 14]
    assert broker.sends[first_of_a] == 3  # two refused, then published


async def test_a_failed_row_stops_holding_its_key_back(db: Database) -> None:
    rows = [keyed(n, "k") for n in range(3)]
    await add_keyed(db, rows)
    broker = FlakyFor({rows[0][0].event_id}, times=10)
    relay = db.relay(broker, max_attempts=2)

    with anyio.fail_after(TIMEOUT):
        await drain(relay)

    assert order_by_key(broker, rows) == {"k": [1, 2]}
    statuses = {row.event_id: row.status for row in (await db.rows()).values()}
    assert statuses[rows[0][0].event_id] == EventStatus.FAILED.value


async def test_concurrent_relays_keep_each_keys_order(locking_db: Database) -> None:
    db = locking_db
    rows = [keyed(n, f"k{n % 5}") for n in range(150)]
    await add_keyed(db, rows)
    # One broker for the three relays: its list is the order messages reached it.
    broker = RecordingBroker(delay=0.001)
    everything = asyncio.Event()
    broker.after_send = lambda: everything.set() if len(broker.messages) >= len(rows) else None

    with anyio.fail_after(TIMEOUT):
        stop = asyncio.Event()
        relays = [db.relay(broker, batch_size=10) for _ in range(3)]
        tasks = [asyncio.create_task(relay.run(stop)) for relay in relays]
        await everything.wait()
        stop.set()
        await asyncio.gather(*tasks)

    published = order_by_key(broker, rows)
    for k in range(5):
        assert published[f"k{k}"] == list(range(k, 150, 5))
    assert sum(broker.published_ids().values()) == len(rows)


async def test_the_map_gives_the_key_when_add_does_not() -> None:
    events = OutboxedEventMap()
    events.register(UserJoined, partition_key=lambda event: f"user-{event.payload.n % 2}")
    outbox = MemoryOutbox()
    handler_side = MemoryOutboxedEventRepository(events, outbox=outbox)
    for n in range(4):
        handler_side.add(user_joined(n))
    handler_side.add(user_joined(4), partition_key="explicit")
    await handler_side.commit()

    assert [row.partition_key for row in outbox.rows.values()] == [
        "user-0",
        "user-1",
        "user-0",
        "user-1",
        "explicit",
    ]
    broker = FlakyFor({outbox_event_id(outbox, 1)})
    relay = OutboxRelay(
        lambda: MemoryOutboxedEventRepository(events, outbox=outbox), broker, backoff=NO_WAIT
    )
    with anyio.fail_after(TIMEOUT):
        await drain_memory(relay)
    ns = [message.payload["payload"]["n"] for message in broker.messages]
    assert ns.index(0) < ns.index(2)  # user-0 in order though 0 failed once
    assert ns.index(1) < ns.index(3)


def outbox_event_id(outbox: MemoryOutbox, row_id: int) -> uuid.UUID:
    return uuid.UUID(outbox.rows[row_id].payload["event_id"])


async def drain_memory(relay: OutboxRelay) -> None:
    for _ in range(20):
        if not await relay.run_once():
            return


# --- wake-ups: LISTEN/NOTIFY on PostgreSQL ----------------------------------------------


@pytest.fixture
async def postgresql_db(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Database]:
    async for database in _open("postgresql", request, tmp_path):
        yield database


class Observed:
    """Wraps wake-ups and counts the listens that are on (each wakes once when LISTEN is)."""

    def __init__(self, inner: Wakeups) -> None:
        self.inner = inner
        self.listens = 0
        self._changed = asyncio.Condition()

    async def listening(self, count: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.listens >= count)

    async def listen(self, wake: Callable[[], None], /) -> None:
        first = True

        def counting_wake() -> None:
            nonlocal first
            if first:
                first = False
                self.listens += 1
                asyncio.get_running_loop().create_task(self._notify())
            wake()

        await self.inner.listen(counting_wake)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


async def test_a_relay_on_sqlite_polls_and_one_on_asyncpg_listens(db: Database) -> None:
    relay = db.relay(RecordingBroker())
    if db.backend == "postgresql":
        assert isinstance(relay.wakeups, PostgresNotifications)
        assert relay.wakeups.channel == f"cqrs_outbox_{db.outbox.name}"
    else:
        assert relay.wakeups is None


async def test_an_idle_relay_wakes_on_commit_and_listens_again_after_a_dropped_connection(
    postgresql_db: Database,
) -> None:
    db = postgresql_db
    broker = RecordingBroker()
    wakeups = Observed(PostgresNotifications(db.engine, table=db.outbox))
    relay = db.relay(broker, poll_interval=120.0, wakeups=wakeups)  # a poll would be too late
    stop = asyncio.Event()
    with anyio.fail_after(TIMEOUT):
        task = asyncio.create_task(relay.run(stop))
        try:
            await wakeups.listening(1)
            await db.add_committed(user_joined(1))
            await broker.wait_for(1)

            # The database drops the listening connection (as in a restart).
            async with db.engine.connect() as connection:
                dropped = await connection.scalar(
                    sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()"
                    )
                )
            assert dropped == 1
            await wakeups.listening(2)  # listening again, on a new connection
            await db.add_committed(user_joined(2))
            await broker.wait_for(2)
        finally:
            stop.set()
            await task
    assert [message.payload["payload"]["n"] for message in broker.messages] == [1, 2]


async def test_a_rolled_back_add_does_not_leave_a_notification_behind(
    postgresql_db: Database,
) -> None:
    db = postgresql_db
    async with db.sessions() as session:
        repository = SqlAlchemyOutboxedEventRepository(session, events_map(), table=db.outbox)
        repository.add(user_joined(1))
        await repository.rollback()
        # The next commit of this session adds nothing: it notifies nothing either.
        assert not session.sync_session.info["cqrs_outbox_channels"]
        await session.commit()
    assert await db.rows() == {}


async def test_notify_false_adds_no_notification(postgresql_db: Database) -> None:
    db = postgresql_db
    async with db.sessions() as session:
        repository = SqlAlchemyOutboxedEventRepository(
            session, events_map(), table=db.outbox, notify=False
        )
        repository.add(user_joined(1))
        assert "cqrs_outbox_channels" not in session.sync_session.info
        await repository.commit()
    assert len(await db.rows()) == 1


# --- the in-memory repository and python-cqrs's EventProducer ------------------------------


async def test_the_relay_over_the_memory_repository() -> None:
    with anyio.fail_after(TIMEOUT):
        outbox = MemoryOutbox()
        handler_side = MemoryOutboxedEventRepository(events_map(), outbox=outbox)
        events = [user_joined(n) for n in range(3)]
        for event in events:
            handler_side.add(event)
        await handler_side.commit()
        broker = RecordingBroker(fail_times=1)

        def repositories() -> OutboxRelayRepository:
            return MemoryOutboxedEventRepository(events_map(), outbox=outbox, max_attempts=5)

        relay = OutboxRelay(repositories, broker, backoff=NO_WAIT)

        assert await relay.run_once() == 3  # three failed attempts
        assert await relay.run_once() == 3  # three published
    assert [outbox.status_of(n) for n in (1, 2, 3)] == [EventStatus.PRODUCED] * 3
    assert [outbox.rows[n].attempts for n in (1, 2, 3)] == [1, 1, 1]


async def test_event_producer_keeps_the_python_cqrs_loop(db: Database) -> None:
    with anyio.fail_after(TIMEOUT):
        events = [user_joined(n) for n in range(4)]
        await db.add_committed(*events)
        broker = RecordingBroker(fail_times=1)
        async with db.sessions() as session:
            repository = SqlAlchemyOutboxedEventRepository(session, events_map(), table=db.outbox)
            producer = EventProducer(broker, repository, backoff=NO_WAIT)
            assert producer.message_broker is broker
            assert producer.repository is repository
            rounds = 0
            async for batch in producer.event_batch_generator(batch_size=10):
                if not batch or rounds == 3:
                    break
                for outboxed in batch:
                    await producer.send_message(outboxed)
                await producer.repository.commit()
                rounds += 1

        rows = await db.rows()
    assert rounds == 2  # failed once each, then published
    assert broker.published_ids() == collections.Counter(event.event_id for event in events)
    assert {row.status for row in rows.values()} == {EventStatus.PRODUCED.value}
    assert {row.attempts for row in rows.values()} == {1}


# --- end to end: to the real RabbitMQ -------------------------------------------------------


async def test_500_events_reach_rabbitmq_exactly_once(
    rabbitmq_url: str, unique: str, request: pytest.FixtureRequest, tmp_path: Any
) -> None:
    aio_pika = pytest.importorskip("aio_pika")
    from faststream.rabbit import RabbitBroker

    from cqrs.message_brokers.faststream import FastStreamMessageBroker

    async for db in _open("sqlite-file", request, tmp_path):
        with anyio.fail_after(TIMEOUT):
            connection = await aio_pika.connect(rabbitmq_url, timeout=10)
            rabbit = RabbitBroker(rabbitmq_url, logger=None)
            try:
                channel = await connection.channel()
                queue = await channel.declare_queue(unique, durable=True)
                await rabbit.connect()
                events = [user_joined(n, topic=unique) for n in range(500)]
                await db.add_committed(*events)
                relay = db.relay(FastStreamMessageBroker(rabbit), batch_size=100)

                assert await drain(relay) == 500

                received: collections.Counter[str] = collections.Counter()
                while True:
                    message = await queue.get(timeout=5, fail=False, no_ack=True)
                    if message is None:
                        break
                    received[str(message.message_id)] += 1
                await queue.delete(if_unused=False, if_empty=False)
            finally:
                await rabbit.stop()
                await connection.close()
            rows = await db.rows()
        expected = {str(event.event_id) for event in events}
        lost = len(expected - set(received))
        duplicated = sum(count - 1 for count in received.values())
        assert (lost, duplicated) == (0, 0)
        assert set(received) == expected
        assert {row.status for row in rows.values()} == {EventStatus.PRODUCED.value}
