"""Events: domain events (handled in-process) and notification events (sent to a broker).

The interfaces (`IEvent`, `IDomainEvent`, `INotificationEvent`) are what the mediator
works with. The concrete bases (`PydanticEvent`, `DCEvent`, their domain and notification
variants, and the python-cqrs names `Event`, `DomainEvent`, `NotificationEvent`) live in
`cqrs._messages.event_models`, loaded on first use (PEP 562), like the requests'.
"""

import abc
import datetime
import uuid
from typing import TYPE_CHECKING, Any, Generic

from typing_extensions import Self, TypeVar

from cqrs._messages import _lazy

__all__ = (
    "DCDomainEvent",
    "DCEvent",
    "DCNotificationEvent",
    "DomainEvent",
    "Event",
    "IDomainEvent",
    "IEvent",
    "INotificationEvent",
    "NotificationEvent",
    "PydanticDomainEvent",
    "PydanticEvent",
    "PydanticNotificationEvent",
)

_PayloadT = TypeVar("_PayloadT", default=Any)


class IEvent(abc.ABC):
    """Base of every event."""

    @abc.abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Return the event as a dictionary that `from_dict` accepts."""

    @classmethod
    @abc.abstractmethod
    def from_dict(cls, **kwargs: Any) -> Self:
        """Build the event from keyword arguments, validating them."""


class IDomainEvent(IEvent, abc.ABC):
    """An event handled in-process by the `EventHandler`s bound to its class."""


class INotificationEvent(IEvent, abc.ABC, Generic[_PayloadT]):
    """An event published to a message broker as a `Message`.

    Subclasses carry `event_id`, `event_timestamp`, `event_name`, `topic` and `payload`.
    """

    # Declared here so code typed against the interface can read them; the concrete
    # pydantic and dataclass bases define them as frozen fields.
    event_id: uuid.UUID
    event_timestamp: datetime.datetime
    event_name: str
    topic: str
    payload: _PayloadT

    def proto(self) -> object:
        """The event as its generated protobuf message, for the protobuf codecs.

        Event classes sent as protobuf override it (returning their message class);
        the default raises.
        """
        msg = (
            f"{type(self).__qualname__}.proto() is not implemented: override it to return "
            "the event as its generated protobuf message"
        )
        raise NotImplementedError(msg)

    @classmethod
    def from_proto(cls, proto: Any) -> Self:  # Any: overrides narrow it to their message class
        """Build the event from its generated protobuf message, for the protobuf codecs.

        Event classes read from protobuf override it; the default raises.
        """
        msg = (
            f"{cls.__qualname__}.from_proto() is not implemented: override it to build "
            "the event from its generated protobuf message"
        )
        raise NotImplementedError(msg)


if TYPE_CHECKING:
    from cqrs._messages.event_models import (
        DCDomainEvent,
        DCEvent,
        DCNotificationEvent,
        DomainEvent,
        Event,
        NotificationEvent,
        PydanticDomainEvent,
        PydanticEvent,
        PydanticNotificationEvent,
    )

_MODELS = frozenset(
    {
        "DCDomainEvent",
        "DCEvent",
        "DCNotificationEvent",
        "DomainEvent",
        "Event",
        "NotificationEvent",
        "PydanticDomainEvent",
        "PydanticEvent",
        "PydanticNotificationEvent",
    }
)


def __getattr__(name: str) -> object:
    return _lazy.load(globals(), "cqrs._messages.event_models", _MODELS, name)
