"""Handler fallbacks: a second handler for when the first one fails or its circuit is open."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Final, Generic, cast, overload

from typing_extensions import TypeVar

from cqrs._composites._scoped import build, using
from cqrs._composites.base import EventComposite, RequestComposite
from cqrs._composites.checks import (
    check_event_handler,
    check_request_handler,
    handled_types,
    is_request_handler_class,
)
from cqrs._errors import DependencyResolutionError, HandlerBindingTypeError
from cqrs._interfaces.circuit_breaker import ICircuitBreaker
from cqrs._interfaces.container import Release, Resolver
from cqrs._interfaces.handlers import EventHandler, RequestHandler, StreamingRequestHandler
from cqrs._introspect import UNKNOWN, is_compatible, type_arguments, type_name
from cqrs._messages.events import IEvent
from cqrs._messages.requests import IRequest

__all__ = ("EventHandlerFallback", "FailureExceptions", "RequestHandlerFallback")

logger = logging.getLogger("cqrs")

_ReqT_contra = TypeVar("_ReqT_contra", bound=IRequest[Any], contravariant=True)
_ResT = TypeVar("_ResT")
_EventT_contra = TypeVar("_EventT_contra", bound=IEvent, contravariant=True)
_T = TypeVar("_T")

FailureExceptions = tuple[type[Exception], ...]
"""The exceptions of the primary handler that make a fallback run (empty: any)."""

_NO_EVENTS: tuple[IEvent, ...] = ()
_DONE: Final = object()


class _Pair:
    """A primary handler class, its fallback, and when to give up on the primary."""

    __slots__ = ("circuit_breaker", "failure_exceptions", "fallback", "primary")

    def __init__(
        self,
        primary: type[Any],
        fallback: type[Any],
        failure_exceptions: object,
        circuit_breaker: object,
        owner: str,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.failure_exceptions = _check_failure_exceptions(failure_exceptions, owner)
        self.circuit_breaker = _check_circuit_breaker(circuit_breaker, owner)

    async def attempt(self, run: Callable[[], Awaitable[_T]]) -> _T:
        """Run `run` (build the primary and use it) through the breaker, if any."""
        breaker = self.circuit_breaker
        if breaker is None:
            return await run()

        # A wiring mistake must not count as a failure of the primary's service: the
        # breaker would open and hide it behind the fallback. It passes as a result.
        async def counted() -> _T | _Unbuildable:
            try:
                return await run()
            except DependencyResolutionError as error:
                return _Unbuildable(error)

        result = await breaker.call(self.primary, counted)
        if isinstance(result, _Unbuildable):
            raise result.error
        return result

    def gives_way(self, error: Exception) -> bool:
        """Whether the primary's `error` makes the fallback run; logs it if so."""
        if isinstance(error, DependencyResolutionError):
            return False  # a wiring mistake, not an outage: hiding it would be worse
        breaker = self.circuit_breaker
        if breaker is not None and breaker.is_circuit_breaker_error(error):
            logger.warning(
                "The circuit of %s is open; %s handles this one",
                type_name(self.primary),
                type_name(self.fallback),
            )
            return True
        if self.failure_exceptions and not isinstance(error, self.failure_exceptions):
            return False
        logger.warning(
            "%s failed (%s: %s); falling back to %s",
            type_name(self.primary),
            type(error).__name__,
            error,
            type_name(self.fallback),
        )
        return True


class _Unbuildable:
    """The container could not build the primary: carried past the breaker as a value."""

    __slots__ = ("error",)

    def __init__(self, error: DependencyResolutionError) -> None:
        self.error = error


class _PairedHandlers:
    """What both fallback bindings show of their pair."""

    __slots__ = ("_pair",)

    _pair: _Pair

    @property
    def primary(self) -> type[Any]:
        """The handler class that runs first."""
        return self._pair.primary

    @property
    def fallback(self) -> type[Any]:
        """The handler class that runs when the primary fails or its circuit is open."""
        return self._pair.fallback

    @property
    def failure_exceptions(self) -> FailureExceptions:
        """The primary's exceptions that make the fallback run (empty: any)."""
        return self._pair.failure_exceptions

    @property
    def circuit_breaker(self) -> ICircuitBreaker | None:
        """The breaker the primary is called through, if any."""
        return self._pair.circuit_breaker

    @property
    def members(self) -> tuple[type[Any], ...]:
        """The primary and the fallback handler classes, in that order."""
        return (self._pair.primary, self._pair.fallback)

    def __repr__(self) -> str:
        pair = self._pair
        return f"{type(self).__name__}({type_name(pair.primary)}, {type_name(pair.fallback)})"


