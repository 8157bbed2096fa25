"""The saga storage contract, on every storage: memory and SQLAlchemy on each database.

SQLite (in memory and a file) always runs; PostgreSQL and MariaDB come from the
`postgresql_url` / `mariadb_url` fixtures (skipped when down, failed with
CQRS_REQUIRE_SERVICES=1). Every SQL test creates its own tables (unique names) and
drops them afterwards.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool
from tests.outbox.engines import BACKENDS, LOCKING_BACKENDS, engine_for, tables_on

from cqrs.saga.errors import SagaConcurrencyError
from cqrs.saga.storage.enums import SagaStatus, SagaStepStatus
from cqrs.saga.storage.memory import MemorySagaStorage
from cqrs.saga.storage.protocol import ISagaStorage, LogWrite, SagaState
from cqrs.saga.storage.sqlalchemy import (
    DEFAULT_SAGA_EXECUTION_TABLE_NAME,
    DEFAULT_SAGA_LOG_TABLE_NAME,
    Base,
    SagaTables,
    SqlAlchemySagaStorage,
    _is_deadlock,
    saga_tables,
)

UTC = datetime.timezone.utc
STORAGES = ("memory", *BACKENDS)
LEASE = 30.0
TINY_LEASE = 0.05


def now() -> datetime.datetime:
    return datetime.datetime.now(UTC)


async def expire() -> None:
    """Wait until a TINY_LEASE taken before has expired."""
    await asyncio.sleep(TINY_LEASE + 0.03)


# --- storages -------------------------------------------------------------------------


@dataclasses.dataclass
class Store:
    kind: str
    storage: ISagaStorage
    sessions: async_sessionmaker[AsyncSession] | None = None
    tables: SagaTables | None = None

    async def age(self, saga_id: uuid.UUID, seconds: float) -> None:
        """Move the saga's `updated_at` back (as if it had not changed for `seconds`)."""
        earlier = (await self.storage.load_saga(saga_id)).updated_at - datetime.timedelta(
            seconds=seconds
        )
        if isinstance(self.storage, MemorySagaStorage):
            self.storage._sagas[saga_id]["updated_at"] = earlier  # as python-cqrs's examples do
            return
        assert self.sessions is not None
        assert self.tables is not None
        table = self.tables.executions
        async with self.sessions() as session, session.begin():
            await session.execute(
                sa.update(table).where(table.c.id == saga_id).values(updated_at=earlier)
            )

    async def new(
        self,
        status: SagaStatus = SagaStatus.PENDING,
        *,
        name: str = "order",
        attempts: int = 0,
        context: dict[str, Any] | None = None,
    ) -> uuid.UUID:
        """A saga in `status` with `attempts` recovery attempts (its last change is now)."""
        saga_id = uuid.uuid4()
        await self.storage.create_saga(saga_id, name, context if context is not None else {})
        if status is not SagaStatus.PENDING:
            await self.storage.update_status(saga_id, status)
        if attempts:
            await self.storage.set_recovery_attempts(saga_id, attempts)
        return saga_id

    async def state(self, saga_id: uuid.UUID) -> SagaState:
        return await self.storage.load_saga(saga_id)


async def _sql(backend: str, request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Store]:
    engine = engine_for(backend, request, tmp_path)
    suffix = uuid.uuid4().hex[:12]
    metadata = sa.MetaData()
    tables = saga_tables(
        metadata, executions=f"saga_executions_{suffix}", logs=f"saga_logs_{suffix}"
    )
    async with tables_on(engine, metadata) as sessions:
        yield Store(backend, SqlAlchemySagaStorage(sessions, tables=tables), sessions, tables)


