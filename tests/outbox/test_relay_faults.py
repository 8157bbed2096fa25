"""Fault tests of the outbox relay: real PostgreSQL, real RabbitMQ, injected failures.

Each test commits events to its own PostgreSQL outbox table, relays them to its own
RabbitMQ queue and counts what arrives with an independent aio-pika consumer (by the
AMQP `message_id`, the event id). At the end a fence message is sent through the queue,
so every publish made before it has been counted; the test then prints and checks
`lost` (events committed that never arrived) and `duplicated` (extra deliveries). The
guarantee checked is the relay's: **at least once** (0 lost), with duplicates only from
publishes whose outcome the relay could not record (a bounded number), and exactly once
when nothing fails.

1. Broker down: 10,000 events go to RabbitMQ through a loopback TCP proxy
   (`fault_tcp_proxy.py`) that the test SIGKILLs once 2,000 have arrived, keeps down for
   5 s and starts again on the same port; the relay (`fault_relay_process.py`, its own
   process) keeps running throughout. Proves the relay rides out a broker outage (failed
   publishes are recorded and retried with backoff, no row reaches `max_attempts`): 0
   lost, duplicated at most the one batch in flight when the connection died (a publish
   RabbitMQ took whose confirm was lost).
2. Relay killed: a relay process (`fault_relay_process.py`, batches of 100, a 2 s
   lease) is SIGKILLed once 1,050 of 3,000 events arrived, halfway through a batch, and
   a new one is started. Proves that a claimed batch is not lost with its relay: its
   lease expires and the new relay publishes it. 0 lost, duplicated at most the killed
   relay's batch size (its rows published but not yet marked).
3. Three relay processes share one outbox (3,000 events committed at once, none
   killed). Proves the claim (`FOR UPDATE SKIP LOCKED` plus a lease) hands each row to
   one relay: 0 lost, 0 duplicated, the three relays' confirmed publishes add up to
   3,000 and each relay took part.
4. A command whose transaction rolls back (`bootstrap(..., outbox=...)`, the handler
   fails after its write), run to completion by a relay to RabbitMQ through
   `AMQPMessageBroker`: its event never reaches the queue, while a committed command's
   event does. Proves the outbox row lives and dies with the handler's transaction:
   nothing is published that was not committed.
5. PostgreSQL restarted (`pg_ctl restart -m immediate`, a crash: every connection cut)
   once 400 of 2,000 events arrived; the test runs its own cluster (`fault_pg.py`) and
   the relay in this process, its connection pool not pre-pinged. Proves the relay
   survives losing its database (the failure is logged, the iteration retried) and
   carries on: 0 lost, duplicated at most one batch (published, its mark lost).

Services come from the `postgresql_url` and `rabbitmq_url` fixtures (skipped when down,
failed with CQRS_REQUIRE_SERVICES=1); test 5 also needs the PostgreSQL server binaries
(`initdb`, `pg_ctl`; skipped, or failed under CQRS_REQUIRE_SERVICES=1, without them).
Every test creates its own table and queue (unique names) and removes them afterwards,
and is bounded by `anyio.fail_after` (asyncio.timeout is 3.11+): its long waits share
what is left of `TEST_LIMIT` and fail naming the progress made. Run with `-s` to see
the counts each test prints.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime
import logging
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import aio_pika
import anyio
import di
import pytest
import sqlalchemy as sa
from di import bind_by_type
from di.dependent import Dependent
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from tests.child_process import Child
from tests.conftest import unavailable
from tests.outbox.fault_ports import spare_port
from tests.outbox.fault_relay_process import FaultEvent, event_map, fault_event

import cqrs
from cqrs.events import bootstrap as events_bootstrap
from cqrs.inbox.sqlalchemy import SqlAlchemyInboxRepository, inbox_table
from cqrs.message_brokers.wire import MessageRegistry
from cqrs.outbox import Backoff, EventStatus, OutboxedEventMap, OutboxRelay
from cqrs.outbox.sqlalchemy import SqlAlchemyOutboxedEventRepository, outbox_table

TEST_LIMIT = 90.0  # seconds one test may take, end to end
CLEANUP = 15.0  # seconds of TEST_LIMIT kept for stopping processes and dropping tables
WAIT = 30.0  # seconds one short step may take (a process starting, the fence coming back)
HERE = Path(__file__).parent
PROXY_SCRIPT = HERE / "fault_tcp_proxy.py"
RELAY_SCRIPT = HERE / "fault_relay_process.py"
RABBIT_HOST, RABBIT_PORT = "127.0.0.1", 5672


# --- waiting ----------------------------------------------------------------------------


class Budget:
    """What is left of a test's `TEST_LIMIT`, less `CLEANUP` seconds kept for its cleanup.

    The long waits (a relay publishing thousands of events on a loaded machine) take what
    is left, so that they fail with a message naming the progress made, before
    `anyio.fail_after(TEST_LIMIT)` would cancel the cleanup too.
    """

    def __init__(self) -> None:
        self.deadline = time.monotonic() + TEST_LIMIT - CLEANUP

    def left(self) -> float:
        return max(self.deadline - time.monotonic(), 1.0)


async def wait_until(
    condition: Callable[[], Any],
    what: Callable[[], str],
    *,
    within: float = WAIT,
    every: float = 0.05,
) -> None:
    """Poll `condition` (sync or async) every `every` s; fail naming `what()` after `within` s."""
    deadline = time.monotonic() + within
    while True:
        outcome = condition()
        if asyncio.iscoroutine(outcome):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within:.0f} s: {what()}")
        await asyncio.sleep(every)


# --- the outbox table ---------------------------------------------------------------------


@dataclasses.dataclass
class Outbox:
    """A PostgreSQL outbox table of the test's own (dropped afterwards)."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    table: sa.Table
    statuses: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)

    async def add_committed(self, count: int, topic: str, *, chunk: int = 1000) -> list[FaultEvent]:
        """Commit `count` events of `topic`, `chunk` per transaction."""
        events = [fault_event(n, topic) for n in range(count)]
        for start in range(0, count, chunk):
            async with self.sessions() as session:
                repository = SqlAlchemyOutboxedEventRepository(
                    session, event_map(), table=self.table
                )
                for event in events[start : start + chunk]:
                    repository.add(event)
                await repository.commit()
        return events

    async def refresh(self) -> collections.Counter[str]:
        """Read how many rows are in each status (kept in `statuses` for messages)."""
        async with self.sessions() as session:
            rows = await session.execute(
                sa.select(self.table.c.status, sa.func.count().label("rows")).group_by(
                    self.table.c.status
                )
            )
            self.statuses = collections.Counter({row.status: row.rows for row in rows})
        return self.statuses

    async def all_produced(self, count: int) -> bool:
        statuses = await self.refresh()
        assert statuses[EventStatus.FAILED.value] == 0, f"rows FAILED: {statuses}"
        return statuses[EventStatus.PRODUCED.value] == count

    async def attempts(self) -> tuple[int, int]:
        """(rows that had a failed publish attempt, the most attempts of one row)."""
        async with self.sessions() as session:
            row = (
                await session.execute(
                    sa.select(
                        sa.func.count().filter(self.table.c.attempts > 0),
                        sa.func.coalesce(sa.func.max(self.table.c.attempts), 0),
                    )
                )
            ).one()
        return int(row[0]), int(row[1])

    async def leased(self) -> int:
        """Rows claimed (leased) by a relay and not yet marked."""
        async with self.sessions() as session:
            found = await session.scalar(
                sa.select(sa.func.count()).where(
                    self.table.c.status == EventStatus.NEW.value,
                    self.table.c.locked_until.is_not(None),
                )
            )
        return int(found or 0)