def _check_failure_exceptions(value: object, owner: str) -> FailureExceptions:
    if not isinstance(value, tuple):
        msg = f"{owner}: failure_exceptions must be a tuple of exception classes, got {value!r}"
        raise HandlerBindingTypeError(msg)
    checked: list[type[Exception]] = []
    for item in cast("tuple[object, ...]", value):
        if not (isinstance(item, type) and issubclass(item, Exception)):
            msg = (
                f"{owner}: failure_exceptions must hold subclasses of Exception, got "
                f"{item!r} (cancellation and other BaseExceptions always propagate)"
            )
            raise HandlerBindingTypeError(msg)
        checked.append(item)
    return tuple(checked)


def _check_circuit_breaker(value: object, owner: str) -> ICircuitBreaker | None:
    if value is None:
        return None
    if callable(getattr(value, "call", None)) and callable(
        getattr(value, "is_circuit_breaker_error", None)
    ):
        return cast("ICircuitBreaker", value)  # its two methods were found just above
    msg = (
        f"{owner}: circuit_breaker must implement cqrs.circuit_breaker.ICircuitBreaker "
        f"(async call(identifier, func, ...) and is_circuit_breaker_error(exc)), got {value!r}"
    )
    raise HandlerBindingTypeError(msg)


def _check_pair(primary: type[Any], fallback: type[Any], origin: type, owner: str) -> None:
    """Both classes must serve the same messages: one may not be narrower than the other."""
    if primary is fallback:
        msg = (
            f"{owner}: {type_name(primary)} is both the primary and the fallback; the "
            "fallback must be another handler"
        )
        raise HandlerBindingTypeError(msg)
    if origin is EventHandler:
        ((handled_p,), (handled_f,)) = (
            type_arguments(primary, origin) or (UNKNOWN,),
            type_arguments(fallback, origin) or (UNKNOWN,),
        )
        returns_p = returns_f = UNKNOWN
    else:
        handled_p, returns_p = handled_types(primary)
        handled_f, returns_f = handled_types(fallback)
    if (
        isinstance(handled_p, type)
        and isinstance(handled_f, type)
        and not (issubclass(handled_p, handled_f) or issubclass(handled_f, handled_p))
    ):
        kind = "event" if origin is EventHandler else "request"
        msg = (
            f"{owner}: {type_name(primary)} handles {type_name(handled_p)} but "
            f"{type_name(fallback)} handles {type_name(handled_f)}; primary and fallback "
            f"must handle the same {kind} type (or one a subclass of the other's)"
        )
        raise HandlerBindingTypeError(msg)
    if not (is_compatible(returns_p, returns_f) and is_compatible(returns_f, returns_p)):
        msg = (
            f"{owner}: {type_name(primary)} returns {type_name(returns_p)} but "
            f"{type_name(fallback)} returns {type_name(returns_f)}; a fallback must "
            "return the same response type as its primary"
        )
        raise HandlerBindingTypeError(msg)


