"""python-cqrs 4.x saga code that reaches below the mediator keeps working.

- A storage written for python-cqrs (its nine `ISagaStorage` methods, no leases) runs,
  resumes and recovers sagas, through the defaults the other methods have.
- `storage.create_run()` gives python-cqrs's unit of work (writes committed one by one).
- python-cqrs's examples make a saga look stale through `MemorySagaStorage._sagas`.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from typing import Any

import di
import pytest

import cqrs
from cqrs.saga import bootstrap
from cqrs.saga.models import SagaContext
from cqrs.saga.recovery import SagaRecoveryWorker, recover_saga
from cqrs.saga.saga import Saga
from cqrs.saga.step import SagaStepHandler, SagaStepResult
from cqrs.saga.storage import SagaStorageRun
from cqrs.saga.storage.enums import SagaStatus, SagaStepStatus
from cqrs.saga.storage.memory import MemorySagaStorage
from cqrs.saga.storage.models import SagaLogEntry
from cqrs.saga.storage.protocol import ISagaStorage

pytestmark = pytest.mark.asyncio


@dataclasses.dataclass
class TripContext(SagaContext):
    trip_id: str
    booked: list[str] = dataclasses.field(default_factory=list[str])


class Booked(cqrs.Response):
    what: str


calls: list[str] = []


class BookFlight(SagaStepHandler[TripContext, Booked]):
    async def act(self, context: TripContext) -> SagaStepResult[TripContext, Booked]:
        calls.append("flight")
        context.booked.append("flight")
        return self._generate_step_result(Booked(what="flight"))

    async def compensate(self, context: TripContext) -> None:
        calls.append("cancel flight")
        context.booked.remove("flight")


class BookHotel(SagaStepHandler[TripContext, Booked]):
    async def act(self, context: TripContext) -> SagaStepResult[TripContext, Booked]:
        calls.append("hotel")
        if context.trip_id == "no-rooms":
            msg = "no rooms"
            raise LookupError(msg)
        context.booked.append("hotel")
        return self._generate_step_result(Booked(what="hotel"))

    async def compensate(self, context: TripContext) -> None:
        calls.append("cancel hotel")


class TripSaga(Saga[TripContext]):
    steps = [BookFlight, BookHotel]


class DictStorage(ISagaStorage):
    """A storage as python-cqrs users wrote them: its nine methods, nothing else."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, dict[str, Any]] = {}
        self.logs: dict[uuid.UUID, list[SagaLogEntry]] = {}

    def _row(self, saga_id: uuid.UUID) -> dict[str, Any]:
        if saga_id not in self.rows:
            msg = f"Saga {saga_id} not found"
            raise ValueError(msg)
        return self.rows[saga_id]

    async def create_saga(  # type: ignore[override]  # python-cqrs's signature, on purpose
        self, saga_id: uuid.UUID, name: str, context: dict[str, Any]
    ) -> None:
        self.rows[saga_id] = {
            "name": name,
            "status": SagaStatus.PENDING,
            "context": context,
            "version": 1,
            "attempts": 0,
            "updated_at": datetime.datetime.now(datetime.timezone.utc),
        }
        self.logs[saga_id] = []

    async def update_context(
        self, saga_id: uuid.UUID, context: dict[str, Any], current_version: int | None = None
    ) -> None:
        row = self._row(saga_id)
        row["context"] = context
        row["version"] += 1

    async def update_status(self, saga_id: uuid.UUID, status: SagaStatus) -> None:
        row = self._row(saga_id)
        row["status"] = status
        row["version"] += 1

    async def log_step(  # type: ignore[override]  # python-cqrs's signature, on purpose
        self,
        saga_id: uuid.UUID,
        step_name: str,
        action: Any,
        status: SagaStepStatus,
        details: str | None = None,
    ) -> None:
        now = datetime.datetime.now(datetime.timezone.utc)
        self.logs[saga_id].append(SagaLogEntry(saga_id, step_name, action, status, now, details))

    async def load_saga_state(
        self, saga_id: uuid.UUID, *, read_for_update: bool = False
    ) -> tuple[SagaStatus, dict[str, Any], int]:
        row = self._row(saga_id)
        return row["status"], dict(row["context"]), row["version"]

    async def get_step_history(self, saga_id: uuid.UUID) -> list[SagaLogEntry]:
        return list(self.logs.get(saga_id, []))

    async def get_sagas_for_recovery(
        self,
        limit: int,
        max_recovery_attempts: int = 5,
        stale_after_seconds: int | None = None,
        saga_name: str | None = None,
    ) -> list[uuid.UUID]:
        return [
            saga_id
            for saga_id, row in self.rows.items()
            if row["status"] in (SagaStatus.RUNNING, SagaStatus.COMPENSATING)
            and row["attempts"] < max_recovery_attempts
            and (saga_name is None or row["name"] == saga_name)
        ][:limit]

    async def increment_recovery_attempts(
        self, saga_id: uuid.UUID, new_status: SagaStatus | None = None
    ) -> None:
        row = self._row(saga_id)
        row["attempts"] += 1
        if new_status is not None:
            row["status"] = new_status

    async def set_recovery_attempts(self, saga_id: uuid.UUID, attempts: int) -> None:
        self._row(saga_id)["attempts"] = attempts


