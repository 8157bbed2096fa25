"""`RequestMediator`: sends a request to its one handler and returns the response."""

from __future__ import annotations

from typing import Any, cast

from typing_extensions import TypeVar

from cqrs._dispatch.emitter import EventEmitter
from cqrs._dispatch.processor import DEFAULT_MAX_FOLLOW_UP_DEPTH
from cqrs._interfaces.container import Release, Resolver, ScopedResolver
from cqrs._interfaces.handlers import RequestHandler
from cqrs._interfaces.middleware import MiddlewareChain
from cqrs._interfaces.outbox import OutboxWriter
from cqrs._maps.event_map import EventMap
from cqrs._maps.request_map import RequestMap
from cqrs._mediators._outbox import TransactionalOutbox, refuse_composite
from cqrs._mediators._shared import (
    PlainBinding,
    build_processor,
    open_plain,
    plain_binding,
    wrong_response,
)
from cqrs._messages.requests import IRequest, SendableRequest

__all__ = ("RequestMediator",)

_ResT = TypeVar("_ResT")


class RequestMediator:
    """Sends commands and queries to their handlers.

    Args:
        request_map: the handler of each request type.
        container: builds a fresh handler instance for every request.
        event_emitter: delivers the events handlers raise (default: one over
            `event_map`, without a broker).
        middleware_chain: wraps every handler call.
        event_map: the domain event handlers (default: the emitter's map).
        max_concurrent_event_handlers: at most this many event emits run at once.
        concurrent_event_handle_enable: process events in parallel (else one by one).
        propagate_event_errors: raise event handler failures instead of logging them.
        max_follow_up_depth: how deep follow-up events may nest under one event a
            handler raised (default 32); deeper ones are dropped with a
            `FollowUpDepthError` naming the chain (a cycle, usually).
        outbox: the class of a transactional outbox (for example
            `SqlAlchemyOutboxedEventRepository`) the container builds in each
            handler's scope, so it shares the handler's session. After the handler
            returns, its notification events are added to it and it is committed,
            before the scope closes; they are not published here (a relay publishes
            them). Its domain events are processed as usual.

    Raises:
        InvalidConfigurationError: `max_concurrent_event_handlers` is below 1.
    """

    __slots__ = (
        "_container",
        "_middleware_chain",
        "_outbox",
        "_plain",
        "_processor",
        "_request_map",
        "_scoped",
    )

    def __init__(
        self,
        request_map: RequestMap,
        container: Resolver,
        event_emitter: EventEmitter | None = None,
        middleware_chain: MiddlewareChain | None = None,
        event_map: EventMap | None = None,
        max_concurrent_event_handlers: int = 1,
        concurrent_event_handle_enable: bool = True,  # noqa: FBT001, FBT002 - python-cqrs signature
        propagate_event_errors: bool = False,  # noqa: FBT001, FBT002 - as above
        *,
        outbox: type[OutboxWriter] | None = None,
        max_follow_up_depth: int = DEFAULT_MAX_FOLLOW_UP_DEPTH,
    ) -> None:
        self._request_map = request_map
        # The map's own dict: requests bound later are found (and checked) too.
        self._plain = request_map.plain_handlers
        self._outbox = None if outbox is None else TransactionalOutbox(outbox)
        self._container = container
        self._scoped = container if isinstance(container, ScopedResolver) else None
        self._middleware_chain = middleware_chain or None
        self._processor = build_processor(
            container,
            event_emitter,
            event_map,
            max_concurrent_event_handlers,
            concurrent_event_handle_enable,
            propagate_event_errors,
            max_follow_up_depth,
        )

    @property
    def request_map(self) -> RequestMap:
        """The handler of each request type."""
        return self._request_map

    async def send(self, request: SendableRequest[_ResT]) -> _ResT:
        """Handle `request` and return its handler's response.

        The handler's events are processed before this returns. A handler exception
        propagates unchanged, and the events of a failed handler are not emitted.

        Raises:
            RequestHandlerDoesNotExist: no handler is bound to the request's class.
            RequestHandlerTypeError: the bound handler is a streaming handler.
            ResponseTypeError: the handler returned something that is not an
                instance of the response class the request declares (checked when
                that is a plain class; `None` for `Request[None]`); its scope sees
                the error and its events are not processed.
        """
        # Only IRequest implements SendableRequest; an annotation costs nothing at run
        # time, where `cast` would be a call on every request.
        request_: IRequest[Any] = request  # type: ignore[assignment]  # see above
        # The common case, a plain handler class, in one dict lookup.
        plain = self._plain.get(type(request_))
        binding: PlainBinding
        if plain is None:
            binding, expected = plain_binding(self._request_map, request_), None
        else:
            binding, expected = plain
        if self._outbox is not None:
            return cast(
                "_ResT", await self._send_with_outbox(self._outbox, binding, request_, expected)
            )
        handler: RequestHandler[Any, Any]
        release: Release | None = None
        if not isinstance(binding, type):
            handler = await open_plain(self._container, binding)
        elif self._scoped is not None:  # inlined: this is the path of every request
            handler, release = await self._scoped.resolve_scoped(binding)
        else:
            handler = await self._container.resolve(binding)
        response: _ResT  # the map was checked at `bind` (no `cast`: a call per request)
        chain = self._middleware_chain
        # `_handle`, inlined: one coroutine less on every request.
        if release is None:
            response = await (
                handler.handle(request_) if chain is None else chain.call(handler.handle, request_)
            )
            if expected is not None and not isinstance(response, expected):
                raise wrong_response(handler, request_, response, expected)
        else:
            # The handler's dependencies stay open while it runs, and see its error.
            try:
                response = await (
                    handler.handle(request_)
                    if chain is None
                    else chain.call(handler.handle, request_)
                )
                if expected is not None and not isinstance(response, expected):
                    raise wrong_response(handler, request_, response, expected)
            except BaseException as error:
                await release(error)
                raise
            await release(None)
        events = handler.events
        if events:
            await self._processor.emit_events(events, raised_by=handler)
        return response

    async def _send_with_outbox(
        self,
        outbox: TransactionalOutbox,
        binding: object,
        request: IRequest[Any],
        expected: type | None,
    ) -> object:
        if not isinstance(binding, type):
            raise refuse_composite(binding, request)
        pair, release = await outbox.open(self._container, binding)
        handler: RequestHandler[Any, Any] = pair.handler
        try:
            response = await self._handle(handler, request)
            if expected is not None and not isinstance(response, expected):
                raise wrong_response(handler, request, response, expected)
            events = await outbox.store(pair.companion, handler.events)
        except BaseException as error:
            if release is not None:
                await release(error)
            raise
        if release is not None:
            await release(None)
        if events:
            await self._processor.emit_events(events, raised_by=handler)
        return response

    async def _handle(self, handler: RequestHandler[Any, Any], request: IRequest[Any]) -> Any:  # noqa: ANN401 - the handler's response, typed by `send`
        if self._middleware_chain is None:
            return await handler.handle(request)
        return await self._middleware_chain.call(handler.handle, request)