class RequestHandlerFallback(_PairedHandlers, RequestComposite, Generic[_ReqT_contra, _ResT]):
    """Bind a request to a primary handler and a fallback for when it fails.

    The fallback runs when the primary raises one of `failure_exceptions` (any
    `Exception` when empty) or when `circuit_breaker` refuses to call the primary
    because its circuit is open; any other exception of the primary propagates
    unchanged. The response and the events are those of the handler that completed.

    Both handlers are plain `RequestHandler`s, or both are `StreamingRequestHandler`s,
    for the same request and response types. For streams, the items the primary
    yielded before it failed stay delivered and the fallback then streams from the
    start of its own results, so a consumer can receive an item twice. Each pull of
    the primary's stream is one call through the circuit breaker.

    Example:
        >>> import cqrs
        >>> class Price(cqrs.Response):
        ...     amount: int
        >>> class GetPrice(cqrs.Request[Price]):
        ...     sku: str
        >>> class LivePrice(cqrs.RequestHandler[GetPrice, Price]):
        ...     async def handle(self, request: GetPrice) -> Price:
        ...         raise ConnectionError("pricing service down")
        >>> class CachedPrice(cqrs.RequestHandler[GetPrice, Price]):
        ...     async def handle(self, request: GetPrice) -> Price:
        ...         return Price(amount=100)
        >>> requests = cqrs.RequestMap()
        >>> requests.bind(
        ...     GetPrice,
        ...     cqrs.RequestHandlerFallback(
        ...         LivePrice, CachedPrice, failure_exceptions=(ConnectionError,)
        ...     ),
        ... )

    Raises:
        HandlerBindingTypeError: (a `TypeError`) either class is not a request
            handler, the two are of different kinds or serve different request or
            response types, or `failure_exceptions` / `circuit_breaker` are invalid.
    """

    __slots__ = ("_streaming",)

    @overload
    def __init__(
        self,
        primary: type[StreamingRequestHandler[_ReqT_contra, _ResT]],
        fallback: type[StreamingRequestHandler[_ReqT_contra, _ResT]],
        failure_exceptions: FailureExceptions = (),
        circuit_breaker: ICircuitBreaker | None = None,
    ) -> None: ...

    @overload
    def __init__(
        self,
        primary: type[RequestHandler[_ReqT_contra, _ResT]],
        fallback: type[RequestHandler[_ReqT_contra, _ResT]],
        failure_exceptions: FailureExceptions = (),
        circuit_breaker: ICircuitBreaker | None = None,
    ) -> None: ...

    def __init__(
        self,
        primary: object,
        fallback: object,
        failure_exceptions: FailureExceptions = (),
        circuit_breaker: ICircuitBreaker | None = None,
    ) -> None:
        owner = "RequestHandlerFallback"
        for role, handler in (("primary", primary), ("fallback", fallback)):
            if not is_request_handler_class(handler):
                msg = (
                    f"{owner}: {role} must be a RequestHandler or StreamingRequestHandler "
                    f"class, got {handler!r} (primary and fallback must be handler classes)"
                )
                raise HandlerBindingTypeError(msg)
        assert is_request_handler_class(primary)  # noqa: S101 - narrowed by the loop above
        assert is_request_handler_class(fallback)  # noqa: S101 - as above
        streaming = issubclass(primary, StreamingRequestHandler)
        if streaming != issubclass(fallback, StreamingRequestHandler):
            kinds = {True: "a StreamingRequestHandler", False: "a RequestHandler"}
            msg = (
                f"{owner}: {type_name(primary)} is {kinds[streaming]} but "
                f"{type_name(fallback)} is {kinds[not streaming]}; both must be of the "
                "same kind"
            )
            raise HandlerBindingTypeError(msg)
        _check_pair(
            primary, fallback, StreamingRequestHandler if streaming else RequestHandler, owner
        )
        self._streaming = streaming
        self._pair = _Pair(primary, fallback, failure_exceptions, circuit_breaker, owner)

    @property
    def streaming(self) -> bool:
        """Whether both handlers are streaming handlers."""
        return self._streaming

    def check_request(self, request_type: type[IRequest[Any]], /) -> None:
        """Check both handlers against `request_type`, as `bind` checks one handler."""
        check_request_handler(request_type, self._pair.primary)
        check_request_handler(request_type, self._pair.fallback)

    async def open(
        self, container: Resolver, /
    ) -> RequestHandler[Any, Any] | StreamingRequestHandler[Any, Any]:
        """A handler that runs the primary, then the fallback if needed."""
        if self._streaming:
            return _FallbackStreamingHandler(self._pair, container)
        return _FallbackRequestHandler(self._pair, container)


class _FallbackRequestHandler(RequestHandler[Any, Any]):
    __slots__ = ("_completed", "_container", "_pair")

    def __init__(self, pair: _Pair, container: Resolver) -> None:
        self._pair = pair
        self._container = container
        self._completed: RequestHandler[Any, Any] | None = None

    @property
    def events(self) -> Sequence[IEvent]:
        completed = self._completed
        return _NO_EVENTS if completed is None else completed.events

    async def handle(self, request: IRequest[Any], /) -> Any:  # noqa: ANN401 - see RequestMap
        pair = self._pair

        async def answer(handler: RequestHandler[Any, Any]) -> Any:  # noqa: ANN401 - as above
            response = await handler.handle(request)
            self._completed = handler
            return response

        # Building the primary is part of the attempt: a constructor that cannot reach
        # its service fails over too, and an open circuit does not even build it.
        async def run() -> Any:  # noqa: ANN401 - as above
            return await using(self._container, pair.primary, answer)

        try:
            return await pair.attempt(run)
        except Exception as error:
            if not pair.gives_way(error):
                raise
        return await using(self._container, pair.fallback, answer)


async def _next_item(results: AsyncIterator[_T]) -> _T | object:
    # The end of the stream is a success for the circuit breaker, not a failure.
    try:
        return await anext(results)
    except StopAsyncIteration:
        return _DONE


class _FallbackStreamingHandler(StreamingRequestHandler[Any, Any]):
    __slots__ = ("_container", "_current", "_pair")

    def __init__(self, pair: _Pair, container: Resolver) -> None:
        self._pair = pair
        self._container = container
        self._current: StreamingRequestHandler[Any, Any] | None = None

    @property
    def events(self) -> Sequence[IEvent]:
        current = self._current
        return _NO_EVENTS if current is None else current.events

    def clear_events(self) -> None:
        if self._current is not None:
            self._current.clear_events()

    async def handle(self, request: IRequest[Any], /) -> AsyncIterator[Any]:
        pair = self._pair
        primary = _MemberStream(self._container, pair.primary, request, self._use)
        try:
            while True:
                try:
                    # Each pull is one call through the breaker; the first builds the primary.
                    item = await pair.attempt(primary.pull)
                except Exception as error:
                    if not pair.gives_way(error):
                        raise
                    break
                if item is _DONE:
                    return
                yield item
        finally:
            await primary.close()
        # The primary's events not yet taken belong to a failed handler: dropped.
        fallback = _MemberStream(self._container, pair.fallback, request, self._use)
        try:
            while (item := await fallback.pull()) is not _DONE:
                yield item
        finally:
            await fallback.close()

    def _use(self, handler: StreamingRequestHandler[Any, Any]) -> None:
        self._current = handler