def mediator_on(storage: ISagaStorage) -> cqrs.SagaMediator:
    return bootstrap.bootstrap(
        di.Container(),
        sagas_mapper=lambda sagas: sagas.bind(TripContext, TripSaga),
        saga_storage=storage,
        compensation_retry_delay=0.001,
    )


async def test_a_storage_written_for_python_cqrs_runs_and_compensates_sagas() -> None:
    calls.clear()
    storage = DictStorage()
    mediator = mediator_on(storage)
    done, failed = uuid.uuid4(), uuid.uuid4()

    results = [step.step_id async for step in mediator.stream(TripContext("t-1"), done)]
    with pytest.raises(LookupError):
        async for _ in mediator.stream(TripContext("no-rooms"), failed):
            pass

    assert results == ["BookFlight", "BookHotel"]
    assert (await storage.load_saga_state(done))[0] is SagaStatus.COMPLETED
    assert (await storage.load_saga_state(failed))[0] is SagaStatus.FAILED
    assert calls == ["flight", "hotel", "flight", "hotel", "cancel flight"]
    assert storage.supports_leases is False
    state = await storage.load_saga(done)  # the default, from load_saga_state
    assert (state.status, state.context["booked"]) == (SagaStatus.COMPLETED, ["flight", "hotel"])


async def test_a_storage_written_for_python_cqrs_resumes_and_recovers() -> None:
    calls.clear()
    storage = DictStorage()
    mediator = mediator_on(storage)
    saga_id = uuid.uuid4()
    stream = mediator.stream(TripContext("t-2"), saga_id)
    async for _ in stream:
        break
    await stream.aclose()

    await recover_saga(TripSaga(), saga_id, TripContext, cqrs.DIContainer(di.Container()), storage)

    assert calls == ["flight", "hotel"]
    status, context, _ = await storage.load_saga_state(saga_id)
    assert (status, context["booked"]) == (SagaStatus.COMPLETED, ["flight", "hotel"])


async def test_a_recovery_worker_works_on_a_storage_without_leases() -> None:
    calls.clear()
    storage = DictStorage()
    saga_id = uuid.uuid4()
    stream = mediator_on(storage).stream(TripContext("t-3"), saga_id)
    async for _ in stream:
        break
    await stream.aclose()
    worker = SagaRecoveryWorker(storage, cqrs.DIContainer(di.Container()), [TripSaga])

    report = await worker.run_once()

    assert report.completed == [saga_id]
    assert storage.rows[saga_id]["attempts"] == 1  # counted by the default claim


async def test_create_run_is_python_cqrs_s_unit_of_work() -> None:
    storage = MemorySagaStorage()
    saga_id = uuid.uuid4()

    async with storage.create_run() as run:
        typed: SagaStorageRun = run  # the protocol python-cqrs code annotates with
        assert hasattr(typed, "commit")
        await run.create_saga(saga_id, "TripSaga", {"trip_id": "t-4", "booked": []})
        await run.update_status(saga_id, SagaStatus.RUNNING)
        await run.log_step(saga_id, "BookFlight", "act", SagaStepStatus.STARTED)
        await run.update_context(saga_id, {"trip_id": "t-4", "booked": ["flight"]})
        await run.commit()
        status, context, version = await run.load_saga_state(saga_id)
        history = await run.get_step_history(saga_id)

    assert (status, context["booked"], version) == (SagaStatus.RUNNING, ["flight"], 3)
    assert [(e.step_name, e.action, e.status) for e in history] == [
        ("BookFlight", "act", SagaStepStatus.STARTED)
    ]


async def test_python_cqrs_examples_can_age_a_memory_saga() -> None:
    storage = MemorySagaStorage()
    saga_id = uuid.uuid4()
    await storage.create_saga(saga_id, "TripSaga", {"trip_id": "t-5", "booked": []})
    await storage.update_status(saga_id, SagaStatus.RUNNING)
    assert await storage.get_sagas_for_recovery(10, stale_after_seconds=60) == []

    earlier = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    storage._sagas[saga_id]["updated_at"] = earlier  # what python-cqrs's example does

    assert saga_id in storage._sagas
    assert storage._sagas[saga_id]["updated_at"] == earlier
    assert await storage.get_sagas_for_recovery(10, stale_after_seconds=60) == [saga_id]
    with pytest.raises(KeyError):
        storage._sagas[saga_id]["no_such_field"] = 1