@pytest.fixture(params=STORAGES)
async def store(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield Store("memory", MemorySagaStorage())
        return
    async for opened in _sql(request.param, request, tmp_path):
        yield opened


@pytest.fixture(params=LOCKING_BACKENDS)
async def locking_store(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Store]:
    async for opened in _sql(request.param, request, tmp_path):
        yield opened


# --- create, load ---------------------------------------------------------------------


async def test_a_created_saga_is_pending_at_version_1(store: Store) -> None:
    saga_id = uuid.uuid4()
    before = now()
    await store.storage.create_saga(saga_id, "order", {"order_id": "o-1"})
    after = now()

    state = await store.state(saga_id)

    assert (state.saga_id, state.name, state.status, state.context) == (
        saga_id,
        "order",
        SagaStatus.PENDING,
        {"order_id": "o-1"},
    )
    assert (state.version, state.recovery_attempts) == (1, 0)
    assert (state.lease_owner, state.lease_expires_at) == (None, None)
    assert state.created_at == state.updated_at
    assert before <= state.created_at <= after
    assert state.created_at.tzinfo is UTC
    assert state.updated_at.tzinfo is UTC
    assert isinstance(state.status, SagaStatus)


async def test_a_duplicate_id_is_refused(store: Store) -> None:
    saga_id = await store.new(context={"n": 1})

    with pytest.raises(ValueError, match=f"Saga {saga_id} already exists"):
        await store.storage.create_saga(saga_id, "other", {"n": 2})

    state = await store.state(saga_id)
    assert (state.name, state.context, state.version) == ("order", {"n": 1}, 1)


async def test_the_context_round_trips_as_json(store: Store) -> None:
    context = {
        "order_id": "o-1",
        "amount": 12.5,
        "count": 3,
        "paid": True,
        "note": None,
        "text": "café ✓ 日本",
        "items": [{"sku": "a", "quantity": 2}, {"sku": "b", "quantity": 1}],
        "nested": {"deep": [1, [2, 3]], "empty": {}},
    }
    saga_id = await store.new(context=context)

    loaded = await store.state(saga_id)
    assert loaded.context == context

    loaded.context["amount"] = 0  # a copy: the stored context does not change
    assert (await store.state(saga_id)).context == context


async def test_load_saga_state_gives_status_context_and_version(store: Store) -> None:
    saga_id = await store.new(SagaStatus.RUNNING, context={"a": 1})

    assert await store.storage.load_saga_state(saga_id) == (SagaStatus.RUNNING, {"a": 1}, 2)
    assert await store.storage.load_saga_state(saga_id, read_for_update=True) == (
        SagaStatus.RUNNING,
        {"a": 1},
        2,
    )


async def test_unknown_sagas_are_value_errors(store: Store) -> None:
    unknown = uuid.uuid4()
    storage = store.storage
    calls = [
        storage.load_saga(unknown),
        storage.load_saga_state(unknown),
        storage.update_context(unknown, {"a": 1}),
        storage.update_context(unknown, {"a": 1}, current_version=1),
        storage.update_status(unknown, SagaStatus.RUNNING),
        storage.log_step(unknown, "reserve", "act", SagaStepStatus.STARTED),
        storage.increment_recovery_attempts(unknown),
        storage.increment_recovery_attempts(unknown, SagaStatus.FAILED),
        storage.set_recovery_attempts(unknown, 2),
        storage.acquire_lease(unknown, "runner", LEASE),
        storage.checkpoint(unknown),
        storage.checkpoint(unknown, owner="runner", status=SagaStatus.RUNNING),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=f"Saga {unknown} not found"):
            await call

    assert await storage.get_step_history(unknown) == []
    await storage.release_lease(unknown, "runner")  # a no-op


# --- context, status ------------------------------------------------------------------


async def test_update_context_replaces_it_and_counts_a_version(store: Store) -> None:
    saga_id = await store.new(context={"a": 1, "b": 2})
    created = await store.state(saga_id)

    await store.storage.update_context(saga_id, {"c": 3})

    state = await store.state(saga_id)
    assert (state.context, state.version) == ({"c": 3}, 2)
    assert state.updated_at > created.updated_at
    assert state.created_at == created.created_at
    assert state.status is SagaStatus.PENDING


async def test_update_context_with_the_current_version(store: Store) -> None:
    saga_id = await store.new(context={"a": 1})

    await store.storage.update_context(saga_id, {"a": 2}, current_version=1)
    await store.storage.update_context(saga_id, {"a": 3}, current_version=2)

    assert (await store.storage.load_saga_state(saga_id)) == (
        SagaStatus.PENDING,
        {"a": 3},
        3,
    )


async def test_update_context_with_a_stale_version_changes_nothing(store: Store) -> None:
    saga_id = await store.new(context={"a": 1})
    await store.storage.update_context(saga_id, {"a": 2})  # version 2
    before = await store.state(saga_id)

    with pytest.raises(SagaConcurrencyError, match="is at version 2, not 1"):
        await store.storage.update_context(saga_id, {"a": 99}, current_version=1)

    assert await store.state(saga_id) == before


async def test_update_status_sets_it_and_counts_a_version(store: Store) -> None:
    saga_id = await store.new(context={"a": 1})

    for version, status in enumerate(
        [SagaStatus.RUNNING, SagaStatus.COMPENSATING, SagaStatus.FAILED], start=2
    ):
        await store.storage.update_status(saga_id, status)
        state = await store.state(saga_id)
        assert (state.status, state.version, state.context) == (status, version, {"a": 1})


# --- the step log ---------------------------------------------------------------------


async def test_the_step_log_keeps_the_order_written_and_the_results(store: Store) -> None:
    saga_id = await store.new()
    other = await store.new()
    before = now()
    storage = store.storage
    await storage.log_step(saga_id, "Reserve", "act", SagaStepStatus.STARTED)
    await storage.log_step(other, "Elsewhere", "act", SagaStepStatus.STARTED)
    await storage.log_step(
        saga_id,
        "Reserve",
        "act",
        SagaStepStatus.COMPLETED,
        result={"reservation_id": "r-1", "lines": [{"sku": "a", "quantity": 2}]},
    )
    await storage.log_step(saga_id, "Charge", "act", SagaStepStatus.FAILED, "card declined")
    await storage.log_step(saga_id, "Reserve", "compensate", SagaStepStatus.STARTED)
    await storage.log_step(saga_id, "Reserve", "compensate", SagaStepStatus.COMPENSATED)
    after = now()

    history = await storage.get_step_history(saga_id)

    assert [
        (entry.step_name, entry.action, entry.status, entry.details, entry.result)
        for entry in history
    ] == [
        ("Reserve", "act", SagaStepStatus.STARTED, None, None),
        (
            "Reserve",
            "act",
            SagaStepStatus.COMPLETED,
            None,
            {"reservation_id": "r-1", "lines": [{"sku": "a", "quantity": 2}]},
        ),
        ("Charge", "act", SagaStepStatus.FAILED, "card declined", None),
        ("Reserve", "compensate", SagaStepStatus.STARTED, None, None),
        ("Reserve", "compensate", SagaStepStatus.COMPENSATED, None, None),
    ]
    assert {entry.saga_id for entry in history} == {saga_id}
    assert all(isinstance(entry.status, SagaStepStatus) for entry in history)
    assert all(entry.timestamp.tzinfo is UTC for entry in history)
    assert all(before <= entry.timestamp <= after for entry in history)
    assert [entry.timestamp for entry in history] == sorted(e.timestamp for e in history)
    assert [entry.step_name for entry in await storage.get_step_history(other)] == ["Elsewhere"]


async def test_logging_a_step_does_not_change_the_saga(store: Store) -> None:
    saga_id = await store.new(SagaStatus.RUNNING)
    before = await store.state(saga_id)

    await store.storage.log_step(saga_id, "Reserve", "act", SagaStepStatus.STARTED)

    assert await store.state(saga_id) == before


# --- recovery queries -----------------------------------------------------------------


async def test_get_sagas_for_recovery_filters_and_orders(store: Store) -> None:
    storage = store.storage
    running = await store.new(SagaStatus.RUNNING)
    compensating = await store.new(SagaStatus.COMPENSATING)
    await store.new(SagaStatus.PENDING)
    await store.new(SagaStatus.COMPLETED)
    await store.new(SagaStatus.FAILED)
    exhausted = await store.new(SagaStatus.RUNNING, attempts=5)
    almost = await store.new(SagaStatus.RUNNING, attempts=4)
    refund = await store.new(SagaStatus.RUNNING, name="refund")

    assert await storage.get_sagas_for_recovery(limit=10) == [
        running,
        compensating,
        almost,
        refund,
    ]
    assert await storage.get_sagas_for_recovery(limit=2) == [running, compensating]
    assert await storage.get_sagas_for_recovery(limit=0) == []
    assert await storage.get_sagas_for_recovery(limit=10, max_recovery_attempts=6) == [
        running,
        compensating,
        exhausted,
        almost,
        refund,
    ]
    assert await storage.get_sagas_for_recovery(limit=10, max_recovery_attempts=1) == [
        running,
        compensating,
        refund,
    ]
    assert await storage.get_sagas_for_recovery(limit=10, saga_name="refund") == [refund]
    assert await storage.get_sagas_for_recovery(limit=10, saga_name="none") == []

    # least recently updated first
    await storage.update_context(running, {"touched": True})
    assert await storage.get_sagas_for_recovery(limit=10) == [
        compensating,
        almost,
        refund,
        running,
    ]

    # stale: not updated for stale_after_seconds
    assert await storage.get_sagas_for_recovery(limit=10, stale_after_seconds=60) == []
    await store.age(refund, 120)
    await store.age(almost, 90)
    assert await storage.get_sagas_for_recovery(limit=10, stale_after_seconds=60) == [
        refund,
        almost,
    ]
    assert await storage.get_sagas_for_recovery(limit=10, stale_after_seconds=100) == [refund]


async def test_get_sagas_for_recovery_ignores_leases(store: Store) -> None:
    saga_id = await store.new(SagaStatus.RUNNING)
    assert await store.storage.acquire_lease(saga_id, "runner", LEASE)

    assert await store.storage.get_sagas_for_recovery(limit=10) == [saga_id]


async def test_recovery_attempts_are_incremented_and_set(store: Store) -> None:
    storage = store.storage
    saga_id = await store.new(SagaStatus.RUNNING)

    await storage.increment_recovery_attempts(saga_id)
    state = await store.state(saga_id)
    assert (state.recovery_attempts, state.status, state.version) == (1, SagaStatus.RUNNING, 3)

    await storage.increment_recovery_attempts(saga_id, SagaStatus.COMPENSATING)
    state = await store.state(saga_id)
    assert (state.recovery_attempts, state.status, state.version) == (
        2,
        SagaStatus.COMPENSATING,
        4,
    )

    await storage.set_recovery_attempts(saga_id, 7)
    state = await store.state(saga_id)
    assert (state.recovery_attempts, state.status, state.version) == (
        7,
        SagaStatus.COMPENSATING,
        5,
    )

    await storage.set_recovery_attempts(saga_id, 0)
    assert (await store.state(saga_id)).recovery_attempts == 0


# --- leases ---------------------------------------------------------------------------


async def test_a_lease_is_taken_extended_and_refused_to_others(store: Store) -> None:
    storage = store.storage
    saga_id = await store.new(SagaStatus.RUNNING)

    before = now()
    assert await storage.acquire_lease(saga_id, "runner-a", LEASE) is True
    after = now()
    state = await store.state(saga_id)
    assert state.lease_owner == "runner-a"
    assert state.lease_expires_at is not None
    assert state.lease_expires_at.tzinfo is UTC
    lease = datetime.timedelta(seconds=LEASE)
    assert before + lease <= state.lease_expires_at <= after + lease
    assert state.version == 3

    # the holder extends it
    assert await storage.acquire_lease(saga_id, "runner-a", 2 * LEASE) is True
    extended = await store.state(saga_id)
    assert extended.lease_expires_at is not None
    assert extended.lease_expires_at > state.lease_expires_at
    assert extended.version == 4

    # another owner is refused, and nothing changes
    assert await storage.acquire_lease(saga_id, "runner-b", LEASE) is False
    assert await store.state(saga_id) == extended


async def test_an_expired_lease_is_taken_over(store: Store) -> None:
    storage = store.storage
    saga_id = await store.new(SagaStatus.RUNNING)
    assert await storage.acquire_lease(saga_id, "runner-a", TINY_LEASE)
    assert await storage.acquire_lease(saga_id, "runner-b", LEASE) is False

    await expire()

    assert await storage.acquire_lease(saga_id, "runner-b", LEASE) is True
    state = await store.state(saga_id)
    assert state.lease_owner == "runner-b"
    assert state.lease_expires_at is not None
    assert state.lease_expires_at > now()
    assert await storage.acquire_lease(saga_id, "runner-a", LEASE) is False


async def test_a_lease_is_released_by_its_owner_only(store: Store) -> None:
    storage = store.storage
    saga_id = await store.new(SagaStatus.RUNNING)
    assert await storage.acquire_lease(saga_id, "runner-a", LEASE)
    held = await store.state(saga_id)

    await storage.release_lease(saga_id, "runner-b")
    assert await store.state(saga_id) == held

    await storage.release_lease(saga_id, "runner-a")
    state = await store.state(saga_id)
    assert (state.lease_owner, state.lease_expires_at, state.version) == (
        None,
        None,
        held.version + 1,
    )
    assert state.status is SagaStatus.RUNNING

    await storage.release_lease(saga_id, "runner-a")  # not held any more: a no-op
    assert (await store.state(saga_id)).version == held.version + 1
    assert await storage.acquire_lease(saga_id, "runner-b", LEASE) is True


# --- checkpoint -----------------------------------------------------------------------


async def test_a_checkpoint_writes_context_status_and_log_at_once(store: Store) -> None:
    storage = store.storage
    saga_id = await store.new(SagaStatus.RUNNING, context={"step": 0})

    await storage.checkpoint(
        saga_id,
        context={"step": 1},
        status=SagaStatus.COMPENSATING,
        log=LogWrite(
            "Reserve",
            "act",
            SagaStepStatus.COMPLETED,
            details="done",
            result={"reservation_id": "r-1"},
        ),
    )

    state = await store.state(saga_id)
    assert (state.context, state.status, state.version) == (
        {"step": 1},
        SagaStatus.COMPENSATING,
        3,
    )
    [entry] = await storage.get_step_history(saga_id)
    assert (entry.step_name, entry.action, entry.status, entry.details, entry.result) == (
        "Reserve",
        "act",
        SagaStepStatus.COMPLETED,
        "done",
        {"reservation_id": "r-1"},
    )
    assert entry.timestamp.tzinfo is UTC


async def test_a_checkpoint_of_some_parts_keeps_the_others(store: Store) -> None:
    storage = store.storage
    saga_id = await store.new(SagaStatus.RUNNING, context={"step": 0})

    await storage.checkpoint(saga_id, log=LogWrite("Reserve", "act", SagaStepStatus.STARTED))
    state = await store.state(saga_id)
    assert (state.context, state.status, state.version) == ({"step": 0}, SagaStatus.RUNNING, 3)

    await storage.checkpoint(saga_id, context={"step": 1})
    state = await store.state(saga_id)
    assert (state.context, state.status, state.version) == ({"step": 1}, SagaStatus.RUNNING, 4)

    await storage.checkpoint(saga_id, status=SagaStatus.COMPLETED)
    state = await store.state(saga_id)
    assert (state.context, state.status, state.version) == (
        {"step": 1},
        SagaStatus.COMPLETED,
        5,
    )
    assert len(await storage.get_step_history(saga_id)) == 1


async def test_a_checkpoint_by_the_lease_holder_extends_its_lease(store: Store) -> None:
    storage = store.storage
    saga_id = await store.new(SagaStatus.RUNNING)
    assert await storage.acquire_lease(saga_id, "runner", LEASE)
    held = await store.state(saga_id)
    assert held.lease_expires_at is not None

    await storage.checkpoint(saga_id, owner="runner", context={"step": 1})  # no lease_seconds
    kept = await store.state(saga_id)
    assert (kept.lease_owner, kept.lease_expires_at, kept.context) == (
        "runner",
        held.lease_expires_at,
        {"step": 1},
    )

    before = now()
    await storage.checkpoint(saga_id, owner="runner", lease_seconds=2 * LEASE)
    after = now()
    extended = await store.state(saga_id)
    assert extended.lease_owner == "runner"
    assert extended.lease_expires_at is not None
    lease = datetime.timedelta(seconds=2 * LEASE)
    assert before + lease <= extended.lease_expires_at <= after + lease
    assert extended.version == kept.version + 1


async def test_a_checkpoint_on_an_expired_lease_nobody_took_over_is_fine(store: Store) -> None:
    storage = store.storage
    saga_id = await store.new(SagaStatus.RUNNING)
    assert await storage.acquire_lease(saga_id, "runner", TINY_LEASE)
    await expire()

    await storage.checkpoint(saga_id, owner="runner", lease_seconds=LEASE, context={"n": 1})

    state = await store.state(saga_id)
    assert (state.lease_owner, state.context) == ("runner", {"n": 1})
    assert state.lease_expires_at is not None
    assert state.lease_expires_at > now()


async def test_a_checkpoint_by_a_runner_without_the_lease_writes_nothing(store: Store) -> None:
    storage = store.storage
    saga_id = await store.new(SagaStatus.RUNNING, context={"step": 0})
    everything: dict[str, Any] = {
        "lease_seconds": LEASE,
        "context": {"step": 9},
        "status": SagaStatus.COMPLETED,
        "log": LogWrite("Reserve", "act", SagaStepStatus.COMPLETED, result={"x": 1}),
    }

    # nobody holds the lease
    before = await store.state(saga_id)
    with pytest.raises(SagaConcurrencyError, match="held by None, not 'runner-a'"):
        await storage.checkpoint(saga_id, owner="runner-a", **everything)
    assert await store.state(saga_id) == before

    # another runner took it over
    assert await storage.acquire_lease(saga_id, "runner-b", LEASE)
    before = await store.state(saga_id)
    with pytest.raises(SagaConcurrencyError, match="held by 'runner-b', not 'runner-a'"):
        await storage.checkpoint(saga_id, owner="runner-a", **everything)
    assert await store.state(saga_id) == before
    assert await storage.get_step_history(saga_id) == []


# --- claims ---------------------------------------------------------------------------


async def test_claim_for_recovery_leases_interrupted_sagas(store: Store) -> None:
    storage = store.storage
    pending = await store.new(SagaStatus.PENDING)
    running = await store.new(SagaStatus.RUNNING)
    await store.new(SagaStatus.COMPLETED)
    await store.new(SagaStatus.FAILED)
    compensating = await store.new(SagaStatus.COMPENSATING)
    leased = await store.new(SagaStatus.RUNNING)
    assert await storage.acquire_lease(leased, "runner", LEASE)
    expired = await store.new(SagaStatus.RUNNING)
    assert await storage.acquire_lease(expired, "crashed", TINY_LEASE)
    released = await store.new(SagaStatus.RUNNING)
    assert await storage.acquire_lease(released, "finished", LEASE)
    await storage.release_lease(released, "finished")
    await expire()
    versions = {saga_id: (await store.state(saga_id)).version for saga_id in (pending, expired)}

    before = now()
    first = await storage.claim_for_recovery("worker", limit=3, lease_seconds=LEASE)
    after = now()

    assert first == [pending, running, compensating]  # least recently updated first
    rest = await storage.claim_for_recovery("worker", limit=10, lease_seconds=LEASE)
    assert rest == [expired, released]
    assert await storage.claim_for_recovery("worker", limit=10, lease_seconds=LEASE) == []
    assert await storage.claim_for_recovery("other", limit=10, lease_seconds=LEASE) == []

    lease = datetime.timedelta(seconds=LEASE)
    for saga_id in first:
        state = await store.state(saga_id)
        assert state.lease_owner == "worker"
        assert state.lease_expires_at is not None
        assert before + lease <= state.lease_expires_at <= after + lease
        assert state.recovery_attempts == 1
    assert (await store.state(pending)).version == versions[pending] + 1
    assert (await store.state(expired)).version == versions[expired] + 1
    assert (await store.state(pending)).status is SagaStatus.PENDING  # statuses unchanged
    assert (await store.state(leased)).lease_owner == "runner"
    assert (await store.state(leased)).recovery_attempts == 0


async def test_claim_for_recovery_filters(store: Store) -> None:
    storage = store.storage
    exhausted = await store.new(SagaStatus.RUNNING, attempts=5)
    almost = await store.new(SagaStatus.RUNNING, attempts=4)
    refund = await store.new(SagaStatus.RUNNING, name="refund")
    fresh = await store.new(SagaStatus.RUNNING)

    assert await storage.claim_for_recovery("w", limit=0, lease_seconds=LEASE) == []
    assert (
        await storage.claim_for_recovery("w", limit=10, lease_seconds=LEASE, saga_name="nothing")
        == []
    )
    assert (
        await storage.claim_for_recovery("w", limit=10, lease_seconds=LEASE, stale_after_seconds=60)
        == []
    )

    await store.age(refund, 120)
    await store.age(almost, 90)
    assert await storage.claim_for_recovery(
        "w", limit=10, lease_seconds=LEASE, stale_after_seconds=100
    ) == [refund]
    assert await storage.claim_for_recovery(
        "w", limit=10, lease_seconds=LEASE, stale_after_seconds=60, saga_name="order"
    ) == [almost]
    assert (await store.state(almost)).recovery_attempts == 5
    assert await storage.claim_for_recovery(
        "w", limit=10, lease_seconds=LEASE, max_recovery_attempts=6
    ) == [exhausted, fresh]
    assert (await store.state(exhausted)).recovery_attempts == 6
    assert (await store.state(fresh)).recovery_attempts == 1


async def test_claimed_sagas_are_claimed_again_once_their_lease_expires(store: Store) -> None:
    storage = store.storage
    saga_id = await store.new(SagaStatus.RUNNING)

    assert await storage.claim_for_recovery("a", limit=1, lease_seconds=TINY_LEASE) == [saga_id]
    assert await storage.claim_for_recovery("b", limit=1, lease_seconds=TINY_LEASE) == []
    await expire()
    assert await storage.claim_for_recovery("b", limit=1, lease_seconds=LEASE) == [saga_id]

    state = await store.state(saga_id)
    assert (state.lease_owner, state.recovery_attempts) == ("b", 2)
    # the runner that lost it finds out at its next checkpoint
    with pytest.raises(SagaConcurrencyError):
        await storage.checkpoint(saga_id, owner="a", status=SagaStatus.COMPLETED)
    await storage.checkpoint(saga_id, owner="b", status=SagaStatus.COMPLETED)
    assert (await store.state(saga_id)).status is SagaStatus.COMPLETED


async def test_fail_exhausted_fails_interrupted_sagas_out_of_attempts(store: Store) -> None:
    storage = store.storage
    running = await store.new(SagaStatus.RUNNING, attempts=5)
    pending = await store.new(SagaStatus.PENDING, attempts=7)
    one_left = await store.new(SagaStatus.RUNNING, attempts=4)
    await store.new(SagaStatus.COMPLETED, attempts=5)
    leased = await store.new(SagaStatus.COMPENSATING, attempts=5)
    assert await storage.acquire_lease(leased, "runner", LEASE)
    expired = await store.new(SagaStatus.COMPENSATING, attempts=5)
    assert await storage.acquire_lease(expired, "crashed", TINY_LEASE)
    refund = await store.new(SagaStatus.RUNNING, attempts=5, name="refund")
    await expire()
    versions = {saga_id: (await store.state(saga_id)).version for saga_id in (running, expired)}

    assert await storage.fail_exhausted(5, limit=0) == []
    assert await storage.fail_exhausted(5, limit=10, saga_name="refund") == [refund]
    assert await storage.fail_exhausted(5, limit=2) == [running, pending]
    assert await storage.fail_exhausted(5, limit=10) == [expired]
    assert await storage.fail_exhausted(5, limit=10) == []

    for saga_id in (running, pending, expired, refund):
        state = await store.state(saga_id)
        assert (state.status, state.lease_owner, state.lease_expires_at) == (
            SagaStatus.FAILED,
            None,
            None,
        )
    assert (await store.state(running)).version == versions[running] + 1
    assert (await store.state(expired)).version == versions[expired] + 1
    assert (await store.state(expired)).recovery_attempts == 5
    assert (await store.state(leased)).status is SagaStatus.COMPENSATING
    assert await storage.claim_for_recovery("w", limit=10, lease_seconds=LEASE) == [one_left]


# --- SQL only: the tables, Base, row locks ----------------------------------------------


def test_the_tables_have_the_documented_columns_and_indexes() -> None:
    metadata = sa.MetaData()
    tables = saga_tables(metadata, executions="order_sagas", logs="order_saga_logs")

    assert set(metadata.tables) == {"order_sagas", "order_saga_logs"}
    executions, logs = tables.executions, tables.logs
    assert [column.name for column in executions.columns] == [
        "id", "name", "status", "context", "version", "recovery_attempts",
        "created_at", "updated_at", "lease_owner", "lease_expires_at",
    ]  # fmt: skip
    assert [column.name for column in logs.columns] == [
        "id", "saga_id", "step_name", "action", "status", "details", "result", "created_at",
    ]  # fmt: skip
    assert [column.name for column in executions.primary_key] == ["id"]
    assert isinstance(executions.c.status.type, sa.String)
    assert not isinstance(executions.c.status.type, sa.Enum)
    assert executions.c.status.type.length == 16
    assert [c.name for c in executions.columns if c.nullable] == ["lease_owner", "lease_expires_at"]
    assert [c.name for c in logs.columns if c.nullable] == ["details", "result"]
    assert {index.name: [c.name for c in index.columns] for index in executions.indexes} == {
        "ix_order_sagas_recovery": ["status", "lease_expires_at"],
        "ix_order_sagas_updated_at": ["updated_at"],
    }
    assert {index.name: [c.name for c in index.columns] for index in logs.indexes} == {
        "ix_order_saga_logs_saga_id": ["saga_id"],
    }
    [foreign_key] = logs.c.saga_id.foreign_keys
    assert foreign_key.column is executions.c.id
    assert foreign_key.ondelete == "CASCADE"


def test_the_log_id_autoincrements_on_sqlite_too() -> None:
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.schema import CreateTable

    logs = saga_tables(sa.MetaData()).logs

    assert "id INTEGER NOT NULL" in str(CreateTable(logs).compile(dialect=sqlite.dialect()))
    assert "id BIGSERIAL NOT NULL" in str(CreateTable(logs).compile(dialect=postgresql.dialect()))


async def test_base_metadata_holds_the_default_tables_python_cqrs_style() -> None:
    assert DEFAULT_SAGA_EXECUTION_TABLE_NAME == "saga_executions"
    assert DEFAULT_SAGA_LOG_TABLE_NAME == "saga_logs"
    assert {"saga_executions", "saga_logs"} <= set(Base.metadata.tables)
    engine = create_async_engine(
        "sqlite+aiosqlite:///:memory:",
        poolclass=StaticPool,
        connect_args={"check_same_thread": False},
    )
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        session_factory = async_sessionmaker(engine, expire_on_commit=False)
        storage = SqlAlchemySagaStorage(session_factory)
        assert storage.session_factory is session_factory
        assert storage.tables.executions is Base.metadata.tables["saga_executions"]
        assert storage.tables.logs is Base.metadata.tables["saga_logs"]

        saga_id = uuid.uuid4()
        await storage.create_saga(saga_id, "order", {"order_id": "o-1"})
        assert await storage.acquire_lease(saga_id, "runner", LEASE)
        await storage.checkpoint(
            saga_id,
            owner="runner",
            status=SagaStatus.RUNNING,
            log=LogWrite("Reserve", "act", SagaStepStatus.COMPLETED, result={"r": 1}),
        )
        await storage.log_step(saga_id, "Charge", "act", SagaStepStatus.STARTED)

        assert await storage.load_saga_state(saga_id) == (
            SagaStatus.RUNNING,
            {"order_id": "o-1"},
            3,
        )
        assert [(e.step_name, e.result) for e in await storage.get_step_history(saga_id)] == [
            ("Reserve", {"r": 1}),
            ("Charge", None),
        ]
        async with engine.connect() as connection:
            stored = (
                await connection.execute(sa.text("SELECT status, lease_owner FROM saga_executions"))
            ).one()
        assert tuple(stored) == ("running", "runner")  # the status value, a plain string
    finally:
        await engine.dispose()


async def test_deleting_a_saga_deletes_its_log(locking_store: Store) -> None:
    store = locking_store
    assert store.sessions is not None
    assert store.tables is not None
    saga_id = await store.new()
    kept = await store.new()
    await store.storage.log_step(saga_id, "Reserve", "act", SagaStepStatus.STARTED)
    await store.storage.log_step(kept, "Reserve", "act", SagaStepStatus.STARTED)

    executions = store.tables.executions
    async with store.sessions() as session, session.begin():
        await session.execute(sa.delete(executions).where(executions.c.id == saga_id))

    assert await store.storage.get_step_history(saga_id) == []
    assert len(await store.storage.get_step_history(kept)) == 1


async def test_a_claim_skips_rows_another_transaction_locked(locking_store: Store) -> None:
    store = locking_store
    assert store.sessions is not None
    assert store.tables is not None
    executions = store.tables.executions
    sagas = [await store.new(SagaStatus.RUNNING) for _ in range(10)]
    locked = sagas[:4]

    async with store.sessions() as session, session.begin():
        for saga_id in locked:  # one by one: a scan would lock more rows on MariaDB
            await session.execute(
                sa.select(executions.c.id).where(executions.c.id == saga_id).with_for_update()
            )
        claimed = await asyncio.wait_for(
            store.storage.claim_for_recovery("w", limit=100, lease_seconds=LEASE), 5
        )
        assert claimed == sagas[4:]
        failed = await asyncio.wait_for(store.storage.fail_exhausted(0, limit=100), 5)
        assert failed == []  # the others are leased now; these are locked

    assert await store.storage.claim_for_recovery("w", limit=100, lease_seconds=LEASE) == locked


async def test_a_checkpoint_waits_for_a_concurrent_claim_and_then_fails(
    locking_store: Store,
) -> None:
    store = locking_store
    assert store.sessions is not None
    assert store.tables is not None
    executions = store.tables.executions
    saga_id = await store.new(SagaStatus.RUNNING)
    assert await store.storage.acquire_lease(saga_id, "runner", LEASE)

    async with store.sessions() as session, session.begin():
        # a worker taking the saga over (as a claim does), not yet committed
        await session.execute(
            sa.update(executions)
            .where(executions.c.id == saga_id)
            .values(lease_owner="worker", version=executions.c.version + 1)
        )
        checkpoint = asyncio.create_task(
            store.storage.checkpoint(saga_id, owner="runner", status=SagaStatus.COMPLETED)
        )
        await asyncio.sleep(0.3)
        assert not checkpoint.done()  # it waits for the row

    with pytest.raises(SagaConcurrencyError, match="held by 'worker', not 'runner'"):
        await asyncio.wait_for(checkpoint, 10)
    state = await store.state(saga_id)
    assert (state.status, state.lease_owner) == (SagaStatus.RUNNING, "worker")


async def test_concurrent_claimers_claim_every_saga_once(locking_store: Store) -> None:
    store = locking_store
    storage = store.storage
    total, rounds, workers = 60, 3, ("w1", "w2", "w3")
    sagas: set[uuid.UUID] = set()
    for n in range(total):
        sagas.add(await store.new(SagaStatus.RUNNING if n % 2 else SagaStatus.COMPENSATING))

    for round_number in range(1, rounds + 1):
        claims: dict[str, list[uuid.UUID]] = {worker: [] for worker in workers}

        async def claimer(worker: str, claims: dict[str, list[uuid.UUID]] = claims) -> None:
            while sum(len(got) for got in claims.values()) < total:
                batch = await storage.claim_for_recovery(worker, limit=4, lease_seconds=LEASE)
                claims[worker].extend(batch)
                await asyncio.sleep(0 if batch else 0.01)

        await asyncio.wait_for(asyncio.gather(*(claimer(worker) for worker in workers)), 60)

        everything = [saga_id for got in claims.values() for saga_id in got]
        assert len(everything) == total, f"round {round_number}: duplicates"
        assert set(everything) == sagas
        for worker, got in claims.items():
            for saga_id in got:
                state = await store.state(saga_id)
                assert (state.lease_owner, state.recovery_attempts) == (worker, round_number)
            # the worker stops without finishing them: interrupted again
            await asyncio.gather(*(storage.release_lease(saga_id, worker) for saga_id in got))


async def _real_deadlock(store: Store) -> DBAPIError:
    """Two transactions that each lock a row the other then wants: the database kills one."""
    assert store.sessions is not None
    assert store.tables is not None
    table = store.tables.executions
    first, second = await store.new(), await store.new()

    def touch(saga_id: uuid.UUID) -> sa.Update:
        return sa.update(table).where(table.c.id == saga_id).values(version=table.c.version + 1)

    async with store.sessions() as one, store.sessions() as other:
        await one.execute(touch(first))
        await other.execute(touch(second))
        outcomes = await asyncio.wait_for(
            asyncio.gather(
                one.execute(touch(second)), other.execute(touch(first)), return_exceptions=True
            ),
            30,
        )
        await one.rollback()
        await other.rollback()
    errors = [outcome for outcome in outcomes if isinstance(outcome, DBAPIError)]
    assert len(errors) == 1, outcomes
    return errors[0]


async def test_a_deadlock_victim_is_recognised_and_other_errors_are_not(
    locking_store: Store,
) -> None:
    assert _is_deadlock(await _real_deadlock(locking_store))
    assert locking_store.sessions is not None
    assert locking_store.tables is not None
    table = locking_store.tables.executions
    with pytest.raises(DBAPIError) as wrong:
        async with locking_store.sessions() as session:
            await session.execute(sa.update(table).values(version="not a number"))
    assert not _is_deadlock(wrong.value)


async def test_a_claim_chosen_as_deadlock_victim_runs_again(
    locking_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = locking_store.storage
    assert isinstance(storage, SqlAlchemySagaStorage)
    deadlock = await _real_deadlock(locking_store)
    interrupted = await locking_store.new(SagaStatus.RUNNING)
    real_take = storage._take_once
    calls = 0

    async def loses_twice(*args: Any) -> list[uuid.UUID]:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise deadlock
        return await real_take(*args)

    monkeypatch.setattr(storage, "_take_once", loses_twice)
    claimed = await storage.claim_for_recovery("w", limit=10, lease_seconds=LEASE)
    assert calls == 3
    assert interrupted in claimed
    assert len(claimed) == 3  # with the deadlock's two PENDING sagas, claimed once each
    for saga_id in claimed:
        state = await locking_store.state(saga_id)
        assert (state.lease_owner, state.recovery_attempts) == ("w", 1)


async def test_a_claim_gives_up_after_repeated_deadlocks_and_at_once_on_other_errors(
    locking_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = locking_store.storage
    assert isinstance(storage, SqlAlchemySagaStorage)
    deadlock = await _real_deadlock(locking_store)
    failures: list[DBAPIError] = [deadlock]
    calls = 0

    async def fails(*args: Any) -> list[uuid.UUID]:
        nonlocal calls
        calls += 1
        raise failures[0]

    monkeypatch.setattr(storage, "_take_once", fails)
    with pytest.raises(DBAPIError) as raised:
        await storage.claim_for_recovery("w", limit=10, lease_seconds=LEASE)
    assert (raised.value, calls) == (deadlock, 5)

    failures[0] = DBAPIError("SELECT 1", None, ValueError("not a deadlock"))
    calls = 0
    with pytest.raises(DBAPIError):
        await storage.fail_exhausted(3, limit=10)
    assert calls == 1
