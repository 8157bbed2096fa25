"""Sagas under real faults, on a real PostgreSQL (skipped without it, failing under
CQRS_REQUIRE_SERVICES=1).

- A runner process SIGKILLed inside step 2 of 3, for 10 sagas at once: a recovery
  worker finishes every saga after the killed runner's lease expires. Counted: each
  step's `act` ran at most once per idempotency key; step 1 never ran again; step 2 ran
  twice (the killed attempt and the recovery's, with distinct keys).
- Three recovery worker processes on one storage with 200 interrupted sagas: every saga
  completes exactly once, each by one worker, with no two acts of one saga overlapping.
- PostgreSQL unreachable mid-saga (the proxy in front of it SIGKILLed after step 2's
  act): `SagaStorageError` naming the saga and the write; nothing is compensated; once
  the database is back, recovery completes the saga from its stored state.

Each test bounds its waits (`WAIT`); the processes are started by the test and reaped.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from tests.child_process import Child
from tests.outbox.fault_ports import spare_port
from tests.saga import fault_saga_process as fault

from cqrs.saga.errors import SagaStorageError
from cqrs.saga.recovery import SagaRecoveryWorker
from cqrs.saga.storage.enums import SagaStatus, SagaStepStatus
from cqrs.saga.storage.protocol import LogWrite
from cqrs.saga.storage.sqlalchemy import SqlAlchemySagaStorage

pytestmark = pytest.mark.asyncio

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "fault_saga_process.py"
PROXY = HERE.parent / "outbox" / "fault_tcp_proxy.py"
WAIT = 60.0


@pytest.fixture
def prefix() -> str:
    return f"sf_{uuid.uuid4().hex[:10]}"


@contextlib.asynccontextmanager
async def fault_tables(
    url: str, prefix: str
) -> AsyncIterator[tuple[AsyncEngine, fault.FaultTables]]:
    engine = fault.engine_for(url)
    made = fault.tables(prefix)
    async with engine.begin() as connection:
        await connection.run_sync(made.metadata.create_all)
    try:
        yield engine, made
    finally:
        async with engine.begin() as connection:
            await connection.run_sync(made.metadata.drop_all)
        await engine.dispose()


async def effects_of(engine: AsyncEngine, made: fault.FaultTables) -> list[Any]:
    async with engine.connect() as connection:
        rows = await connection.execute(sa.select(made.effects).order_by(made.effects.c.id))
        return list(rows)


async def statuses(
    storage: SqlAlchemySagaStorage, ids: list[uuid.UUID]
) -> collections.Counter[str]:
    return collections.Counter([(await storage.load_saga(saga_id)).status.value for saga_id in ids])


async def recover_until_done(
    worker: SagaRecoveryWorker, storage: SqlAlchemySagaStorage, ids: list[uuid.UUID]
) -> None:
    """Run recovery passes until every saga completed (leases have to expire first)."""
    deadline = time.monotonic() + WAIT
    while (await statuses(storage, ids))["completed"] < len(ids):
        assert time.monotonic() < deadline, await statuses(storage, ids)
        report = await worker.run_once()
        if not report.total:
            await asyncio.sleep(0.2)  # the killed runner's lease has yet to expire


async def test_a_runner_killed_in_step_2_is_finished_by_a_recovery_worker(
    postgresql_url: str, prefix: str, tmp_path: Path
) -> None:
    count = 10
    async with fault_tables(postgresql_url, prefix) as (engine, made):
        runner = await Child.start(
            SCRIPT, "run", postgresql_url, prefix, str(count), log=tmp_path / "run.log"
        )
        try:
            ids = [uuid.UUID((await runner.line("started ")).split()[1]) for _ in range(count)]
            for _ in range(count):
                await runner.line("in-step-2 ")
            runner.process.kill()
            assert await asyncio.wait_for(runner.process.wait(), WAIT) == -signal.SIGKILL
        finally:
            await runner.reap()

        storage = SqlAlchemySagaStorage(async_sessionmaker(engine), tables=made.sagas)
        assert await statuses(storage, ids) == {"running": count}
        fault.Recorder.engine, fault.Recorder.effects = engine, made.effects
        fault.Recorder.hang_in_step_2 = False
        worker = SagaRecoveryWorker(storage, fault.Builder(), [fault.FaultSaga], lease_seconds=5)
        await recover_until_done(worker, storage, ids)

        effects = await effects_of(engine, made)
        per_key = collections.Counter(row.key for row in effects)
        per_step = collections.Counter((row.saga_id, row.step) for row in effects)
        duplicated = sum(n - 1 for n in per_key.values())
        print(f"\nkilled in step 2: sagas={count} acts={len(effects)} duplicated keys={duplicated}")
        assert duplicated == 0
        for saga_id in ids:
            assert per_step[saga_id, 1] == 1  # completed before the kill: not run again
            assert per_step[saga_id, 2] == 2  # the killed attempt, then the recovery's
            assert per_step[saga_id, 3] == 1
            attempts = sorted(
                row.key for row in effects if row.saga_id == saga_id and row.step == 2
            )
            assert attempts == [f"{saga_id}:StepTwo:1", f"{saga_id}:StepTwo:2"]
            state = await storage.load_saga(saga_id)
            assert state.context["done"] == [1, 2, 3]
            assert state.lease_owner is None


async def interrupted_sagas(storage: SqlAlchemySagaStorage, count: int) -> list[uuid.UUID]:
    """Sagas left RUNNING after step 1, with no lease: as a crashed runner leaves them."""
    ids = [uuid.uuid4() for _ in range(count)]
    for order, saga_id in enumerate(ids):
        context = fault.FaultContext(order=order, done=[1])
        await storage.create_saga(saga_id, "fault-saga", context.to_dict())
        await storage.checkpoint(saga_id, status=SagaStatus.RUNNING)
        for status in (SagaStepStatus.STARTED, SagaStepStatus.COMPLETED):
            await storage.checkpoint(saga_id, log=LogWrite("StepOne", "act", status))
    return ids


async def test_three_recovery_workers_complete_200_sagas_each_exactly_once(
    postgresql_url: str, prefix: str, tmp_path: Path
) -> None:
    count = 200
    async with fault_tables(postgresql_url, prefix) as (engine, made):
        storage = SqlAlchemySagaStorage(async_sessionmaker(engine), tables=made.sagas)
        ids = await interrupted_sagas(storage, count)
        workers = [
            await Child.start(SCRIPT, "recover", postgresql_url, prefix, log=tmp_path / f"w{n}.log")
            for n in range(3)
        ]
        try:
            for worker in workers:
                await worker.line("ready")
            deadline = time.monotonic() + WAIT * 2
            while (done := await statuses(storage, ids))["completed"] < count:
                assert time.monotonic() < deadline, done
                await asyncio.sleep(0.25)
            outputs = [await worker.stop() for worker in workers]
        finally:
            for worker in workers:
                await worker.reap()

        effects = await effects_of(engine, made)
        per_step = collections.Counter((row.saga_id, row.step) for row in effects)
        by_saga: dict[uuid.UUID, list[Any]] = collections.defaultdict(list)
        for row in effects:
            by_saga[row.saga_id].append(row)
        recovered = [int(output.split()[-1]) for output in outputs]
        print(f"\nthree workers: sagas={count} acts={len(effects)} per worker={recovered}")
        assert sum(recovered) == count
        assert all(per_step[saga_id, 1] == 0 for saga_id in ids)
        assert all(per_step[saga_id, 2] == 1 and per_step[saga_id, 3] == 1 for saga_id in ids)
        for saga_id, rows in by_saga.items():
            assert len({row.pid for row in rows}) == 1, f"saga {saga_id} ran in two workers"
            spans = sorted((row.started_at, row.finished_at) for row in rows)
            assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(spans))


async def test_postgresql_unreachable_mid_saga_leaves_it_for_recovery(
    postgresql_url: str, prefix: str, tmp_path: Path
) -> None:
    port = spare_port()
    url = sa.make_url(postgresql_url)
    proxied = url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)

    async def start_proxy() -> Child:
        proxy = await Child.start(
            PROXY,
            str(port),
            url.host or "127.0.0.1",
            str(url.port or 5432),
            log=tmp_path / "proxy.log",
        )
        await proxy.line("listening")
        return proxy

    async with fault_tables(postgresql_url, prefix) as (engine, made):
        fault.Recorder.engine, fault.Recorder.effects = engine, made.effects  # direct
        fault.Recorder.hang_in_step_2 = False
        proxy = await start_proxy()
        through_proxy = fault.engine_for(proxied)
        try:
            storage = SqlAlchemySagaStorage(async_sessionmaker(through_proxy), tables=made.sagas)
            entered, cut = asyncio.Event(), asyncio.Event()

            class CutAfterStepTwo(fault.FaultSaga):
                saga_name = "fault-saga"

            original = fault.Recorder.record

            async def record(context: fault.FaultContext, step: int) -> None:
                await original(context, step)
                if step == 2:
                    entered.set()
                    await cut.wait()

            fault.Recorder.record = record  # type: ignore[method-assign]  # this test only
            saga_id = uuid.uuid4()
            transaction = CutAfterStepTwo().transaction(
                fault.FaultContext(order=1), fault.Builder(), storage, saga_id, lease_seconds=1.0
            )

            async def run() -> None:
                async with transaction:
                    async for _ in transaction:
                        pass

            task = asyncio.ensure_future(run())
            await asyncio.wait_for(entered.wait(), WAIT)
            proxy.process.kill()
            await proxy.reap()
            cut.set()
            with pytest.raises(SagaStorageError) as raised:
                await asyncio.wait_for(task, WAIT)
            assert str(saga_id) in str(raised.value)
            assert "could not record StepTwo act completed" in str(raised.value)
        finally:
            fault.Recorder.record = original  # type: ignore[method-assign]
            await proxy.reap()
            await through_proxy.dispose()

        direct = SqlAlchemySagaStorage(async_sessionmaker(engine), tables=made.sagas)
        state = await direct.load_saga(saga_id)
        history = [
            (e.step_name, e.action, e.status.value) for e in await direct.get_step_history(saga_id)
        ]
        assert state.status is SagaStatus.RUNNING
        assert history == [
            ("StepOne", "act", "started"),
            ("StepOne", "act", "completed"),
            ("StepTwo", "act", "started"),
        ]
        worker = SagaRecoveryWorker(direct, fault.Builder(), [fault.FaultSaga], lease_seconds=5)
        await recover_until_done(worker, direct, [saga_id])
        effects = await effects_of(engine, made)
        # Step 2's act ran before the cut and once more in the recovery, with a new key.
        attempts = [(row.step, row.key.rsplit(":", 1)[1]) for row in effects]
        assert attempts == [(1, "1"), (2, "1"), (2, "2"), (3, "1")]
        assert (await direct.load_saga(saga_id)).status is SagaStatus.COMPLETED
