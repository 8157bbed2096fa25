"""`EventMap`: any number of handlers per event type, called in bind order."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeAlias, overload

from typing_extensions import TypeVar

from cqrs._composites.base import EventComposite
from cqrs._composites.checks import check_event_handler
from cqrs._composites.fallback import EventHandlerFallback
from cqrs._errors import HandlerAlreadyBoundError, HandlerBindingTypeError
from cqrs._interfaces.handlers import EventHandler
from cqrs._introspect import is_class, type_name
from cqrs._messages.events import IEvent

__all__ = ("EventBinding", "EventMap")

_EventT = TypeVar("_EventT", bound=IEvent)

EventBinding: TypeAlias = "type[EventHandler[Any]] | EventComposite"
"""One entry of an event type's handlers: a handler class or an `EventHandlerFallback`."""


class EventMap(Mapping[type[IEvent], Sequence[EventBinding]]):
    """Maps each event type to its handler classes, in the order they were bound.

    An entry can also be an `EventHandlerFallback` (a primary handler and its fallback).

    Lookups are by the event's exact class. An event type with no handler maps to
    nothing (`event_map.get(E, ())`).
    """

    __slots__ = ("_registry",)

    def __init__(self) -> None:
        self._registry: dict[type[IEvent], tuple[EventBinding, ...]] = {}

    @overload
    def bind(
        self, event_type: type[_EventT], handler_type: EventHandlerFallback[_EventT]
    ) -> None: ...

    @overload
    def bind(
        self, event_type: type[_EventT], handler_type: type[EventHandler[_EventT]]
    ) -> None: ...

    def bind(self, event_type: object, handler_type: object) -> None:
        """Add `handler_type` (a handler class or an `EventHandlerFallback`) to the
        handlers of `event_type`.

        Raises:
            HandlerBindingTypeError: (a `TypeError`) not an event handler, or one that
                handles another event type.
            HandlerAlreadyBoundError: (a `KeyError`) this handler is already bound to
                this event type.
        """
        event_cls = _check_event_type(event_type)
        handler_cls: EventBinding
        if isinstance(handler_type, EventComposite):
            handler_type.check_event(event_cls)
            handler_cls = handler_type
        else:
            handler_cls = check_event_handler(event_cls, handler_type)
        bound = self._registry.get(event_cls, ())
        # A class that always runs (bound alone, or as a primary) must not run twice
        # per event; a class may be the fallback of several primaries, though.
        first = _first_runner(handler_cls)
        if first in {_first_runner(binding) for binding in bound}:
            msg = f"{type_name(first)} is already bound to {type_name(event_cls)}"
            raise HandlerAlreadyBoundError(msg)
        self._registry[event_cls] = (*bound, handler_cls)

    def __getitem__(self, event_type: type[IEvent], /) -> Sequence[EventBinding]:
        return self._registry[event_type]

    @property
    def bindings(self) -> Mapping[type[IEvent], Sequence[EventBinding]]:
        """The map's own dict (live: later binds show), for lookups on every event."""
        return self._registry

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


def _check_event_type(event_type: object) -> type[IEvent]:
    if is_class(event_type) and issubclass(event_type, IEvent):
        return event_type
    msg = (
        "EventMap.bind() expects an event class (a subclass of cqrs.DomainEvent, "
        f"cqrs.Event or cqrs.IEvent) first, got {event_type!r}"
    )
    raise HandlerBindingTypeError(msg)


def _first_runner(binding: EventBinding) -> type[Any]:
    return binding.members[0] if isinstance(binding, EventComposite) else binding
