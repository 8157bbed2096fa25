"""`DevnullMessageBroker`: drops every message (development and tests)."""

from __future__ import annotations

import logging

from cqrs._interfaces.broker import Message

__all__ = ("DevnullMessageBroker",)

logger = logging.getLogger("cqrs")


class DevnullMessageBroker:
    """A broker that publishes nothing; each dropped message is logged at DEBUG."""

    __slots__ = ()

    async def send_message(self, message: Message, /) -> None:
        """Drop `message`."""
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "DevnullMessageBroker dropped %s %s for topic %s",
                message.message_name,
                message.message_id,
                message.topic,
            )