@contextlib.asynccontextmanager
async def outbox_on(engine: AsyncEngine) -> AsyncIterator[Outbox]:
    """A fresh outbox table on `engine`, dropped (and the engine disposed) afterwards."""
    metadata = sa.MetaData()
    table = outbox_table(metadata, f"fault_outbox_{uuid.uuid4().hex[:12]}")
    try:
        async with engine.begin() as connection:
            await asyncio.wait_for(connection.run_sync(metadata.create_all), 30)
        yield Outbox(engine, async_sessionmaker(engine, expire_on_commit=False), table)
    finally:
        try:
            async with engine.begin() as connection:
                await asyncio.wait_for(connection.run_sync(metadata.drop_all), 30)
        finally:
            await engine.dispose()


def postgresql_engine(url: str, **options: Any) -> AsyncEngine:
    from sqlalchemy.ext.asyncio import create_async_engine

    options.setdefault("pool_pre_ping", True)
    return create_async_engine(
        url, connect_args={"timeout": 5, "server_settings": {"lock_timeout": "10s"}}, **options
    )


# --- the consumer ---------------------------------------------------------------------------


class QueueWatch:
    """An aio-pika consumer on its own RabbitMQ connection: counts the ids that arrive.

    `when(n, action)` runs `action` (synchronously, in the consumer's callback) once `n`
    distinct ids have arrived: the fault is injected at a known point of the stream.
    `fence()` sends a marker through the queue and waits for it: every message RabbitMQ
    had queued before it has then been counted.
    """

    def __init__(self, channel: Any, queue: Any) -> None:
        self.channel = channel
        self.queue = queue
        self.received: collections.Counter[str] = collections.Counter()
        # Every delivery, duplicates included, as (body, headers): what a consumer got.
        self.deliveries: list[tuple[bytes, dict[str, Any]]] = []
        self._triggers: list[tuple[int, Callable[[], None]]] = []
        self._fences: set[str] = set()

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, url: str, queue_name: str) -> AsyncIterator[QueueWatch]:
        """Declare queue `queue_name` (not durable, not auto-delete), consume, delete it after."""
        connection = await aio_pika.connect(url, timeout=10)
        try:
            channel = await connection.channel()
            queue = await channel.declare_queue(queue_name, durable=False, auto_delete=False)
            watch = cls(channel, queue)
            consumer_tag = await queue.consume(watch._on_message, no_ack=True)
            try:
                yield watch
            finally:
                await queue.cancel(consumer_tag)
                await queue.delete(if_unused=False, if_empty=False)
        finally:
            await connection.close()

    def when(self, count: int, action: Callable[[], None]) -> None:
        self._triggers.append((count, action))

    def distinct(self) -> int:
        return len(self.received)

    def has_all(self, expected: set[str]) -> bool:
        return self.received.keys() >= expected

    async def fence(self) -> None:
        marker = f"fence-{uuid.uuid4().hex}"
        self._fences.add(marker)
        await self.channel.default_exchange.publish(
            aio_pika.Message(b"", message_id=marker), routing_key=self.queue.name
        )
        await wait_until(lambda: marker not in self._fences, lambda: "the fence came back")

    async def _on_message(self, message: Any) -> None:
        message_id = message.message_id or (message.headers or {}).get("cqrs-message-id")
        if message_id in self._fences:
            self._fences.discard(message_id)
            return
        self.received[str(message_id)] += 1
        self.deliveries.append((bytes(message.body), dict(message.headers or {})))
        if self._triggers:
            distinct = len(self.received)
            due = [trigger for trigger in self._triggers if distinct >= trigger[0]]
            for trigger in due:
                self._triggers.remove(trigger)
                trigger[1]()


