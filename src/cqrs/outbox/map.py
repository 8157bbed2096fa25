"""`OutboxedEventMap`: the notification event classes an outbox stores, keyed by class."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeGuard, TypeVar, cast, overload

import pydantic
import pydantic_core

from cqrs.events import INotificationEvent
from cqrs.exceptions import CQRSError, InvalidConfigurationError, MessageDecodeError

__all__ = ("OutboxedEventMap", "UnregisteredEventError")

_EventType = type[INotificationEvent[Any]]
_E = TypeVar("_E", bound=INotificationEvent[Any])


class UnregisteredEventError(CQRSError, TypeError):
    """An event whose class is not registered in the `OutboxedEventMap` was added."""


def _is_event_class(candidate: object) -> TypeGuard[_EventType]:
    return isinstance(candidate, type) and issubclass(candidate, INotificationEvent)


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class OutboxedEventMap:
    """The notification event classes an outbox stores, each under a name.

    The name goes to the row's `event_name` column and picks the class a row is decoded
    into. `register(UserJoined)` uses the class name (what the wire's
    `cqrs-message-name` header carries); python-cqrs's `register("user_joined",
    UserJoined)` names it explicitly (python-cqrs used the event's `event_name`).

    `partition_key=` gives the key a class's events are stored under when `add` is not
    given one (the mediator's `outbox=` path never gives one): the relay publishes the
    events of one key in the order they were added. The function receives the event,
    typed as its class.

    Example:
        >>> import cqrs
        >>> class Joined(cqrs.NotificationEvent[dict[str, str]], frozen=True):
        ...     pass
        >>> events = OutboxedEventMap()
        >>> events.register(Joined)
        >>> events.get("Joined") is Joined, events.name_of(Joined)
        (True, 'Joined')
        >>> name, payload = events.encode(Joined(event_name="joined", payload={"u": "1"}))
        >>> events.decode(name, payload).payload
        {'u': '1'}
    """

    __slots__ = ("_by_name", "_keys", "_names")

    def __init__(self, *event_types: _EventType) -> None:
        self._names: dict[_EventType, str] = {}
        self._by_name: dict[str, _EventType] = {}
        self._keys: dict[_EventType, Callable[[Any], str | None]] = {}
        for event_type in event_types:
            self.register(event_type)

    @overload
    def register(
        self,
        event_type: type[_E],
        /,
        *,
        partition_key: Callable[[_E], str | None] | None = None,
    ) -> None: ...
    @overload
    def register(
        self,
        event_name: str,
        event_type: type[_E],
        /,
        *,
        partition_key: Callable[[_E], str | None] | None = None,
    ) -> None: ...
    def register(
        self,
        first: _EventType | str,
        second: _EventType | None = None,
        /,
        *,
        partition_key: Callable[[Any], str | None] | None = None,
    ) -> None:
        """Register a notification event class, under its class name or a given name.

        Args:
            partition_key: the ordering key of each event of the class (see above;
                None from it: unordered).

        Raises:
            TypeError: the class is not a notification event class.
            InvalidConfigurationError: the name is taken by another class, or the class
                is registered under another name.
        """
        # Untyped callers pass anything: check it as an object.
        candidate = cast("object", second if isinstance(first, str) else first)
        if not _is_event_class(candidate):
            msg = (
                "OutboxedEventMap.register() takes a notification event class "
                f"(cqrs.NotificationEvent[...] or cqrs.DCNotificationEvent[...]), got {candidate!r}"
            )
            raise TypeError(msg)
        event_type = candidate
        name = first if isinstance(first, str) else event_type.__name__
        taken = self._by_name.get(name)
        if taken is not None and taken is not event_type:
            msg = (
                f"cannot register {_qualname(event_type)} as {name!r}: "
                f"{_qualname(taken)} is registered under that name"
            )
            raise InvalidConfigurationError(msg)
        known = self._names.get(event_type)
        if known is not None and known != name:
            msg = f"{_qualname(event_type)} is already registered as {known!r}, not {name!r}"
            raise InvalidConfigurationError(msg)
        self._names[event_type] = name
        self._by_name[name] = event_type
        if partition_key is not None:
            self._keys[event_type] = partition_key

    def partition_key_of(self, event: INotificationEvent[Any], /) -> str | None:
        """The key `register(..., partition_key=...)` gives `event` (None: no function)."""
        key_of = self._keys.get(type(event))
        return None if key_of is None else key_of(event)

    def get(self, event_name: str) -> _EventType | None:
        """The class registered under `event_name`, or None."""
        return self._by_name.get(event_name)

    def name_of(self, event_type: _EventType, /) -> str:
        """The name `event_type` is registered under.

        Raises:
            UnregisteredEventError: it is not registered (the message says how to).
        """
        name = self._names.get(event_type)
        if name is None:
            msg = (
                f"{_qualname(event_type)} is not registered in the outbox's OutboxedEventMap: "
                f"call event_map.register({event_type.__name__}) (or, the python-cqrs form, "
                f'event_map.register("<name>", {event_type.__name__})) before adding it; '
                f"{self._known()}"
            )
            raise UnregisteredEventError(msg)
        return name

    def encode(self, event: INotificationEvent[Any], /) -> tuple[str, dict[str, Any]]:
        """The registered name of `event`'s class and its JSON-ready `to_dict()`."""
        name = self.name_of(type(event))
        body = pydantic_core.to_jsonable_python(event.to_dict())
        return name, cast("dict[str, Any]", body)  # to_dict() is a dict, so is its JSON form

    def decode(self, event_name: str, payload: Mapping[str, Any], /) -> INotificationEvent[Any]:
        """Rebuild an event from its registered name and `to_dict()` payload.

        Raises:
            MessageDecodeError: the name is not registered or the payload does not
                validate as its class (the message names both).
        """
        event_type = self._by_name.get(event_name)
        if event_type is None:
            msg = f"no notification event class is registered as {event_name!r}; {self._known()}"
            raise MessageDecodeError(msg)
        try:
            return event_type.from_dict(**payload)
        except (pydantic.ValidationError, TypeError, ValueError) as error:
            msg = f"the stored event does not validate as {_qualname(event_type)}: {error}"
            raise MessageDecodeError(msg) from None

    def __contains__(self, event_type: object) -> bool:
        return any(event_type is known for known in self._names)

    def __iter__(self) -> Iterator[_EventType]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"OutboxedEventMap({', '.join(sorted(self._by_name))})"

    def _known(self) -> str:
        return f"registered: {', '.join(sorted(self._by_name)) or 'none'}"
