"""Outbox throughput: the relay and the outbox's cost on `send()`, against publishing directly.

Usage:
    python benchmarks/outbox.py                 # full run, 7-9 minutes on 2 cores
    python benchmarks/outbox.py --quick         # tiny counts, checks that it runs (~20 s)
    python benchmarks/outbox.py --rounds 5 --events 20000

Needs RabbitMQ (--amqp-url, default amqp://guest:guest@127.0.0.1:5672/); the databases
are PostgreSQL (--postgresql-url) and MariaDB (--mariadb-url), SQLite is a file in a
temporary directory. Without RabbitMQ nothing runs; a database that cannot be reached
is reported as skipped and the run goes on; the exit status is 0 either way.

1. Relay throughput. N `NotificationEvent`s are committed to the outbox (untimed), then
   `OutboxRelay.for_sqlalchemy(...).run_once()` is called until all N rows are PRODUCED:
   the time runs from the first `run_once` to the last one's commit. Batch sizes 1, 100
   and 1000, on SQLite and PostgreSQL. The baseline is the bare publish: the same N
   messages sent with the same `FastStreamMessageBroker` (FastStream's `RabbitBroker`:
   persistent, confirmed by the broker), no database. Every message is counted in the
   queue and every row is checked PRODUCED after each run.
2. The outbox's cost on `send()`. A command whose handler inserts one row and raises one
   `NotificationEvent`, through `bootstrap()` with a `di` container giving a
   request-scoped `AsyncSession`: (a) `outbox=SqlAlchemyOutboxedEventRepository`, the
   mediator stores the event with the row in one transaction (published later, by the
   relay); (b) the handler commits its row and the mediator publishes the event to
   RabbitMQ (`message_broker=`); and, for reference, (c) the same as (b) with the
   `DevnullMessageBroker` (the database's share of (b)). Times are per `send()`.
3. python-cqrs 4.15.1's `EventProducer` over its `SqlAlchemyOutboxedEventRepository` on
   MariaDB (its outbox targets MySQL/MariaDB), publishing with its `AMQPMessageBroker`,
   against `OutboxRelay.for_sqlalchemy` on the same MariaDB at `READ COMMITTED`, with the
   same event count and batch size 100. python-cqrs runs in its own venv
   (`.venv-pycqrs/`, built as `tests/brokers/pycqrs.py` builds it, plus the MySQL driver
   we use) through `benchmarks/_pycqrs_outbox.py`, which times its drain and its own
   bare publish. `--quick` runs it only when that venv already exists.

Each round times every case of a table in turn, so that a slow spell of the machine hits
them all; the best round of each case is kept (warm-up runs first). Rates are events/s;
ratios are to a baseline of the same run. Nothing is asserted: these machines are noisy,
so compare ratios. Tables and queues are named after the run and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aio_pika
import di
import pydantic
import sqlalchemy as sa
from _pycqrs_venv import child_env, install, installed_version
from _pycqrs_venv import pycqrs_python as venv_python
from aio_pika.exceptions import AMQPError
from di import bind_by_type
from di.dependent import Dependent
from faststream.rabbit import RabbitBroker
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

import cqrs
from cqrs.message_brokers import DevnullMessageBroker, Message, MessageBroker
from cqrs.message_brokers.faststream import FastStreamMessageBroker
from cqrs.outbox import EventStatus, OutboxedEventMap, OutboxRelay
from cqrs.outbox.sqlalchemy import SqlAlchemyOutboxedEventRepository, outbox_table
from cqrs.requests import bootstrap

HERE = Path(__file__).resolve().parent
PYCQRS_SCRIPT = HERE / "_pycqrs_outbox.py"
# aiomysql 0.3 escapes bytes parameters (python-cqrs's payload and event id columns) with
# a PyMySQL helper that PyMySQL 1.2 removed; our outbox binds no bytes.
PYCQRS_DRIVER = ("aiomysql", "PyMySQL<1.2")

BATCH_SIZES = (1, 100, 1000)
PYCQRS_BATCH_SIZE = 100
SEED_CHUNK = 1_000  # rows per seeding transaction
CONNECT_TIMEOUT = 10.0

# --- the workload ---------------------------------------------------------------------


class OrderPayload(pydantic.BaseModel):
    order_id: str
    customer_id: str
    amount_cents: int
    currency: str


class OrderPlaced(cqrs.NotificationEvent[OrderPayload], frozen=True):
    pass


EVENTS = OutboxedEventMap(OrderPlaced)


def order_placed(topic: str, n: int) -> OrderPlaced:
    payload = OrderPayload(
        order_id=f"o-{n}", customer_id="c-42", amount_cents=1_999 + n, currency="EUR"
    )
    return OrderPlaced(event_name="order_placed", topic=topic, payload=payload)


def message_for(event: OrderPlaced) -> Message:
    """What the relay publishes for a row holding `event` (`cqrs.outbox.outbox_message`)."""
    return Message(
        message_name=type(event).__name__,
        message_id=event.event_id,
        topic=event.topic,
        payload=event.to_dict(),
    )


class PlaceOrder(cqrs.Request[None]):
    n: int
    topic: str


@dataclasses.dataclass(frozen=True)
class Tables:
    orders: sa.Table


class PlaceOrderHandler(cqrs.RequestHandler[PlaceOrder, None]):
    """Inserts one order and raises `OrderPlaced`; commits nothing (the outbox's commit does)."""

    def __init__(self, session: AsyncSession, tables: Tables) -> None:
        self._session = session
        self._tables = tables
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return self._events

    async def handle(self, request: PlaceOrder) -> None:
        await self._session.execute(
            sa.insert(self._tables.orders).values(
                id=request.n, customer_id="c-42", amount_cents=1_999 + request.n
            )
        )
        self._events = [order_placed(request.topic, request.n)]


class PlaceOrderAndCommitHandler(PlaceOrderHandler):
    """The same, committing its row itself: the mediator then publishes the event."""

    async def handle(self, request: PlaceOrder) -> None:
        await super().handle(request)
        await self._session.commit()


# --- databases and RabbitMQ -------------------------------------------------------------


class ServerDownError(Exception):
    """A server cannot be reached: what needs it is skipped."""

    def __init__(self, error: BaseException) -> None:
        text = str(error).splitlines()[0] if str(error) else ""
        super().__init__(f"{type(error).__name__}: {text}")


@dataclasses.dataclass(frozen=True)
class Database:
    label: str  # "PostgreSQL 15.4"
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    outbox: sa.Table
    orders: sa.Table

    async def clear(self) -> None:
        async with self.engine.begin() as connection:
            for table in (self.outbox, self.orders):
                if connection.dialect.name == "sqlite":
                    await connection.execute(sa.delete(table))
                else:
                    name = connection.dialect.identifier_preparer.format_table(table)
                    await connection.execute(sa.text(f"TRUNCATE TABLE {name}"))

    async def seed(self, events: Sequence[OrderPlaced]) -> None:
        async with self.sessions() as session:
            repository = SqlAlchemyOutboxedEventRepository(session, EVENTS, table=self.outbox)
            for start in range(0, len(events), SEED_CHUNK):
                for event in events[start : start + SEED_CHUNK]:
                    repository.add(event)
                await repository.commit()

    async def count(self, table: sa.Table, status: EventStatus | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(table)
        if status is not None:
            query = query.where(table.c.status == status.value)
        async with self.sessions() as session:
            return int(await session.scalar(query) or 0)


def sqlite_engine(directory: str) -> AsyncEngine:
    return create_async_engine(f"sqlite+aiosqlite:///{Path(directory) / 'outbox.db'}")


def postgresql_engine(url: str) -> AsyncEngine:
    return create_async_engine(url, connect_args={"timeout": CONNECT_TIMEOUT})


def mariadb_engine(url: str) -> AsyncEngine:
    # READ COMMITTED, as the README advises for the relay's sessions on MariaDB.
    return create_async_engine(
        url,
        isolation_level="READ COMMITTED",
        connect_args={"connect_timeout": int(CONNECT_TIMEOUT)},
    )


@contextlib.asynccontextmanager
async def open_database(name: str, engine: AsyncEngine, prefix: str) -> AsyncIterator[Database]:
    """The run's outbox and orders tables on `engine`, dropped (and the engine closed) after."""
    metadata = sa.MetaData()
    tag = prefix.replace("-", "_")
    outbox = outbox_table(metadata, f"{tag}_outbox")
    orders = sa.Table(
        f"{tag}_orders",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("amount_cents", sa.Integer, nullable=False),
    )

    async def run(operation: Callable[..., object]) -> None:
        async with engine.begin() as connection:
            await connection.run_sync(operation)

    created = False
    try:
        try:
            await asyncio.wait_for(run(metadata.create_all), CONNECT_TIMEOUT * 3)
        except (OSError, asyncio.TimeoutError, OperationalError, InterfaceError) as error:
            raise ServerDownError(error) from error
        created = True
        version = ".".join(map(str, engine.dialect.server_version_info or ()))
        label = f"{name} {version}".strip()
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        yield Database(label, engine, sessions, outbox, orders)
    finally:
        try:
            if created:
                await asyncio.wait_for(run(metadata.drop_all), 60)
        finally:
            await engine.dispose()


class Rabbit:
    """The run's queues, managed over plain aio-pika channels (FastStream publishes).

    A channel per operation: a failed one (a queue not found) closes only its channel.
    """

    def __init__(self, connection: aio_pika.abc.AbstractConnection) -> None:
        self._connection = connection
        self.queues: list[str] = []

    async def declare(self, name: str) -> str:
        async with self._connection.channel() as channel:
            await channel.declare_queue(name, durable=False)
        self.queues.append(name)
        return name

    async def take(self, queue: str, expected: int) -> None:
        """Check that `queue` holds `expected` messages, then empty it."""
        async with self._connection.channel() as channel:
            declared = await channel.declare_queue(queue, passive=True)
            found = declared.declaration_result.message_count
            if found != expected:
                msg = f"queue {queue} holds {found} messages, expected {expected}"
                raise RuntimeError(msg)
            await declared.purge()

    async def drop(self, queue: str, exchange: str | None = None) -> None:
        async with self._connection.channel() as channel:
            if exchange is not None:
                await channel.exchange_delete(exchange)
            await channel.queue_delete(queue)


# --- measuring --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    """`run(count)` prepares (untimed), runs `count` operations, checks, returns seconds."""

    name: str
    count: int
    run: Callable[[int], Awaitable[float]]
    role: str = ""  # "baseline": what the ratios of its group (or of every group) are to
    group: str = ""  # the database


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    seconds: float  # best round
    count: int
    role: str = ""
    group: str = ""

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def us_per_op(self) -> float:
        return self.seconds / self.count * 1e6


async def measure(cases: Sequence[Case], rounds: int, warm_up: int) -> list[Row]:
    for case in cases:
        await case.run(min(case.count, warm_up))
    best = [float("inf")] * len(cases)
    for _ in range(rounds):
        for index, case in enumerate(cases):
            best[index] = min(best[index], await case.run(case.count))
    return [
        Row(case.name, seconds, case.count, case.role, case.group)
        for case, seconds in zip(cases, best, strict=True)
    ]


def bare_publish_case(broker: MessageBroker, rabbit: Rabbit, queue: str, count: int) -> Case:
    async def run(n: int) -> float:
        events = [order_placed(queue, i) for i in range(n)]
        started = time.perf_counter()
        for event in events:
            await broker.send_message(message_for(event))
        seconds = time.perf_counter() - started
        await rabbit.take(queue, n)
        return seconds

    return Case("bare publish: FastStreamMessageBroker.send_message", count, run, "baseline")


def relay_case(
    db: Database, broker: MessageBroker, rabbit: Rabbit, queue: str, batch_size: int, count: int
) -> Case:
    async def run(n: int) -> float:
        await db.clear()
        await db.seed([order_placed(queue, i) for i in range(n)])
        relay = OutboxRelay.for_sqlalchemy(
            db.sessions, EVENTS, broker, table=db.outbox, batch_size=batch_size
        )
        started = time.perf_counter()
        done = 0
        while done < n:
            handled = await relay.run_once()
            if not handled:
                msg = f"{db.label}: the outbox ran dry after {done} of {n} events"
                raise RuntimeError(msg)
            done += handled
        seconds = time.perf_counter() - started
        produced = await db.count(db.outbox, EventStatus.PRODUCED)
        if produced != n:
            msg = f"{db.label}: {produced} of {n} rows PRODUCED"
            raise RuntimeError(msg)
        await rabbit.take(queue, n)
        return seconds

    return Case(f"OutboxRelay batch_size={batch_size}", count, run, group=db.label)


def container_for(db: Database) -> di.Container:
    """A request-scoped session, the outbox over it, and the tables."""
    tables = Tables(db.orders)

    async def session() -> AsyncIterator[AsyncSession]:
        async with db.sessions() as opened:
            yield opened

    def outbox(session: AsyncSession) -> SqlAlchemyOutboxedEventRepository:
        return SqlAlchemyOutboxedEventRepository(session, EVENTS, table=db.outbox)

    container = di.Container()
    container.bind(bind_by_type(Dependent(session, scope="request"), AsyncSession))
    container.bind(
        bind_by_type(Dependent(outbox, scope="request"), SqlAlchemyOutboxedEventRepository)
    )
    container.bind(bind_by_type(Dependent(lambda: tables, scope="singleton"), Tables))
    return container


def send_cases(
    db: Database, broker: MessageBroker, rabbit: Rabbit, queue: str, count: int
) -> list[Case]:
    def mediator(handler: type[PlaceOrderHandler], **kwargs: Any) -> cqrs.RequestMediator:
        # propagate_event_errors: a publish that fails must fail the benchmark.
        return bootstrap.bootstrap(
            di_container=container_for(db),
            commands_mapper=lambda mapper: mapper.bind(PlaceOrder, handler),
            propagate_event_errors=True,
            **kwargs,
        )

    outboxed = mediator(PlaceOrderHandler, outbox=SqlAlchemyOutboxedEventRepository)
    direct = mediator(PlaceOrderAndCommitHandler, message_broker=broker)
    devnull = mediator(PlaceOrderAndCommitHandler, message_broker=DevnullMessageBroker())

    def sending(
        send: cqrs.RequestMediator, outbox_rows: int, published: int
    ) -> Callable[[int], Awaitable[float]]:
        async def run(n: int) -> float:
            await db.clear()
            requests = [PlaceOrder(n=i, topic=queue) for i in range(n)]
            started = time.perf_counter()
            for request in requests:
                await send.send(request)
            seconds = time.perf_counter() - started
            orders, rows = await db.count(db.orders), await db.count(db.outbox)
            if (orders, rows) != (n, outbox_rows * n):
                msg = f"{db.label}: {orders} orders and {rows} outbox rows after {n} sends"
                raise RuntimeError(msg)
            await rabbit.take(queue, published * n)
            return seconds

        return run

    group = db.label
    return [
        Case("(a) outbox=: row + event, one commit", count, sending(outboxed, 1, 0), "", group),
        Case(
            "(b) handler commits, event -> RabbitMQ",
            count,
            sending(direct, 0, 1),
            "baseline",
            group,
        ),
        Case("(c) handler commits, devnull broker", count, sending(devnull, 0, 0), "", group),
    ]


# --- python-cqrs --------------------------------------------------------------------------


def install_driver(python: Path, *, build: bool) -> str | None:
    """Put our aiomysql into python-cqrs's venv (if missing); None, or why it is not there."""
    aiomysql = installed_version("aiomysql")
    check = (
        "import importlib.metadata as m, pymysql.converters as c\n"
        f"assert m.version('aiomysql') == {aiomysql!r}\n"
        "assert callable(getattr(c, 'escape_bytes_prefixed', None))\n"
    )
    driver = [f"{PYCQRS_DRIVER[0]}=={aiomysql}", PYCQRS_DRIVER[1]]
    return install(python, driver, check, build=build)


def pycqrs_python(*, build: bool) -> tuple[Path | None, str]:
    """python-cqrs 4.15.1's interpreter with the MySQL driver our side uses, or why not."""
    python, reason = venv_python(build=build)
    if python is None:
        return None, reason
    error = install_driver(python, build=build)
    return (python, "") if error is None else (None, error)


class PycqrsChild:
    """python-cqrs's side, one `_pycqrs_outbox.py` process per run (see its docstring).

    `drain(n)` runs the child and returns its drain time; `publish(n)` returns the bare
    publish time the same child measured next (so the two cases go in that order).
    """

    def __init__(self, python: Path, args: argparse.Namespace, rabbit: Rabbit, prefix: str):
        self._python = python
        self._args = args
        self._rabbit = rabbit
        self._prefix = prefix
        self._runs = 0
        self._publish: dict[int, float] = {}
        self.versions: dict[str, str] = {}

    async def drain(self, count: int) -> float:
        self._runs += 1
        tag = f"r{self._runs}"
        topic, exchange = f"{self._prefix}.pycqrs.{tag}", f"{self._prefix}-pycqrs-{tag}"
        table = f"{self._prefix.replace('-', '_')}_pycqrs_{tag}"
        args = self._args
        command = [
            str(self._python),
            str(PYCQRS_SCRIPT),
            *("--db-url", args.mariadb_url, "--amqp-url", args.amqp_url),
            *("--exchange", exchange, "--topic", topic, "--table", table),
            *("--events", str(count), "--batch-size", str(PYCQRS_BATCH_SIZE)),
            *("--isolation-level", "READ COMMITTED"),
        ]
        try:
            done = await asyncio.to_thread(
                subprocess.run,
                command,
                capture_output=True,
                text=True,
                timeout=120 + count / 20,
                env=child_env(),
                cwd=HERE,
                check=False,
            )
            if done.returncode:
                msg = f"{PYCQRS_SCRIPT.name} exited {done.returncode}:\n{done.stderr[-3000:]}"
                raise RuntimeError(msg)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            await self._rabbit.take(topic, 2 * count)  # the drain's and the bare publish's
        finally:
            await self._rabbit.drop(topic, exchange)  # declared by python-cqrs's publisher
            await drop_table(args.mariadb_url, table)  # the child drops it, unless it crashed
        self._publish[count] = result["publish_seconds"]
        self.versions = result["versions"]
        return float(result["drain_seconds"])

    async def publish(self, count: int) -> float:
        return self._publish.pop(count)


async def drop_table(url: str, table: str) -> None:
    engine = mariadb_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.text(f"DROP TABLE IF EXISTS `{table}`"))
    finally:
        await engine.dispose()


# --- reporting --------------------------------------------------------------------------


def print_table(title: str, rows: Sequence[Row], heads: tuple[str, str, str]) -> None:
    """One line per row, grouped by database; ratios to the baseline of the row's group.

    `heads`: the count column, the per-operation column and the ratio column. A ratio
    whose head starts with "time" is of the times per operation, otherwise of the rates.
    """
    baselines = {row.group: row for row in rows if row.role == "baseline"}
    width = max(len(row.name) for row in rows)
    groups = [row.group for row in rows]
    group_width = max(map(len, groups))
    count_head, per_op_head, ratio_head = heads
    print(f"\n  {title}")
    print(
        f"    {'database':<{group_width}}  {'case':<{width}} {count_head:>7} {'per s':>8} "
        f"{per_op_head:>9} {ratio_head:>14}"
    )
    for row in rows:
        baseline = baselines.get(row.group, baselines.get(""))
        if baseline is None:
            ratio = "-"
        elif ratio_head.startswith("time"):
            ratio = f"{row.seconds / row.count / (baseline.seconds / baseline.count):.2f}"
        else:
            ratio = f"{row.rate / baseline.rate:.2f}"
        print(
            f"    {row.group or '-':<{group_width}}  {row.name:<{width}} {row.count:>7,} "
            f"{row.rate:>8,.0f} {row.us_per_op:>9.1f} {ratio:>14}"
        )


def redact(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port}"


def versions() -> str:
    names = ("sqlalchemy", "aiosqlite", "asyncpg", "aiomysql", "faststream", "aio-pika")
    found = []
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{name} {importlib.metadata.version(name)}")
    return ", ".join(found)


# --- the sections -----------------------------------------------------------------------


async def relay_section(
    databases: Sequence[Database],
    broker: MessageBroker,
    rabbit: Rabbit,
    prefix: str,
    args: argparse.Namespace,
) -> list[Row]:
    queue = await rabbit.declare(f"{prefix}.relay")
    cases = [bare_publish_case(broker, rabbit, queue, args.events)]
    for db in databases:
        for batch_size in BATCH_SIZES:
            count = args.events_batch_1 if batch_size == 1 else args.events
            cases.append(relay_case(db, broker, rabbit, queue, batch_size, count))
    rows = await measure(cases, args.rounds, args.warm_up)
    title = (
        f"1. relay: committed rows -> RabbitMQ (persistent, confirmed), until all PRODUCED; "
        f"best of {args.rounds}"
    )
    print_table(title, rows, ("events", "us/event", "/ bare publish"))
    return rows


async def send_section(
    databases: Sequence[Database],
    broker: MessageBroker,
    rabbit: Rabbit,
    prefix: str,
    args: argparse.Namespace,
    relay_rows: Sequence[Row],
) -> None:
    queue = await rabbit.declare(f"{prefix}.send")
    cases = [case for db in databases for case in send_cases(db, broker, rabbit, queue, args.sends)]
    rows = await measure(cases, args.rounds, args.warm_up)
    title = (
        "2. send(): handler inserts 1 row, raises 1 NotificationEvent; request-scoped "
        f"AsyncSession through di; best of {args.rounds}"
    )
    print_table(title, rows, ("sends", "us/send", "time / (b)"))
    relayed = f"OutboxRelay batch_size={PYCQRS_BATCH_SIZE}"
    costs = [
        f"{row.us_per_op:,.0f} us per event on {row.group}"
        for row in relay_rows
        if row.name == relayed
    ]
    if costs:
        print(
            "    (a)'s events are published later by the relay, off the request path: "
            f"{', '.join(costs)} (table 1, batch_size={PYCQRS_BATCH_SIZE})"
        )


async def pycqrs_section(
    broker: MessageBroker, rabbit: Rabbit, prefix: str, args: argparse.Namespace
) -> None:
    title = (
        f"3. python-cqrs 4.15.1 EventProducer vs OutboxRelay, MariaDB (READ COMMITTED), "
        f"batch size {PYCQRS_BATCH_SIZE}, -> RabbitMQ; best of {args.rounds}"
    )
    if args.no_pycqrs:
        print(f"\n  {title}\n    skipped: --no-pycqrs")
        return
    python, reason = await asyncio.to_thread(pycqrs_python, build=not args.quick)
    if python is None:
        print(f"\n  {title}\n    skipped: {reason}")
        return
    child = PycqrsChild(python, args, rabbit, prefix)
    try:
        async with open_database("MariaDB", mariadb_engine(args.mariadb_url), prefix) as db:
            queue = await rabbit.declare(f"{prefix}.mariadb")
            ours, theirs = f"ours, {db.label}", "python-cqrs 4.15.1"
            publish = bare_publish_case(broker, rabbit, queue, args.events)
            relay = relay_case(db, broker, rabbit, queue, PYCQRS_BATCH_SIZE, args.events)
            cases = [
                dataclasses.replace(publish, group=ours),
                dataclasses.replace(relay, name="OutboxRelay.for_sqlalchemy", group=ours),
                Case("EventProducer + its repository", args.events, child.drain, "", theirs),
                Case(
                    "bare publish: AMQPMessageBroker",
                    args.events,
                    child.publish,
                    "baseline",
                    theirs,
                ),
            ]
            rows = await measure(cases, args.rounds, args.warm_up)
    except ServerDownError as error:
        print(f"\n  {title}\n    skipped: MariaDB at {redact(args.mariadb_url)}: {error}")
        return
    ours_publish, ours_relay, their_drain, their_publish = rows
    print_table(
        title,
        [ours_publish, ours_relay, their_publish, their_drain],
        ("events", "us/event", "/ bare publish"),
    )
    found = ", ".join(f"{name} {version}" for name, version in child.versions.items())
    print(
        f"    EventProducer relays {their_drain.rate / ours_relay.rate:.2f}x as many events/s "
        f"as OutboxRelay; its bare publish is {their_publish.rate / ours_publish.rate:.2f}x "
        "ours (its publisher declares the queue, the exchange and the binding before each "
        "message; confirmed, transient)"
    )
    print(f"    python-cqrs side: {found}")


async def run(args: argparse.Namespace) -> None:
    prefix = f"cqrs-outbox-bench-{uuid.uuid4().hex[:8]}"
    print(
        f"{args.events:,} events per relay row ({args.events_batch_1:,} at batch_size=1), "
        f"{args.sends:,} sends per send() row, best of {args.rounds} interleaved round(s); "
        f"run {prefix}"
    )
    print(
        f"python {platform.python_version()} ({sys.platform}, {os.cpu_count()} CPUs, "
        f"asyncio's default loop); {versions()}"
    )
    try:
        connection = await asyncio.wait_for(aio_pika.connect(args.amqp_url), CONNECT_TIMEOUT)
    except (OSError, asyncio.TimeoutError, AMQPError) as error:
        print(
            f"\nRabbitMQ at {redact(args.amqp_url)}: skipped everything, cannot connect ({error})"
        )
        return
    faststream = RabbitBroker(args.amqp_url, logger=None)
    rabbit: Rabbit | None = None
    try:
        await faststream.start()
        rabbit = Rabbit(connection)
        properties = getattr(connection.transport.connection, "server_properties", {})
        print(f"RabbitMQ {properties.get('version', '?')} at {redact(args.amqp_url)}")
        broker = FastStreamMessageBroker(faststream)
        with tempfile.TemporaryDirectory(prefix="cqrs-outbox-bench-") as directory:
            async with contextlib.AsyncExitStack() as stack:
                databases = []
                for name, engine, url in (
                    ("SQLite (file)", sqlite_engine(directory), "sqlite (a temporary file)"),
                    ("PostgreSQL", postgresql_engine(args.postgresql_url), args.postgresql_url),
                ):
                    try:
                        databases.append(
                            await stack.enter_async_context(open_database(name, engine, prefix))
                        )
                    except ServerDownError as error:
                        print(f"{name} at {redact(url)}: skipped, cannot connect ({error})")
                print("databases: " + ", ".join(db.label for db in databases))
                relay_rows = await relay_section(databases, broker, rabbit, prefix, args)
                await send_section(databases, broker, rabbit, prefix, args, relay_rows)
        await pycqrs_section(broker, rabbit, prefix, args)
    finally:
        if rabbit is not None:
            for queue in rabbit.queues:
                with contextlib.suppress(Exception):
                    await rabbit.drop(queue)
        await faststream.stop()
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny counts, to check it runs")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (best kept)")
    parser.add_argument("--events", type=int, default=5_000, help="events per relay row")
    parser.add_argument(
        "--events-batch-1", type=int, default=None, help="events at batch_size=1 (default 500)"
    )
    parser.add_argument("--sends", type=int, default=500, help="sends per send() row")
    parser.add_argument("--no-pycqrs", action="store_true", help="skip the python-cqrs table")
    parser.add_argument("--amqp-url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument(
        "--postgresql-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--mariadb-url", default="mysql+aiomysql://root@127.0.0.1:3306/test")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.events, args.sends, args.events_batch_1 = 1, 60, 30, 20
    args.rounds = max(1, args.rounds)
    args.events = max(1, args.events)
    args.sends = max(1, args.sends)
    if args.events_batch_1 is None:
        args.events_batch_1 = min(args.events, 500)
    args.events_batch_1 = max(1, args.events_batch_1)
    args.warm_up = min(args.events, 100)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