def tally(
    name: str, events: Sequence[FaultEvent], watch: QueueWatch, **extra: object
) -> tuple[int, int]:
    """(lost, duplicated), printed; fails if something arrived that was never committed."""
    expected = {str(event.event_id) for event in events}
    unexpected = watch.received.keys() - expected
    assert not unexpected, f"{len(unexpected)} messages arrived that were not committed"
    lost = len(expected - watch.received.keys())
    duplicated = sum(count - 1 for count in watch.received.values())
    details = " ".join(f"{key}={value}" for key, value in extra.items())
    print(
        f"\n{name}: committed={len(expected)} received={sum(watch.received.values())} "
        f"lost={lost} duplicated={duplicated} {details}"
    )
    return lost, duplicated


# --- child processes --------------------------------------------------------------------------


async def relay_process(
    database_url: str,
    outbox: Outbox,
    amqp_url: str,
    queue: str,
    log: Path,
    *,
    batch_size: int,
    lease: float,
    max_attempts: int = 100,
    publish_timeout: float = 5.0,
) -> Child:
    """`fault_relay_process.py` over `outbox`, publishing the rows of topic `queue`."""
    return await Child.start(
        RELAY_SCRIPT,
        database_url,
        outbox.table.name,
        amqp_url,
        queue,
        f"--batch-size={batch_size}",
        f"--lease={lease}",
        f"--max-attempts={max_attempts}",
        f"--publish-timeout={publish_timeout}",
        log=log,
    )