class _MemberStream:
    """One member's stream: built at its first pull, closed together with its scope."""

    __slots__ = ("_built", "_container", "_failure", "_release", "_request", "_results", "_type")

    def __init__(
        self,
        container: Resolver,
        type_: type[StreamingRequestHandler[Any, Any]],
        request: IRequest[Any],
        built: Callable[[StreamingRequestHandler[Any, Any]], None],
    ) -> None:
        self._container = container
        self._type = type_
        self._request = request
        self._built = built
        self._results: AsyncIterator[Any] | None = None
        self._release: Release | None = None
        self._failure: BaseException | None = None

    async def pull(self) -> object:
        """The next item, or `_DONE` at the end of the stream."""
        try:
            if self._results is None:
                handler, self._release = await build(self._container, self._type)
                self._built(handler)
                self._results = handler.handle(self._request)
            return await _next_item(self._results)
        except BaseException as error:
            self._failure = error  # what its scope's teardown sees
            raise

    async def close(self) -> None:
        """Close the stream, then its scope (a consumer stopping early is no failure)."""
        try:
            aclose = getattr(self._results, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            if self._release is not None:
                await self._release(self._failure)


class EventHandlerFallback(_PairedHandlers, EventComposite, Generic[_EventT_contra]):
    """Bind an event to a primary handler and a fallback for when it fails.

    The rules of `RequestHandlerFallback` apply: the fallback runs when the primary
    raises one of `failure_exceptions` (any `Exception` when empty) or its circuit is
    open; otherwise the primary's exception propagates (and is isolated and logged,
    or propagated, like any event handler failure). The follow-up events are those of
    the handler that completed.

    Raises:
        HandlerBindingTypeError: (a `TypeError`) either class is not an event handler,
            the two handle different event types, or `failure_exceptions` /
            `circuit_breaker` are invalid.
    """

    __slots__ = ()

    def __init__(
        self,
        primary: type[EventHandler[_EventT_contra]],
        fallback: type[EventHandler[_EventT_contra]],
        failure_exceptions: FailureExceptions = (),
        circuit_breaker: ICircuitBreaker | None = None,
    ) -> None:
        owner = "EventHandlerFallback"
        _require_event_handler(owner, "primary", primary)
        _require_event_handler(owner, "fallback", fallback)
        _check_pair(primary, fallback, EventHandler, owner)
        self._pair = _Pair(primary, fallback, failure_exceptions, circuit_breaker, owner)

    def check_event(self, event_type: type[IEvent], /) -> None:
        """Check both handlers against `event_type`, as `bind` checks one handler."""
        check_event_handler(event_type, self._pair.primary)
        check_event_handler(event_type, self._pair.fallback)

    async def open(self, container: Resolver, /) -> EventHandler[Any]:
        """A handler that runs the primary, then the fallback if needed."""
        return _FallbackEventHandler(self._pair, container)


def _require_event_handler(owner: str, role: str, handler: object) -> None:
    # Callers that are not type-checked can pass anything.
    if not isinstance(handler, type):
        msg = (
            f"{owner}: {role} must be an EventHandler class, got {handler!r} "
            "(primary and fallback must be handler classes)"
        )
        raise HandlerBindingTypeError(msg)
    if not issubclass(handler, EventHandler):
        msg = (
            f"{owner}: {role} must be an EventHandler class, got {handler!r}: the {role} "
            "must be a subclass of EventHandler"
        )
        raise HandlerBindingTypeError(msg)


class _FallbackEventHandler(EventHandler[Any]):
    __slots__ = ("_completed", "_container", "_pair")

    def __init__(self, pair: _Pair, container: Resolver) -> None:
        self._pair = pair
        self._container = container
        self._completed: EventHandler[Any] | None = None

    @property
    def events(self) -> Sequence[IEvent]:
        completed = self._completed
        return _NO_EVENTS if completed is None else completed.events

    async def handle(self, event: IEvent, /) -> None:
        pair = self._pair

        async def answer(handler: EventHandler[Any]) -> None:
            await handler.handle(event)
            self._completed = handler

        async def run() -> None:  # built inside the attempt, as for requests
            await using(self._container, pair.primary, answer)

        try:
            await pair.attempt(run)
        except Exception as error:
            if not pair.gives_way(error):
                raise
        else:
            return
        await using(self._container, pair.fallback, answer)
