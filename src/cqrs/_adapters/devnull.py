"""`DevnullMessageBroker`: drops every message (development and tests)."""

from __future__ import annotations

import logging
from typing import Final

from cqrs._interfaces.broker import Message

__all__ = ("MESSAGE_BUS", "MESSAGE_BUS_LIMIT", "DevnullMessageBroker")

logger = logging.getLogger("cqrs")

MESSAGE_BUS: Final[list[Message]] = []
"""The messages `DevnullMessageBroker`s dropped, oldest first (python-cqrs tests read it).

Shared by all instances. Bounded, because bootstrap uses the devnull broker when no
broker is given: once it holds `2 * MESSAGE_BUS_LIMIT` messages, the oldest are cut so
that the newest `MESSAGE_BUS_LIMIT` stay. Clear it (`MESSAGE_BUS.clear()`) between tests.
"""

MESSAGE_BUS_LIMIT: Final = 10_000
"""How many of the newest messages `MESSAGE_BUS` keeps at least once it is trimmed."""


class DevnullMessageBroker:
    """A broker that publishes nothing.

    Each dropped message is logged at DEBUG and appended to `MESSAGE_BUS` (bounded).
    """

    __slots__ = ()

    async def send_message(self, message: Message, /) -> None:
        """Drop `message`: append it to `MESSAGE_BUS` and log it at DEBUG."""
        MESSAGE_BUS.append(message)
        if len(MESSAGE_BUS) >= 2 * MESSAGE_BUS_LIMIT:  # trimmed in bulk: O(1) per message
            del MESSAGE_BUS[:-MESSAGE_BUS_LIMIT]
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "DevnullMessageBroker dropped %s %s for topic %s",
                message.message_name,
                message.message_id,
                message.topic,
            )