def rabbit_publisher(url: str, *, publish_timeout: float) -> tuple[Any, Any]:
    """A FastStream `RabbitBroker` (reconnecting every 0.5 s) and our broker over it."""
    from faststream.rabbit import RabbitBroker

    from cqrs.message_brokers.faststream import FastStreamMessageBroker

    rabbit = RabbitBroker(url, logger=None, reconnect_interval=0.5)
    return rabbit, FastStreamMessageBroker(rabbit, publish_timeout=publish_timeout)


async def wait_all_relayed(
    outbox: Outbox, watch: QueueWatch, events: Sequence[FaultEvent], budget: Budget
) -> None:
    """Wait (the relays running meanwhile) until every row is PRODUCED and every id came."""
    expected = {str(event.event_id) for event in events}
    await wait_until(
        lambda: outbox.all_produced(len(events)),
        lambda: f"all {len(events)} rows PRODUCED; statuses {dict(outbox.statuses)}",
        within=budget.left(),
        every=0.2,
    )
    await wait_until(
        lambda: watch.has_all(expected),
        lambda: f"all {len(events)} events at the consumer; {watch.distinct()} came",
        within=budget.left(),
    )


# --- 1. the broker down -------------------------------------------------------------------

BROKER_DOWN_EVENTS = 10_000
BROKER_DOWN_BATCH = 100
BROKER_DOWN_AT = 2_000  # events arrived when the proxy is killed
BROKER_DOWN_FOR = 5.0  # seconds the proxy stays dead
BROKER_DOWN_ATTEMPTS = 50


async def test_broker_down_for_5_seconds_loses_nothing(
    postgresql_url: str, rabbitmq_url: str, unique: str, tmp_path: Path
) -> None:
    timings: dict[str, float] = {}
    started = time.monotonic()
    children: list[Child] = []
    budget = Budget()
    with anyio.fail_after(TEST_LIMIT):
        async with (
            outbox_on(postgresql_engine(postgresql_url)) as outbox,
            QueueWatch.open(rabbitmq_url, unique) as watch,
        ):
            events = await outbox.add_committed(BROKER_DOWN_EVENTS, unique)
            timings["commit"] = time.monotonic() - started
            proxy_log = tmp_path / "proxy.log"
            try:
                port = str(spare_port())  # the restarted proxy binds it again
                proxy = await Child.start(
                    PROXY_SCRIPT, port, RABBIT_HOST, str(RABBIT_PORT), log=proxy_log
                )
                children.append(proxy)
                await proxy.line(f"listening {port}")
                killed = asyncio.Event()
                at_kill: list[int] = []

                def kill_proxy() -> None:
                    proxy.kill()
                    at_kill.append(watch.distinct())
                    killed.set()

                watch.when(BROKER_DOWN_AT, kill_proxy)
                # The relay in a process of its own (the consumer keeps this one busy),
                # publishing through the proxy. Each row tried during the outage uses an
                # attempt, then waits its backoff (about 1 s at most): 5 s down and the
                # reconnect (every 0.5 s) cost a row about 10 attempts at most.
                relay = await relay_process(
                    postgresql_url,
                    outbox,
                    f"amqp://guest:guest@127.0.0.1:{port}/",
                    unique,
                    tmp_path / "relay.log",
                    batch_size=BROKER_DOWN_BATCH,
                    lease=5.0,
                    max_attempts=BROKER_DOWN_ATTEMPTS,
                    publish_timeout=2.0,
                )
                children.append(relay)
                await relay.line("ready")
                await wait_until(
                    killed.is_set,
                    lambda: (
                        f"{BROKER_DOWN_AT} events arrived; {watch.distinct()} did; "
                        f"relay {relay.describe()}"
                    ),
                    within=budget.left(),
                )
                await proxy.reap()
                timings["until the kill"] = time.monotonic() - started
                await asyncio.sleep(BROKER_DOWN_FOR)  # the scenario: down for 5 s
                tried_while_down, _ = await outbox.attempts()
                proxy = await Child.start(
                    PROXY_SCRIPT, port, RABBIT_HOST, str(RABBIT_PORT), log=proxy_log
                )
                children.append(proxy)
                await proxy.line(f"listening {port}")
                back = time.monotonic()
                await wait_all_relayed(outbox, watch, events, budget)
                timings["after the restart"] = time.monotonic() - back
                published = int((await relay.stop()).split()[-1])
                await watch.fence()
                retried, most_attempts = await outbox.attempts()
            finally:
                for child in children:
                    await child.reap()
    timings["total"] = time.monotonic() - started
    lost, duplicated = tally(
        "broker down",
        events,
        watch,
        received_at_kill=at_kill[0],
        confirmed_to_relay=published,
        rows_with_failed_attempts=retried,
        most_attempts=most_attempts,
        timings={key: round(value, 1) for key, value in timings.items()},
    )
    assert tried_while_down > 0, "no publish failed while the broker was down"
    assert lost == 0
    # Taken by RabbitMQ but not confirmed when the connection died: the relay recorded a
    # failure and published again. Only publishes in flight then, within one batch.
    assert duplicated <= BROKER_DOWN_BATCH
    assert max(watch.received.values()) <= 2


