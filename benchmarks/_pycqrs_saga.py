"""python-cqrs 4.15.1's sagas, timed: run by `benchmarks/saga.py`, never imported.

Runs inside the python-cqrs venv (`.venv-pycqrs/`, see `tests/brokers/pycqrs.py`), never in
the project's venv: both distributions are imported as `cqrs`, and `cqrs` below is
python-cqrs's. The caller sets CQRS_SUPPRESS_V4_EOL_WARNING=1 (its end-of-life notice) and,
for the SQL rounds, CQRS_SAGA_EXECUTION_TABLE_NAME / CQRS_SAGA_LOG_TABLE_NAME (python-cqrs
reads its table names from them when `cqrs.saga.storage.sqlalchemy` is imported).

The workload is `benchmarks/saga.py`'s, written against python-cqrs's API: a dataclass
`SagaContext` with three flags, three steps whose `act` sets one flag and returns a small
pydantic `Response`, no-op compensations, a `Saga` of the three.

A long-lived process, so that its rounds interleave with the caller's: it reads one JSON
command per line on stdin and answers each with one JSON line on stdout (the first line,
before any command, is {"versions": {...}}):

- {"op": "memory", "count": N}: one round of N sagas run one after another, three ways, in
  this order: "direct" (the three `act`s called on steps built once), "transaction"
  (`saga.transaction(...)` with `MemorySagaStorage` and a container whose `resolve(t)` is
  `t()`), "mediator" (`SagaMediator.stream` from `cqrs.saga.bootstrap.bootstrap` over a
  `di.Container`). Answers {"direct": s, "transaction": s, "mediator": s} (seconds).
- {"op": "sql_open", "url": U}: create python-cqrs's saga tables (its module-level `Base`;
  the enum types it creates on PostgreSQL are renamed after the tables, so that runs do not
  share them) on the async SQLAlchemy URL U. Answers {"server": "15.4"}.
- {"op": "sql", "count": N, "concurrency": C}: empty the tables (untimed), run N sagas with
  its `SqlAlchemySagaStorage`, C at a time (N split into C chunks run with asyncio.gather,
  each chunk one saga after another); answers {"seconds": s, "commits": k}.
- {"op": "sql_close"}: drop the tables and the enum types.
- {"op": "quit"}.

Every round is checked (untimed): every context has its three flags set and the last saga
is stored COMPLETED (SQL: all N). A failure answers {"error": "..."}.
"""

import asyncio
import contextlib
import dataclasses
import importlib.metadata
import json
import os
import sys
import time
import traceback
import uuid
from collections.abc import Sequence
from typing import Any

import di

from cqrs.response import Response
from cqrs.saga import bootstrap
from cqrs.saga.models import SagaContext
from cqrs.saga.saga import Saga
from cqrs.saga.step import SagaStepHandler, SagaStepResult
from cqrs.saga.storage.enums import SagaStatus
from cqrs.saga.storage.memory import MemorySagaStorage

# --- the workload (benchmarks/saga.py's) ---------------------------------------------------


@dataclasses.dataclass
class OrderContext(SagaContext):
    order_id: str
    reserved: bool = False
    charged: bool = False
    shipped: bool = False


class StepDone(Response):
    order_id: str
    step: str


class ReserveInventory(SagaStepHandler[OrderContext, StepDone]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, StepDone]:
        context.reserved = True
        return self._generate_step_result(StepDone(order_id=context.order_id, step="reserve"))

    async def compensate(self, context: OrderContext) -> None:
        return None


class ChargePayment(SagaStepHandler[OrderContext, StepDone]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, StepDone]:
        context.charged = True
        return self._generate_step_result(StepDone(order_id=context.order_id, step="charge"))

    async def compensate(self, context: OrderContext) -> None:
        return None


class ShipOrder(SagaStepHandler[OrderContext, StepDone]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, StepDone]:
        context.shipped = True
        return self._generate_step_result(StepDone(order_id=context.order_id, step="ship"))

    async def compensate(self, context: OrderContext) -> None:
        return None


class OrderSaga(Saga[OrderContext]):
    steps = [ReserveInventory, ChargePayment, ShipOrder]  # noqa: RUF012 - python-cqrs wants a list


class Construct:
    """The trivial container: `resolve(t)` is `t()`."""

    async def resolve(self, type_):
        return type_()


def map_sagas(mapper) -> None:
    mapper.bind(OrderContext, OrderSaga)


def workload(count: int) -> tuple[list[OrderContext], list[uuid.UUID]]:
    return [OrderContext(order_id=f"o-{n}") for n in range(count)], [
        uuid.uuid4() for _ in range(count)
    ]


def check_contexts(contexts: Sequence[OrderContext]) -> None:
    if not all(c.reserved and c.charged and c.shipped for c in contexts):
        raise RuntimeError("a saga did not run all three steps")


# --- in memory ---------------------------------------------------------------------------


