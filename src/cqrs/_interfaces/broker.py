"""The message broker protocol and the message that notification events become."""

import uuid
from typing import Any, Protocol

import pydantic

__all__ = ("Message", "MessageBroker")


class Message(pydantic.BaseModel, frozen=True):
    """What a broker receives for one notification event."""

    message_name: str
    message_id: uuid.UUID = pydantic.Field(default_factory=uuid.uuid4)
    topic: str
    payload: dict[str, Any]


class MessageBroker(Protocol):
    """Publishes messages; implement `send_message` to plug in a broker."""

    async def send_message(self, message: Message, /) -> None:
        """Publish one message."""
        ...
