"""python-cqrs's dispatchers, as thin shims over the mediators (internal API).

python-cqrs splits each mediator into a dispatcher (find the handler, run it, return
the response and the events it raised) and an event processor. Code that builds the
dispatchers itself finds them in `cqrs.dispatcher`; they run the mediators' own code
paths, with the events collected instead of processed.
"""

from __future__ import annotations

import contextvars
import dataclasses
from collections.abc import AsyncGenerator, Sequence
from typing import Generic

from typing_extensions import TypeVar

from cqrs._dispatch.emitter import EventEmitter
from cqrs._interfaces.container import Resolver
from cqrs._interfaces.middleware import MiddlewareChain
from cqrs._maps.event_map import EventMap
from cqrs._maps.request_map import RequestMap
from cqrs._mediators.event import EventMediator
from cqrs._mediators.request import RequestMediator
from cqrs._mediators.streaming import StreamingRequestMediator
from cqrs._messages.events import IEvent
from cqrs._messages.requests import IRequest

__all__ = (
    "EventDispatcher",
    "RequestDispatchResult",
    "RequestDispatcher",
    "StreamingRequestDispatcher",
)

_ResT = TypeVar("_ResT")
_ResT_co = TypeVar("_ResT_co", covariant=True)

# Where the events of the current dispatch go: set around each step of a dispatch.
_sink: contextvars.ContextVar[list[IEvent]] = contextvars.ContextVar("cqrs_dispatch_sink")


@dataclasses.dataclass(frozen=True)
class RequestDispatchResult(Generic[_ResT_co]):
    """A handler's response, and the events it raised (not processed yet)."""

    response: _ResT_co
    events: Sequence[IEvent] = dataclasses.field(default_factory=tuple[IEvent, ...])


class _Collector(EventEmitter):
    """An emitter that keeps each event for the running dispatch, and runs nothing."""

    async def emit(self, event: IEvent) -> Sequence[IEvent]:
        _sink.get().append(event)
        return ()


class RequestDispatcher:
    """Runs a request's handler; returns its response and its events, unprocessed.

    Internal API, kept for python-cqrs code that builds it: use `RequestMediator`.
    The handler is found, built and wrapped in the middlewares exactly as by
    `RequestMediator.send`.
    """

    __slots__ = ("_mediator",)

    def __init__(
        self,
        request_map: RequestMap,
        container: Resolver,
        middleware_chain: MiddlewareChain | None = None,
    ) -> None:
        self._mediator = RequestMediator(
            request_map,
            container,
            _Collector(EventMap(), container),
            middleware_chain,
            concurrent_event_handle_enable=False,
        )

    async def dispatch(self, request: IRequest[_ResT]) -> RequestDispatchResult[_ResT]:
        """Handle `request`; the events its handler raised come back in the result."""
        events: list[IEvent] = []
        token = _sink.set(events)
        try:
            response = await self._mediator.send(request)
        finally:
            _sink.reset(token)
        return RequestDispatchResult(response, events)


class StreamingRequestDispatcher:
    """Streams a request's results, each with the events raised before it.

    Internal API, kept for python-cqrs code that builds it: use
    `StreamingRequestMediator`. Events raised after the last item have no result to
    travel with and are dropped, as in python-cqrs.
    """

    __slots__ = ("_mediator",)

    def __init__(
        self,
        request_map: RequestMap,
        container: Resolver,
        middleware_chain: MiddlewareChain | None = None,
    ) -> None:
        self._mediator = StreamingRequestMediator(
            request_map,
            container,
            _Collector(EventMap(), container),
            middleware_chain,
            concurrent_event_handle_enable=False,
        )

    def dispatch(
        self, request: IRequest[_ResT]
    ) -> AsyncGenerator[RequestDispatchResult[_ResT], None]:
        """Stream the results of `request` (call without `await`, iterate with `async for`)."""
        return self._dispatch(request)

    async def _dispatch(
        self, request: IRequest[_ResT]
    ) -> AsyncGenerator[RequestDispatchResult[_ResT], None]:
        stream = self._mediator.stream(request)
        try:
            while True:
                events: list[IEvent] = []
                # Set and reset within one step: never across a `yield`.
                token = _sink.set(events)
                try:
                    item = await anext(stream)
                except StopAsyncIteration:
                    return
                finally:
                    _sink.reset(token)
                yield RequestDispatchResult(item, events)
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()


class EventDispatcher:
    """Runs every handler bound to an event, then the follow-ups.

    Internal API, kept for python-cqrs code that builds it: `dispatch` is
    `EventMediator.send` (every handler runs even if one fails, then the failures
    are raised; follow-ups run breadth-first).
    """

    __slots__ = ("_mediator",)

    def __init__(
        self,
        event_map: EventMap,
        container: Resolver,
        middleware_chain: MiddlewareChain | None = None,
    ) -> None:
        self._mediator = EventMediator(event_map, container, middleware_chain)

    async def dispatch(self, event: IEvent) -> None:
        """Handle `event` with its bound handlers, then the follow-ups."""
        await self._mediator.send(event)