# --- 2. a relay process killed mid-batch, then restarted ------------------------------------

KILLED_EVENTS = 3_000
KILLED_BATCH = 100
KILLED_LEASE = 2.0


async def test_a_relay_killed_mid_batch_is_taken_over_after_its_lease(
    postgresql_url: str, rabbitmq_url: str, unique: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    children: list[Child] = []
    budget = Budget()
    with anyio.fail_after(TEST_LIMIT):
        async with (
            outbox_on(postgresql_engine(postgresql_url)) as outbox,
            QueueWatch.open(rabbitmq_url, unique) as watch,
        ):
            events = await outbox.add_committed(KILLED_EVENTS, unique)
            try:
                first = await relay_process(
                    postgresql_url,
                    outbox,
                    rabbitmq_url,
                    unique,
                    tmp_path / "first.log",
                    batch_size=KILLED_BATCH,
                    lease=KILLED_LEASE,
                )
                children.append(first)
                killed = asyncio.Event()
                at_kill: list[int] = []

                def kill_relay() -> None:
                    # In the consumer's callback: the relay is halfway through a batch.
                    first.kill()
                    at_kill.append(watch.distinct())
                    killed.set()

                kill_at = KILLED_EVENTS // 3 + KILLED_BATCH // 2  # halfway through a batch
                watch.when(kill_at, kill_relay)
                await first.line("ready")
                await wait_until(
                    killed.is_set,
                    lambda: f"{kill_at} events arrived; {watch.distinct()} did; {first.describe()}",
                    within=budget.left(),
                )
                assert await asyncio.wait_for(first.process.wait(), WAIT) == -signal.SIGKILL
                leased_at_kill = await outbox.leased()

                second = await relay_process(
                    postgresql_url,
                    outbox,
                    rabbitmq_url,
                    unique,
                    tmp_path / "second.log",
                    batch_size=KILLED_BATCH,
                    lease=KILLED_LEASE,
                )
                children.append(second)
                await second.line("ready")
                await wait_all_relayed(outbox, watch, events, budget)
                published_by_second = int((await second.stop()).split()[-1])
                await watch.fence()
            finally:
                for child in children:
                    await child.reap()
    lost, duplicated = tally(
        "relay killed",
        events,
        watch,
        received_at_kill=at_kill[0],
        leased_unmarked_at_kill=leased_at_kill,
        published_by_second=published_by_second,
        seconds=round(time.monotonic() - started, 1),
    )
    assert lost == 0
    # The killed relay's batch in hand (published, not marked) is published again.
    assert duplicated <= KILLED_BATCH
    assert max(watch.received.values()) <= 2

    # Every delivery, duplicates included and in order, through a consumer's mediator with
    # the inbox on PostgreSQL: each event is processed exactly once.
    processed = await through_the_inbox(postgresql_url, watch.deliveries)
    assert len(watch.deliveries) == len(events) + duplicated
    assert processed == {str(event.event_id): 1 for event in events}


class Ledger:
    """What the consumer's handler did: one row per processing, in its transaction."""

    runs: collections.Counter[str] = collections.Counter()


class LedgerHandler(cqrs.EventHandler[FaultEvent]):
    def __init__(self, session: AsyncSession, ledger: sa.Table) -> None:
        self._session = session
        self._ledger = ledger

    async def handle(self, event: FaultEvent) -> None:
        await self._session.execute(sa.insert(self._ledger).values(event_id=str(event.event_id)))
        Ledger.runs[str(event.event_id)] += 1


async def through_the_inbox(
    url: str, deliveries: Sequence[tuple[bytes, dict[str, Any]]]
) -> dict[str, int]:
    """Decode each delivery as the consumer does and send it to an inbox-backed mediator."""
    engine = postgresql_engine(url)
    suffix = uuid.uuid4().hex[:12]
    metadata = sa.MetaData()
    inbox = inbox_table(metadata, f"fault_inbox_{suffix}")
    ledger = sa.Table(
        f"fault_ledger_{suffix}",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False),
    )
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def session() -> AsyncIterator[AsyncSession]:
        async with sessions() as opened:
            yield opened

    def inbox_repository(session: AsyncSession) -> SqlAlchemyInboxRepository:
        return SqlAlchemyInboxRepository(session, table=inbox)

    container = di.Container()
    container.bind(bind_by_type(Dependent(session, scope="request"), AsyncSession))
    container.bind(
        bind_by_type(Dependent(inbox_repository, scope="request"), SqlAlchemyInboxRepository)
    )
    container.bind(bind_by_type(Dependent(lambda: ledger, scope="singleton"), sa.Table))
    consumer = events_bootstrap.bootstrap(
        di_container=container,
        events_mapper=lambda mapper: mapper.bind(FaultEvent, LedgerHandler),
        inbox=SqlAlchemyInboxRepository,
    )
    registry = MessageRegistry(FaultEvent)
    Ledger.runs.clear()
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        for body, headers in deliveries:
            await consumer.send(registry.decode(body, headers))
        async with sessions() as check:
            rows = await check.execute(sa.select(ledger.c.event_id))
            written = collections.Counter(str(row[0]) for row in rows)
    finally:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.drop_all)
        await engine.dispose()
    assert written == Ledger.runs  # the handler's writes and its runs agree
    return dict(written)


