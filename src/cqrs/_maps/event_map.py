"""`EventMap`: any number of handlers per event type, called in bind order."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from typing_extensions import TypeIs, TypeVar

from cqrs._errors import HandlerAlreadyBoundError, HandlerBindingTypeError
from cqrs._interfaces.handlers import EventHandler
from cqrs._maps._introspect import type_arguments, type_name
from cqrs._messages.events import IEvent

__all__ = ("EventMap",)

_EventT = TypeVar("_EventT", bound=IEvent)


class EventMap(Mapping[type[IEvent], Sequence[type[EventHandler[Any]]]]):
    """Maps each event type to its handler classes, in the order they were bound.

    Lookups are by the event's exact class. An event type with no handler maps to
    nothing (`event_map.get(E, ())`).
    """

    __slots__ = ("_registry",)

    def __init__(self) -> None:
        self._registry: dict[type[IEvent], tuple[type[EventHandler[Any]], ...]] = {}

    def bind(self, event_type: type[_EventT], handler_type: type[EventHandler[_EventT]], /) -> None:
        """Add `handler_type` to the handlers of `event_type`.

        Raises:
            HandlerBindingTypeError: (a `TypeError`) not an event handler, or one that
                handles another event type.
            HandlerAlreadyBoundError: (a `KeyError`) this handler is already bound to
                this event type.
        """
        event_cls = _check_event_type(event_type)
        handler_cls = _check_event_handler(event_cls, handler_type)
        bound = self._registry.get(event_cls, ())
        if handler_cls in bound:
            msg = f"{type_name(handler_cls)} is already bound to {type_name(event_cls)}"
            raise HandlerAlreadyBoundError(msg)
        self._registry[event_cls] = (*bound, handler_cls)

    def __getitem__(self, event_type: type[IEvent], /) -> Sequence[type[EventHandler[Any]]]:
        return self._registry[event_type]

    def __iter__(self) -> Iterator[type[IEvent]]:
        return iter(self._registry)

    def __len__(self) -> int:
        return len(self._registry)

    def __repr__(self) -> str:
        pairs = ", ".join(
            f"{type_name(k)}: [{', '.join(type_name(h) for h in v)}]"
            for k, v in self._registry.items()
        )
        return f"EventMap({{{pairs}}})"


def _is_event_handler_class(obj: object) -> TypeIs[type[EventHandler[Any]]]:
    return isinstance(obj, type) and issubclass(obj, EventHandler)


def _check_event_type(event_type: object) -> type[IEvent]:
    if isinstance(event_type, type) and issubclass(event_type, IEvent):
        return event_type
    msg = (
        "EventMap.bind() expects an event class (a subclass of cqrs.DomainEvent, "
        f"cqrs.Event or cqrs.IEvent) first, got {event_type!r}"
    )
    raise HandlerBindingTypeError(msg)


def _check_event_handler(event_type: type[IEvent], handler_type: object) -> type[EventHandler[Any]]:
    event = type_name(event_type)
    if not _is_event_handler_class(handler_type):
        msg = (
            f"cannot bind {handler_type!r} to {event}: it is not an event handler; "
            f"bind a subclass of cqrs.EventHandler[{event}]"
        )
        raise HandlerBindingTypeError(msg)
    handler = type_name(handler_type)
    if inspect.isabstract(handler_type):
        missing = ", ".join(sorted(getattr(handler_type, "__abstractmethods__", ())))
        msg = f"cannot bind {handler} to {event}: {handler} is abstract (missing: {missing})"
        raise HandlerBindingTypeError(msg)
    (handled,) = type_arguments(handler_type, EventHandler) or (None,)
    if isinstance(handled, type) and not issubclass(event_type, handled):
        msg = (
            f"cannot bind {handler} to {event}: {handler} handles {type_name(handled)}, "
            f"and {event} is not a {type_name(handled)}"
        )
        raise HandlerBindingTypeError(msg)
    if not inspect.iscoroutinefunction(inspect.getattr_static(handler_type, "handle", None)):
        msg = f"{handler}.handle must be a coroutine function (async def)"
        raise HandlerBindingTypeError(msg)
    return handler_type