class Memory:
    def __init__(self) -> None:
        self.saga = OrderSaga()
        self.steps = (ReserveInventory(), ChargePayment(), ShipOrder())
        self.container = Construct()
        self.mediator_storage = MemorySagaStorage()
        self.mediator = bootstrap.bootstrap(
            di_container=di.Container(),
            sagas_mapper=map_sagas,
            saga_storage=self.mediator_storage,
        )

    async def direct(self, count: int) -> float:
        contexts, _ = workload(count)
        reserve, charge, ship = self.steps
        started = time.perf_counter()
        for context in contexts:
            await reserve.act(context)
            await charge.act(context)
            await ship.act(context)
        seconds = time.perf_counter() - started
        check_contexts(contexts)
        return seconds

    async def transaction(self, count: int) -> float:
        storage = MemorySagaStorage()
        contexts, ids = workload(count)
        saga, container = self.saga, self.container
        started = time.perf_counter()
        for context, saga_id in zip(contexts, ids, strict=True):
            async with saga.transaction(
                context=context, container=container, storage=storage, saga_id=saga_id
            ) as transaction:
                async for _ in transaction:
                    pass
        seconds = time.perf_counter() - started
        check_contexts(contexts)
        await check_completed(storage, ids[-1])
        return seconds

    async def stream(self, count: int) -> float:
        contexts, ids = workload(count)
        mediator = self.mediator
        started = time.perf_counter()
        for context, saga_id in zip(contexts, ids, strict=True):
            async for _ in mediator.stream(context, saga_id=saga_id):
                pass
        seconds = time.perf_counter() - started
        check_contexts(contexts)
        await check_completed(self.mediator_storage, ids[-1])
        return seconds


async def check_completed(storage, saga_id: uuid.UUID) -> None:
    status, _, _ = await storage.load_saga_state(saga_id)
    if status != SagaStatus.COMPLETED:
        raise RuntimeError(f"saga {saga_id} is {status}, not COMPLETED")


# --- SQL -----------------------------------------------------------------------------------


class Sql:
    """python-cqrs's `SqlAlchemySagaStorage` over one engine (imported only when asked)."""

    def __init__(self) -> None:
        self.engine: Any = None
        self.metadata: Any = None
        self.storage: Any = None
        self.executions: Any = None
        self.logs: Any = None
        self.commits = 0
        self.saga = OrderSaga()
        self.container = Construct()

    async def open(self, url: str) -> dict[str, Any]:
        import sqlalchemy as sa
        from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

        from cqrs.saga.storage import sqlalchemy as storage_module

        self.executions = storage_module.SagaExecutionModel.__table__
        self.logs = storage_module.SagaLogModel.__table__
        # The PostgreSQL enum types python-cqrs creates have fixed names: name them after
        # this run's tables instead, so that they are this run's to drop.
        for table in (self.executions, self.logs):
            table.c.status.type.name = f"{table.name}_status"
        self.metadata = storage_module.Base.metadata
        self.engine = create_async_engine(url, connect_args={"timeout": 10})

        def count_commit(*_: object) -> None:
            self.commits += 1

        sa.event.listen(self.engine.sync_engine, "commit", count_commit)
        async with self.engine.begin() as connection:
            await connection.run_sync(self.metadata.create_all)
        self.storage = storage_module.SqlAlchemySagaStorage(
            async_sessionmaker(self.engine, expire_on_commit=False)
        )
        version = self.engine.dialect.server_version_info or ()
        return {"server": ".".join(map(str, version))}

    async def run(self, count: int, concurrency: int) -> dict[str, Any]:
        import sqlalchemy as sa

        async with self.engine.begin() as connection:
            await connection.execute(sa.delete(self.logs))
            await connection.execute(sa.delete(self.executions))
        contexts, ids = workload(count)
        pairs = list(zip(contexts, ids, strict=True))
        chunks = [pairs[k::concurrency] for k in range(concurrency)]

        async def run_chunk(chunk: list[tuple[OrderContext, uuid.UUID]]) -> None:
            for context, saga_id in chunk:
                async with self.saga.transaction(
                    context=context,
                    container=self.container,
                    storage=self.storage,
                    saga_id=saga_id,
                ) as transaction:
                    async for _ in transaction:
                        pass

        commits = self.commits
        started = time.perf_counter()
        await asyncio.gather(*(run_chunk(chunk) for chunk in chunks))
        seconds = time.perf_counter() - started
        commits = self.commits - commits
        check_contexts(contexts)
        async with self.engine.connect() as connection:
            completed = await connection.scalar(
                sa.select(sa.func.count())
                .select_from(self.executions)
                .where(self.executions.c.status == SagaStatus.COMPLETED)
            )
        if completed != count:
            raise RuntimeError(f"{completed} of {count} sagas stored COMPLETED")
        return {"seconds": seconds, "commits": commits}

    async def close(self) -> None:
        if self.engine is None:
            return
        try:
            async with self.engine.begin() as connection:
                await connection.run_sync(self.metadata.drop_all)
        finally:
            await self.engine.dispose()
            self.engine = None


# --- the command loop ----------------------------------------------------------------------


def versions() -> dict[str, str]:
    found = {"python": sys.version.split()[0]}
    for name in ("python-cqrs", "pydantic", "dataclass-wizard", "di", "sqlalchemy", "asyncpg"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[name] = importlib.metadata.version(name)
    return found


def answer(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


async def serve() -> None:
    loop = asyncio.get_running_loop()
    memory = Memory()
    sql = Sql()
    answer({"versions": versions(), "pid": os.getpid()})
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            command = json.loads(line)
            op = command["op"]
            try:
                if op == "quit":
                    answer({})
                    return
                if op == "memory":
                    count = int(command["count"])
                    answer(
                        {
                            "direct": await memory.direct(count),
                            "transaction": await memory.transaction(count),
                            "mediator": await memory.stream(count),
                        }
                    )
                elif op == "sql_open":
                    answer(await sql.open(command["url"]))
                elif op == "sql":
                    answer(await sql.run(int(command["count"]), int(command["concurrency"])))
                elif op == "sql_close":
                    await sql.close()
                    answer({})
                else:
                    answer({"error": f"unknown op {op!r}"})
            except Exception as error:  # noqa: BLE001 - reported to the caller
                answer({"error": f"{error!r}\n{traceback.format_exc()[-3000:]}"})
    finally:
        await sql.close()


def main() -> int:
    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
