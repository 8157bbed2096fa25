"""`StreamingRequestMediator`: streams the results of a streaming handler."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from typing_extensions import TypeVar

from cqrs._dispatch.emitter import EventEmitter
from cqrs._dispatch.processor import DEFAULT_MAX_FOLLOW_UP_DEPTH
from cqrs._errors import RequestHandlerTypeError
from cqrs._interfaces.container import Release, Resolver, ScopedResolver
from cqrs._interfaces.handlers import StreamingRequestHandler
from cqrs._interfaces.middleware import MiddlewareChain
from cqrs._interfaces.outbox import OutboxWriter
from cqrs._introspect import type_name
from cqrs._maps.event_map import EventMap
from cqrs._maps.request_map import RequestMap
from cqrs._mediators._outbox import TransactionalOutbox, refuse_composite
from cqrs._mediators._shared import (
    StreamingBinding,
    build_processor,
    open_streaming,
    streaming_binding,
)
from cqrs._messages.events import IEvent
from cqrs._messages.requests import IRequest

__all__ = ("StreamingRequestMediator",)

_ResT = TypeVar("_ResT")


class StreamingRequestMediator:
    """Streams the results of `StreamingRequestHandler`s, processing events per item.

    Takes the parameters of `RequestMediator`; events are processed in parallel by
    default, at most 10 emits at once. With `outbox=`, the notification events of each
    item are added to the outbox and committed before the item is handed on.
    """

    __slots__ = (
        "_container",
        "_middleware_chain",
        "_outbox",
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
        max_concurrent_event_handlers: int = 10,
        concurrent_event_handle_enable: bool = True,  # noqa: FBT001, FBT002 - python-cqrs signature
        propagate_event_errors: bool = False,  # noqa: FBT001, FBT002 - as above
        *,
        outbox: type[OutboxWriter] | None = None,
        max_follow_up_depth: int = DEFAULT_MAX_FOLLOW_UP_DEPTH,
    ) -> None:
        self._request_map = request_map
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

    def stream(self, request: IRequest[_ResT]) -> AsyncGenerator[_ResT, None]:
        """Return the handler's results as an async generator (call it without `await`).

        For each item the handler yields, its events are taken, cleared and processed
        before the item is handed on. Stopping early (`break` then `aclose()`, or
        cancelling the consuming task) closes the handler's generator at once.

        Raises:
            RequestHandlerDoesNotExist: no handler is bound to the request's class
                (raised here, before iteration starts).
            RequestHandlerTypeError: the bound handler is not a streaming handler.
        """
        binding = streaming_binding(self._request_map, request)
        if self._outbox is not None and not isinstance(binding, type):
            raise refuse_composite(binding, request)
        return self._iterate(binding, request)

    async def _iterate(
        self,
        binding: StreamingBinding,
        request: IRequest[_ResT],
    ) -> AsyncGenerator[_ResT, None]:
        handler, release, outbox = await self._handler(binding)
        results: AsyncIterator[_ResT] | None = None
        error: BaseException | None = None
        try:
            results = await self._open(binding, handler, request)
            if outbox is None:
                emit_events = self._processor.emit_events
                async for item in results:
                    # `_process_events` without an outbox, inlined: this runs per item.
                    events: Sequence[IEvent] = handler.events
                    if events:
                        events = tuple(events)
                        handler.clear_events()
                        await emit_events(events, raised_by=handler)
                    yield item
            else:
                async for item in results:
                    await self._process_events(handler, outbox)
                    yield item
            # Events raised after the last item still belong to this stream.
            await self._process_events(handler, outbox)
        except GeneratorExit:
            raise  # the consumer stopped early: not a failure of the handler
        except BaseException as exc:
            error = exc
            raise
        finally:
            # Close the handler's generator now, not when it is garbage collected,
            # so its `finally` blocks run as soon as the consumer stops; then its
            # dependencies' scope, which sees the error that ended the stream.
            try:
                aclose = getattr(results, "aclose", None)
                if aclose is not None:
                    await aclose()
            finally:
                if release is not None:
                    await release(error)

    async def _handler(
        self, binding: StreamingBinding
    ) -> tuple[StreamingRequestHandler[Any, Any], Release | None, OutboxWriter | None]:
        """The handler, the release of its scope, and its outbox writer (if any)."""
        if self._outbox is not None and isinstance(binding, type):
            pair, release = await self._outbox.open(self._container, binding)
            return pair.handler, release, pair.companion
        if isinstance(binding, type) and self._scoped is not None:
            handler, release = await self._scoped.resolve_scoped(binding)
            return handler, release, None
        return await open_streaming(self._container, binding), None, None

    async def _open(
        self,
        binding: StreamingBinding,
        handler: StreamingRequestHandler[Any, _ResT],
        request: IRequest[_ResT],
    ) -> AsyncIterator[_ResT]:
        if self._middleware_chain is None:
            results = handler.handle(request)
        else:
            results = await self._middleware_chain.call(_opener(handler), request)
        if not _is_async_iterator(results):
            msg = (
                f"{type_name(binding)}.handle returned {type(results).__name__}, "
                "not an async iterator; implement it as an async generator "
                "(async def with yield)"
            )
            raise RequestHandlerTypeError(msg)
        return results

    async def _process_events(
        self, handler: StreamingRequestHandler[Any, Any], outbox: OutboxWriter | None
    ) -> None:
        events: Sequence[IEvent] = handler.events
        if events:
            events = tuple(events)
            handler.clear_events()
        if outbox is not None and self._outbox is not None:
            events = await self._outbox.store(outbox, events)
        if events:
            await self._processor.emit_events(events, raised_by=handler)


def _is_async_iterator(obj: object) -> bool:
    # Checked at run time: a handler written without type checking may return anything.
    return isinstance(obj, AsyncIterator)


def _opener(
    handler: StreamingRequestHandler[Any, _ResT],
) -> Callable[[IRequest[Any]], Awaitable[AsyncIterator[_ResT]]]:
    # Middlewares see the call that opens the stream: they get the request and
    # receive the iterator the handler returns.
    async def open_stream(request: IRequest[Any]) -> AsyncIterator[_ResT]:
        return handler.handle(request)

    return open_stream
