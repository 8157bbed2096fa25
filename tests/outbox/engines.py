"""The database engines the outbox tests run on, one per backend."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

BACKENDS = ("sqlite-memory", "sqlite-file", "postgresql", "mariadb")
LOCKING_BACKENDS = ("postgresql", "mariadb")


def engine_for(backend: str, request: pytest.FixtureRequest, tmp_path: Any) -> AsyncEngine:
    if backend == "sqlite-memory":
        return create_async_engine(
            "sqlite+aiosqlite:///:memory:",
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
        )
    if backend == "sqlite-file":
        return create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}")
    if backend == "postgresql":
        url = request.getfixturevalue("postgresql_url")
        return create_async_engine(
            url,
            pool_size=10,
            pool_pre_ping=True,
            connect_args={"timeout": 5, "server_settings": {"lock_timeout": "10s"}},
        )
    url = request.getfixturevalue("mariadb_url")
    # READ COMMITTED, as the README advises for claiming sessions on MariaDB: no gap
    # locks, so concurrent claims and status updates do not deadlock each other.
    return create_async_engine(
        url,
        isolation_level="READ COMMITTED",
        pool_size=10,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5, "init_command": "SET innodb_lock_wait_timeout=10"},
    )


@contextlib.asynccontextmanager
async def tables_on(
    engine: AsyncEngine, metadata: sa.MetaData
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Create `metadata`'s tables, yield a sessionmaker; drop them and dispose the engine after."""

    async def run(operation: Any) -> None:
        async with engine.begin() as connection:
            await connection.run_sync(operation)

    try:
        await asyncio.wait_for(run(metadata.create_all), 30)
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        try:
            await asyncio.wait_for(run(metadata.drop_all), 30)
        finally:
            await engine.dispose()