# --- 3. three relay processes on one outbox ---------------------------------------------------

SHARED_EVENTS = 3_000
SHARED_BATCH = 50
SHARED_RELAYS = 3


async def test_three_relay_processes_publish_every_event_exactly_once(
    postgresql_url: str, rabbitmq_url: str, unique: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    children: list[Child] = []
    budget = Budget()
    with anyio.fail_after(TEST_LIMIT):
        async with (
            outbox_on(postgresql_engine(postgresql_url)) as outbox,
            QueueWatch.open(rabbitmq_url, unique) as watch,
        ):
            try:
                for n in range(SHARED_RELAYS):
                    # A long lease: nothing is killed, no claim may expire under a relay.
                    child = await relay_process(
                        postgresql_url,
                        outbox,
                        rabbitmq_url,
                        unique,
                        tmp_path / f"relay-{n}.log",
                        batch_size=SHARED_BATCH,
                        lease=30.0,
                    )
                    children.append(child)
                for child in children:
                    await child.line("ready")
                # One transaction: the three relays, all polling, find every row at once.
                events = await outbox.add_committed(SHARED_EVENTS, unique, chunk=SHARED_EVENTS)
                await wait_all_relayed(outbox, watch, events, budget)
                published = [int((await child.stop()).split()[-1]) for child in children]
                await watch.fence()
            finally:
                for child in children:
                    await child.reap()
    lost, duplicated = tally(
        "three relays",
        events,
        watch,
        published_per_relay=published,
        seconds=round(time.monotonic() - started, 1),
    )
    assert lost == 0
    assert duplicated == 0
    assert sum(published) == SHARED_EVENTS
    assert all(published), f"a relay published nothing: {published}"


# --- 4. a command rolled back -------------------------------------------------------------------


class Joined(cqrs.Response):
    user_id: int


class UserJoined(cqrs.NotificationEvent[Joined], frozen=True):
    pass


class JoinUser(cqrs.Request[None]):
    user_id: int
    fail: bool = False


async def test_a_rolled_back_commands_event_never_reaches_rabbitmq(
    postgresql_url: str, rabbitmq_url: str, unique: str
) -> None:
    import di
    from di import bind_by_type
    from di.dependent import Dependent

    from cqrs.adapters.amqp import amqp_publisher_factory
    from cqrs.message_brokers.amqp import AMQPMessageBroker
    from cqrs.requests import bootstrap

    users = sa.Table(
        f"fault_users_{uuid.uuid4().hex[:12]}",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    )
    events = OutboxedEventMap(UserJoined)
    created: dict[int, UserJoined] = {}

    class JoinUserHandler(cqrs.RequestHandler[JoinUser, None]):
        def __init__(self, session: AsyncSession) -> None:
            self._session = session
            self._events: list[cqrs.IEvent] = []

        @property
        def events(self) -> list[cqrs.IEvent]:
            return self._events

        async def handle(self, request: JoinUser) -> None:
            await self._session.execute(sa.insert(users).values(id=request.user_id))
            event = UserJoined(
                event_name="user_joined", topic=unique, payload=Joined(user_id=request.user_id)
            )
            created[request.user_id] = event
            self._events.append(event)
            if request.fail:
                msg = "the command failed after its write"
                raise RuntimeError(msg)

    exchange = f"{unique}-exchange"
    with anyio.fail_after(TEST_LIMIT):
        async with (
            outbox_on(postgresql_engine(postgresql_url)) as outbox,
            QueueWatch.open(rabbitmq_url, unique) as watch,
        ):
            async with outbox.engine.begin() as connection:
                await connection.run_sync(users.create)
            try:

                async def session() -> AsyncIterator[AsyncSession]:
                    async with outbox.sessions() as opened:
                        yield opened

                def repository(session: AsyncSession) -> SqlAlchemyOutboxedEventRepository:
                    return SqlAlchemyOutboxedEventRepository(session, events, table=outbox.table)

                container = di.Container()
                container.bind(bind_by_type(Dependent(session, scope="request"), AsyncSession))
                container.bind(
                    bind_by_type(
                        Dependent(repository, scope="request"), SqlAlchemyOutboxedEventRepository
                    )
                )
                publisher = amqp_publisher_factory(rabbitmq_url)
                mediator = bootstrap.bootstrap(
                    di_container=container,
                    commands_mapper=lambda mapper: mapper.bind(JoinUser, JoinUserHandler),
                    message_broker=AMQPMessageBroker(publisher, exchange, publish_timeout=5),
                    outbox=SqlAlchemyOutboxedEventRepository,
                )
                try:
                    with pytest.raises(RuntimeError, match="failed after its write"):
                        await mediator.send(JoinUser(user_id=1, fail=True))
                    await mediator.send(JoinUser(user_id=2))

                    relay = OutboxRelay.for_sqlalchemy(
                        outbox.sessions,
                        events,
                        AMQPMessageBroker(publisher, exchange, publish_timeout=5),
                        table=outbox.table,
                        backoff=Backoff(initial=0.0, maximum=0.0, jitter=0.0),
                    )
                    handled = 0
                    while batch := await relay.run_once():  # to completion
                        handled += batch
                    await watch.fence()
                finally:
                    await publisher.close()
                async with outbox.sessions() as db:
                    stored_users = list(await db.scalars(sa.select(users.c.id)))
                    rows = (await db.execute(sa.select(outbox.table))).all()
            finally:
                async with outbox.engine.begin() as connection:
                    await connection.run_sync(users.drop)
                with contextlib.suppress(Exception):
                    await watch.channel.exchange_delete(exchange)
    rolled_back, committed = str(created[1].event_id), str(created[2].event_id)
    print(
        f"\nrolled back command: relayed={handled} received={dict(watch.received)} "
        f"lost={int(committed not in watch.received)} "
        f"duplicated={sum(count - 1 for count in watch.received.values())}"
    )
    assert handled == 1
    assert rolled_back not in watch.received
    assert watch.received == {committed: 1}
    assert stored_users == [2]
    assert [(str(row.event_id), row.status) for row in rows] == [
        (committed, EventStatus.PRODUCED.value)
    ]


# --- 5. PostgreSQL restarted under the relay ---------------------------------------------------

RESTART_EVENTS = 2_000
RESTART_BATCH = 50


async def test_the_relay_carries_on_after_postgresql_restarts(
    rabbitmq_url: str, unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.outbox.fault_pg import PostgresCluster, PostgresUnavailableError

    started = time.monotonic()
    budget = Budget()
    try:
        cluster = PostgresCluster.prepare()
    except PostgresUnavailableError as error:
        unavailable(f"cannot run a PostgreSQL cluster of the test's own: {error}")
    timings: dict[str, float] = {}
    with anyio.fail_after(TEST_LIMIT):
        try:
            # anyio's threads are waited for even when cancelled: never a cluster left behind.
            await anyio.to_thread.run_sync(cluster.initialize)
            timings["cluster up"] = time.monotonic() - started
            async with (
                outbox_on(postgresql_engine(cluster.url)) as outbox,
                QueueWatch.open(rabbitmq_url, unique) as watch,
            ):
                events = await outbox.add_committed(RESTART_EVENTS, unique)
                # The relay's own pool, not pre-pinged: it must cope with dead connections.
                relay_engine = postgresql_engine(cluster.url, pool_pre_ping=False)
                rabbit, broker = rabbit_publisher(rabbitmq_url, publish_timeout=5)
                try:
                    relay = OutboxRelay.for_sqlalchemy(
                        async_sessionmaker(relay_engine, expire_on_commit=False),
                        event_map(),
                        broker,
                        table=outbox.table,
                        batch_size=RESTART_BATCH,
                        lease=datetime.timedelta(seconds=3),
                        max_attempts=20,
                        backoff=Backoff(initial=0.1, maximum=1.0, jitter=0.1),
                        error_backoff=Backoff(initial=0.1, maximum=1.0, jitter=0.1),
                        poll_interval=0.05,
                    )
                    restart_now = asyncio.Event()
                    restart_at = RESTART_EVENTS // 5
                    watch.when(restart_at, restart_now.set)
                    await rabbit.connect()
                    stop = asyncio.Event()
                    with caplog.at_level(logging.ERROR, logger="cqrs.outbox"):
                        task = asyncio.create_task(relay.run(stop))
                        try:
                            await wait_until(
                                restart_now.is_set,
                                lambda: f"{restart_at} events arrived; {watch.distinct()} did",
                                within=budget.left(),
                            )
                            at_restart = watch.distinct()
                            # In a thread: the relay runs on while the server restarts.
                            timings["restart"] = await anyio.to_thread.run_sync(cluster.restart)
                            back = time.monotonic()
                            await wait_all_relayed(outbox, watch, events, budget)
                            timings["after the restart"] = time.monotonic() - back
                        finally:
                            stop.set()
                            await asyncio.wait_for(task, WAIT)
                finally:
                    await rabbit.stop()
                    await relay_engine.dispose()
                await watch.fence()
        finally:
            cluster.destroy()  # blocking (pg_ctl stop), and not cancellable
    failures = [
        record
        for record in caplog.records
        if record.name == "cqrs.outbox"
        and ("iteration failed" in record.getMessage() or "could not record" in record.getMessage())
    ]
    timings["total"] = time.monotonic() - started
    lost, duplicated = tally(
        "postgresql restarted",
        events,
        watch,
        received_at_restart=at_restart,
        relay_failures_logged=len(failures),
        timings={key: round(value, 1) for key, value in timings.items()},
    )
    assert failures, "the relay never noticed the restart"
    assert lost == 0
    # A batch published but not marked when the server died is published again.
    assert duplicated <= RESTART_BATCH
    assert max(watch.received.values()) <= 2
