"""Saga runners in their own processes, for the saga fault tests (not a test module).

    python fault_saga_process.py run DATABASE_URL PREFIX COUNT
    python fault_saga_process.py recover DATABASE_URL PREFIX

Both use `SqlAlchemySagaStorage` on PostgreSQL, on the tables `tables(PREFIX)` defines
(created by the test). Every step's `act` records one row in the effects table: the
saga, the step, its idempotency key, this process's pid, and when the act started and
finished; that table is what the tests count.

`run` starts COUNT sagas of `FaultSaga` at once (ids printed as `started ID`), with a
2-second lease. Their second step records its effect, prints `in-step-2 ID`, and then
hangs: the test SIGKILLs the process there.

`recover` runs a `SagaRecoveryWorker` (1-second lease, passes every 0.1 s) until
SIGTERM; it prints `ready`, and at the end `recovered N` (the sagas it completed).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import os
import signal
import sys
import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

import cqrs
from cqrs.saga.models import SagaContext
from cqrs.saga.recovery import SagaRecoveryWorker
from cqrs.saga.saga import Saga
from cqrs.saga.step import SagaStepHandler, SagaStepResult, current_step
from cqrs.saga.storage.sqlalchemy import SagaTables, SqlAlchemySagaStorage, saga_tables


@dataclasses.dataclass(frozen=True)
class FaultTables:
    metadata: sa.MetaData
    sagas: SagaTables
    effects: sa.Table


def tables(prefix: str) -> FaultTables:
    metadata = sa.MetaData()
    sagas = saga_tables(metadata, executions=f"{prefix}_sagas", logs=f"{prefix}_saga_logs")
    effects = sa.Table(
        f"{prefix}_effects",
        metadata,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("saga_id", sa.Uuid(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    return FaultTables(metadata, sagas, effects)


def engine_for(url: str) -> AsyncEngine:
    return create_async_engine(url, pool_size=10, pool_pre_ping=True)


@dataclasses.dataclass
class FaultContext(SagaContext):
    order: int
    done: list[int] = dataclasses.field(default_factory=list[int])


class Recorder:
    """Records each act's effect (set up by `main` / the test for its own engine)."""

    engine: AsyncEngine | None = None
    effects: sa.Table | None = None
    hang_in_step_2 = False
    step_2_pause = 0.0

    @classmethod
    async def record(cls, context: FaultContext, step: int) -> None:
        assert cls.engine is not None
        assert cls.effects is not None
        run = current_step()
        started = datetime.datetime.now(datetime.timezone.utc)
        if step == 2 and cls.step_2_pause:
            await asyncio.sleep(cls.step_2_pause)  # widen the window two runners could share
        async with cls.engine.begin() as connection:
            await connection.execute(
                cls.effects.insert().values(
                    saga_id=run.saga_id,
                    step=step,
                    key=run.idempotency_key,
                    pid=os.getpid(),
                    started_at=started,
                    finished_at=datetime.datetime.now(datetime.timezone.utc),
                ),
            )
        context.done.append(step)
        if step == 2 and cls.hang_in_step_2:
            print(f"in-step-2 {run.saga_id}", flush=True)
            await asyncio.Event().wait()  # until SIGKILL


class Done(cqrs.Response):
    step: int


class StepOne(SagaStepHandler[FaultContext, Done]):
    async def act(self, context: FaultContext) -> SagaStepResult[FaultContext, Done]:
        await Recorder.record(context, 1)
        return self._generate_step_result(Done(step=1))

    async def compensate(self, context: FaultContext) -> None:
        return None


class StepTwo(SagaStepHandler[FaultContext, Done]):
    async def act(self, context: FaultContext) -> SagaStepResult[FaultContext, Done]:
        await Recorder.record(context, 2)
        return self._generate_step_result(Done(step=2))

    async def compensate(self, context: FaultContext) -> None:
        return None


class StepThree(SagaStepHandler[FaultContext, Done]):
    async def act(self, context: FaultContext) -> SagaStepResult[FaultContext, Done]:
        await Recorder.record(context, 3)
        return self._generate_step_result(Done(step=3))

    async def compensate(self, context: FaultContext) -> None:
        return None


class FaultSaga(Saga[FaultContext]):
    saga_name = "fault-saga"
    steps = [StepOne, StepTwo, StepThree]


class Builder:
    """The container: builds step and saga classes with no arguments."""

    async def resolve(self, type_: type[object], /) -> object:
        return type_()


async def run(url: str, prefix: str, count: int) -> None:
    fault = tables(prefix)
    Recorder.engine, Recorder.effects = engine_for(url), fault.effects
    Recorder.hang_in_step_2 = True
    engine = engine_for(url)
    storage = SqlAlchemySagaStorage(async_sessionmaker(engine), tables=fault.sagas)
    saga = FaultSaga()

    async def one(order: int) -> None:
        saga_id = uuid.uuid4()
        print(f"started {saga_id}", flush=True)
        transaction = saga.transaction(
            FaultContext(order=order), Builder(), storage, saga_id, lease_seconds=2.0
        )
        async with transaction:
            async for _ in transaction:
                pass

    await asyncio.gather(*(one(order) for order in range(count)))


async def recover(url: str, prefix: str) -> None:
    fault = tables(prefix)
    Recorder.engine, Recorder.effects = engine_for(url), fault.effects
    Recorder.step_2_pause = 0.01
    engine = engine_for(url)
    storage = SqlAlchemySagaStorage(async_sessionmaker(engine), tables=fault.sagas)
    worker = SagaRecoveryWorker(
        storage,
        Builder(),
        [FaultSaga],
        batch_size=10,
        concurrency=5,
        lease_seconds=1.0,
        poll_interval=0.1,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    completed = 0

    async def passes() -> None:
        nonlocal completed
        while not stop.is_set():
            report = await worker.run_once()
            completed += len(report.completed)
            if not report.total:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.1)

    print("ready", flush=True)
    await passes()
    print(f"recovered {completed}", flush=True)
    await engine.dispose()


def main() -> None:
    mode, url, prefix, *rest = sys.argv[1:]
    if mode == "run":
        asyncio.run(run(url, prefix, int(rest[0])))
    else:
        asyncio.run(recover(url, prefix))


if __name__ == "__main__":
    main()
