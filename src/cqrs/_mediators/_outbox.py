"""The mediators' transactional outbox: a handler's notification events stored with its writes.

With an outbox type configured, the mediator builds the handler and the outbox in one
container scope (so both get the same request-scoped session), and once the handler has
returned (or yielded an item) it stages the notification events in the outbox and
commits, before the scope closes. Domain events are processed in-process as usual.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, Final

from typing_extensions import TypeIs

from cqrs._errors import InvalidConfigurationError
from cqrs._interfaces.container import Release, Resolver, ScopedResolver
from cqrs._interfaces.outbox import OutboxWriter
from cqrs._introspect import type_name
from cqrs._messages.events import IEvent, INotificationEvent

__all__ = ("HandlerWithOutbox", "TransactionalOutbox", "refuse_composite")


class HandlerWithOutbox:
    """A handler and an outbox, built together so that they share their scope."""

    __slots__ = ("handler", "outbox")

    handler: Any
    outbox: OutboxWriter


class TransactionalOutbox:
    """Builds handlers with their outbox, and stores their notification events in it."""

    __slots__ = ("_outbox_type", "_pairs")

    def __init__(self, outbox_type: type[OutboxWriter]) -> None:
        given: Any = outbox_type  # checked for code that is not type-checked
        if not inspect.isclass(given):
            msg = (
                f"outbox= takes the class the container builds for each request "
                f"(e.g. SqlAlchemyOutboxedEventRepository), not {outbox_type!r}"
            )
            raise InvalidConfigurationError(msg)
        self._outbox_type: Final = outbox_type
        self._pairs: dict[type[Any], type[HandlerWithOutbox]] = {}

    @property
    def outbox_type(self) -> type[OutboxWriter]:
        return self._outbox_type

    def pair_type(self, handler_type: type[Any]) -> type[HandlerWithOutbox]:
        """A class whose constructor takes the handler and the outbox (what a container reads)."""
        pair = self._pairs.get(handler_type)
        if pair is None:
            pair = self._pairs[handler_type] = _pair_type(handler_type, self._outbox_type)
        return pair

    async def open(
        self, container: Resolver, handler_type: type[Any]
    ) -> tuple[HandlerWithOutbox, Release | None]:
        pair_type = self.pair_type(handler_type)
        if isinstance(container, ScopedResolver):
            return await container.resolve_scoped(pair_type)
        return await container.resolve(pair_type), None

    async def store(self, outbox: OutboxWriter, events: Sequence[IEvent]) -> list[IEvent]:
        """Stage the notification events among `events`, commit; return the other events."""
        rest: list[IEvent] = []
        for event in events:
            if _is_notification(event):
                outbox.add(event)
            else:
                rest.append(event)
        # Committed even without events: the handler's writes are in this transaction.
        await outbox.commit()
        return rest


def _is_notification(event: IEvent) -> TypeIs[INotificationEvent[Any]]:
    return isinstance(event, INotificationEvent)


def refuse_composite(binding: object, request: object) -> InvalidConfigurationError:
    msg = (
        f"{type_name(type(request))} is bound to {type_name(binding)} (a fallback or a "
        "chain), and the mediator's outbox= writes through one handler's session; add "
        "the events to an outbox inside the handlers instead"
    )
    return InvalidConfigurationError(msg)


def _pair_type(handler_type: type[Any], outbox_type: type[OutboxWriter]) -> type[HandlerWithOutbox]:
    def __init__(self: HandlerWithOutbox, handler: object, outbox: OutboxWriter) -> None:  # noqa: N807 - a constructor
        self.handler = handler
        self.outbox = outbox

    # Containers read the constructor's annotations to know what to build.
    __init__.__annotations__ = {"handler": handler_type, "outbox": outbox_type, "return": None}
    name = f"{handler_type.__name__}WithOutbox"
    namespace = {"__init__": __init__, "__slots__": (), "__module__": __name__}
    return type(name, (HandlerWithOutbox,), namespace)
