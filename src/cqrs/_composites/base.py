"""What a map holds when a request or event is bound to more than one handler class."""

from __future__ import annotations

import abc
from typing import Any

from cqrs._interfaces.container import Resolver
from cqrs._interfaces.handlers import EventHandler, RequestHandler, StreamingRequestHandler
from cqrs._messages.events import IEvent
from cqrs._messages.requests import IRequest

__all__ = ("EventComposite", "RequestComposite")


class RequestComposite(abc.ABC):
    """A request binding made of several handler classes (a fallback pair, a chain).

    The mediators call `open` once per request to get one handler instance that
    stands for the whole composite; it runs like any handler, middlewares included.
    """

    __slots__ = ()

    @property
    @abc.abstractmethod
    def streaming(self) -> bool:
        """Whether `open` returns a `StreamingRequestHandler`."""

    @property
    @abc.abstractmethod
    def members(self) -> tuple[type[Any], ...]:
        """The handler classes the composite builds through the container."""

    @abc.abstractmethod
    def check_request(self, request_type: type[IRequest[Any]], /) -> None:
        """Raise `HandlerBindingTypeError` unless every member can handle `request_type`."""

    @abc.abstractmethod
    async def open(
        self, container: Resolver, /
    ) -> RequestHandler[Any, Any] | StreamingRequestHandler[Any, Any]:
        """Build the handler that serves one request."""


class EventComposite(abc.ABC):
    """An event binding made of several handler classes (a fallback pair)."""

    __slots__ = ()

    @property
    @abc.abstractmethod
    def members(self) -> tuple[type[Any], ...]:
        """The handler classes the composite builds; the first one runs for every event."""

    @abc.abstractmethod
    def check_event(self, event_type: type[IEvent], /) -> None:
        """Raise `HandlerBindingTypeError` unless every member can handle `event_type`."""

    @abc.abstractmethod
    async def open(self, container: Resolver, /) -> EventHandler[Any]:
        """Build the handler that handles one event."""
