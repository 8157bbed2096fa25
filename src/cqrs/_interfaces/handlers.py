"""The handler ABCs: where the typed request/response contract lives."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal

from typing_extensions import TypeVar

from cqrs._interfaces._assignable import assignable_events
from cqrs._messages.events import IEvent
from cqrs._messages.requests import IRequest

__all__ = ("EventHandler", "RequestHandler", "StreamingRequestHandler")

_ReqT_contra = TypeVar("_ReqT_contra", bound=IRequest[Any], contravariant=True)
# Invariant on purpose: `RequestMap.bind` pins the handler's declared result to the
# request's declared response; a covariant parameter would let any pair unify.
_ResT = TypeVar("_ResT")
_EventT_contra = TypeVar("_EventT_contra", bound=IEvent, contravariant=True)

_NO_EVENTS: tuple[IEvent, ...] = ()


class RequestHandler(abc.ABC, Generic[_ReqT_contra, _ResT]):
    """Handles one request type and returns its response.

    Example:
        >>> import cqrs
        >>> class UserDTO(cqrs.Response):
        ...     name: str
        >>> class GetUser(cqrs.Request[UserDTO]):
        ...     user_id: int
        >>> class GetUserHandler(cqrs.RequestHandler[GetUser, UserDTO]):
        ...     async def handle(self, request: GetUser) -> UserDTO:
        ...         return UserDTO(name=f"user {request.user_id}")
    """

    @property
    def events(self) -> Sequence[IEvent]:
        """Events raised by the last `handle` call; read once it has returned."""
        return _NO_EVENTS

    if not TYPE_CHECKING:  # `self.events = [...]` in a subclass works too
        events = assignable_events(events)

    # Marks the plain handlers for `RequestMap.bind` (see `ConcreteRequestHandler`).
    _cqrs_plain_handler: ClassVar[Literal[True]] = True

    # Declared as returning an `Awaitable`, implemented with `async def` (a coroutine):
    # `bind` asks for a coroutine, so a subclass that does not implement `handle`
    # (an abstract class) is rejected by both type checkers.
    @abc.abstractmethod
    def handle(self, request: _ReqT_contra, /) -> Awaitable[_ResT]:
        """Handle the request and return the response (implement it with `async def`)."""


class StreamingRequestHandler(abc.ABC, Generic[_ReqT_contra, _ResT]):
    """Handles one request type and yields many results (an async generator).

    Implement `handle` with `async def` and `yield`. After each item is taken, the
    mediator reads `events`, calls `clear_events()` and processes those events.
    """

    @property
    def events(self) -> Sequence[IEvent]:
        """Events raised since the last `clear_events()` call."""
        return _NO_EVENTS

    if not TYPE_CHECKING:  # `self.events = [...]` in a subclass works too
        events = assignable_events(events)

    # Marks the streaming handlers for `RequestMap.bind`.
    _cqrs_streaming_handler: ClassVar[Literal[True]] = True

    # Declared as returning `object`, implemented as returning None: `bind` asks for
    # `-> None`, so a subclass that does not implement it (an abstract class) is
    # rejected by both type checkers.
    @abc.abstractmethod
    def clear_events(self) -> object:
        """Forget the events already handed to the mediator (implement it; return None)."""

    @abc.abstractmethod
    def handle(self, request: _ReqT_contra, /) -> AsyncIterator[_ResT]:
        """Yield the results for the request, one at a time."""


class EventHandler(abc.ABC, Generic[_EventT_contra]):
    """Handles one event type; may raise follow-up events through `events`.

    Example:
        >>> import cqrs
        >>> class UserJoined(cqrs.DomainEvent, frozen=True):
        ...     user_id: str
        >>> class UserJoinedHandler(cqrs.EventHandler[UserJoined]):
        ...     async def handle(self, event: UserJoined) -> None:
        ...         print(event.user_id)
    """

    @property
    def events(self) -> Sequence[IEvent]:
        """Follow-up events, processed in the same pipeline after `handle` returns."""
        return _NO_EVENTS

    if not TYPE_CHECKING:  # `self.events = [...]` in a subclass works too
        events = assignable_events(events)

    @abc.abstractmethod
    async def handle(self, event: _EventT_contra, /) -> None:
        """Handle the event."""
