"""The concrete event bases, frozen pydantic models and dataclasses (loaded on first use).

`cqrs._messages.events` (and `cqrs` itself) load this module when one of its names is
first asked for.
"""

import dataclasses
import datetime
import os
import uuid
from typing import TYPE_CHECKING, Any, Generic

import pydantic
from typing_extensions import Self, TypeVar, dataclass_transform

from cqrs._messages import _serialization
from cqrs._messages.events import IDomainEvent, IEvent, INotificationEvent
from cqrs._public import claim

__all__ = (
    "DCDomainEvent",
    "DCEvent",
    "DCNotificationEvent",
    "DomainEvent",
    "Event",
    "NotificationEvent",
    "PydanticDomainEvent",
    "PydanticEvent",
    "PydanticNotificationEvent",
)

# The same type variable as `INotificationEvent`'s: `Any` by default.
_PayloadT = TypeVar("_PayloadT", default=Any)

_TOPIC_ENV = "DEFAULT_OUTPUT_TOPIC"
_TOPIC_FALLBACK = "output_topic"


def _default_topic() -> str:
    # Read when the event is built, so a test or a process can set the variable late.
    return os.environ.get(_TOPIC_ENV, _TOPIC_FALLBACK)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


if TYPE_CHECKING:
    from pydantic._internal._model_construction import ModelMetaclass

    # What the checkers see: pydantic's model transform, frozen by default. An event
    # subclass is then frozen whether it says `frozen=True` (the form this package's
    # docs use) or not (python-cqrs's), and assigning a field is an error in both.
    @dataclass_transform(
        kw_only_default=True,
        frozen_default=True,
        field_specifiers=(pydantic.fields.Field, pydantic.fields.PrivateAttr),
    )
    class _FrozenModelMetaclass(ModelMetaclass): ...

else:
    # At run time, pydantic's own metaclass: events are frozen by the `frozen=True` below.
    _FrozenModelMetaclass = type(pydantic.BaseModel)


class PydanticEvent(pydantic.BaseModel, IEvent, metaclass=_FrozenModelMetaclass, frozen=True):
    """An event that is a frozen pydantic model (`cqrs.Event`).

    Subclasses are frozen too, with or without `frozen=True` in their class line.
    """

    def to_dict(self) -> dict[str, Any]:
        return _serialization.model_to_dict(self)

    @classmethod
    def from_dict(cls, **kwargs: Any) -> Self:
        return _serialization.model_from_dict(cls, kwargs)


class PydanticDomainEvent(PydanticEvent, IDomainEvent, frozen=True):
    """A domain event that is a frozen pydantic model (`cqrs.DomainEvent`).

    Example:
        >>> import cqrs
        >>> class UserJoined(cqrs.DomainEvent, frozen=True):
        ...     user_id: str
        >>> UserJoined.from_dict(**UserJoined(user_id="u1").to_dict())
        UserJoined(user_id='u1')
    """


class PydanticNotificationEvent(
    PydanticEvent,
    INotificationEvent[_PayloadT],
    Generic[_PayloadT],
    frozen=True,
):
    """A notification event that is a frozen pydantic model (`cqrs.NotificationEvent`).

    Example:
        >>> import cqrs
        >>> class Joined(cqrs.Response):
        ...     user_id: str
        >>> event = cqrs.NotificationEvent[Joined](
        ...     event_name="joined", payload=Joined(user_id="u1")
        ... )
        >>> event.topic
        'output_topic'
    """

    event_id: uuid.UUID = pydantic.Field(default_factory=uuid.uuid4)
    event_timestamp: datetime.datetime = pydantic.Field(default_factory=_now)
    event_name: str
    topic: str = pydantic.Field(default_factory=_default_topic)
    payload: _PayloadT

    def __hash__(self) -> int:
        return hash(self.event_id)


@dataclasses.dataclass(frozen=True)
class DCEvent(IEvent):
    """An event that is a frozen dataclass.

    Decorate subclasses with `@dataclasses.dataclass(frozen=True)`.
    """

    def to_dict(self) -> dict[str, Any]:
        return _serialization.dataclass_to_dict(self)

    @classmethod
    def from_dict(cls, **kwargs: Any) -> Self:
        return _serialization.dataclass_from_dict(cls, kwargs)


@dataclasses.dataclass(frozen=True)
class DCDomainEvent(DCEvent, IDomainEvent):
    """A domain event that is a frozen dataclass."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class DCNotificationEvent(DCEvent, INotificationEvent[_PayloadT], Generic[_PayloadT]):
    """A notification event that is a frozen dataclass (keyword-only fields)."""

    event_name: str
    payload: _PayloadT
    event_id: uuid.UUID = dataclasses.field(default_factory=uuid.uuid4)
    event_timestamp: datetime.datetime = dataclasses.field(default_factory=_now)
    topic: str = dataclasses.field(default_factory=_default_topic)

    def __hash__(self) -> int:
        return hash(self.event_id)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # `@dataclass(frozen=True)` on a subclass would replace the hash with one over
        # every field (failing on dict payloads); one defined in the class body is kept.
        if "__hash__" not in cls.__dict__:
            type.__setattr__(cls, "__hash__", DCNotificationEvent.__hash__)


# The python-cqrs names: the pydantic variants are the defaults.
Event = PydanticEvent
DomainEvent = PydanticDomainEvent
NotificationEvent = PydanticNotificationEvent

# Top-level names of `cqrs`: they report it whichever module loads them first.
claim("cqrs", globals(), __all__)
