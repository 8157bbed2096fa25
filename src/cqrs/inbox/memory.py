"""An in-memory inbox, for tests and single-process tools."""

from __future__ import annotations

from cqrs.inbox.repository import check_key

__all__ = ("MemoryInbox", "MemoryInboxRepository")


class MemoryInbox:
    """The committed records, shared by the repositories (the "database")."""

    __slots__ = ("_records",)

    def __init__(self) -> None:
        self._records: set[tuple[str, str]] = set()

    def __contains__(self, key: object) -> bool:
        return key in self._records

    def __len__(self) -> int:
        return len(self._records)

    def store(self, records: set[tuple[str, str]]) -> None:
        self._records |= records


class MemoryInboxRepository:
    """`InboxRepository` over a `MemoryInbox`: records are staged until `commit`.

    Example:
        >>> import asyncio
        >>> inbox = MemoryInbox()
        >>> async def deliver() -> bool:
        ...     repository = MemoryInboxRepository(inbox)
        ...     first = await repository.record("m-1", "Handler")
        ...     await repository.commit()
        ...     return first
        >>> asyncio.run(deliver()), asyncio.run(deliver())
        (True, False)
    """

    __slots__ = ("_inbox", "_staged")

    def __init__(self, inbox: MemoryInbox | None = None) -> None:
        self._inbox = inbox if inbox is not None else MemoryInbox()
        self._staged: set[tuple[str, str]] = set()

    @property
    def inbox(self) -> MemoryInbox:
        return self._inbox

    async def record(self, message_id: str, consumer: str) -> bool:
        """Stage the record; False if it is committed (or staged) already."""
        check_key(message_id, consumer)
        key = (consumer, message_id)
        if key in self._inbox or key in self._staged:
            return False
        self._staged.add(key)
        return True

    async def commit(self) -> None:
        self._inbox.store(self._staged)
        self._staged = set()

    async def rollback(self) -> None:
        self._staged = set()
