"""FastAPI integration: stream a mediator as Server-Sent Events, provide mediators.

Needs the `fastapi` extra (`pip install "cqrs-typed[fastapi]"`); `import cqrs` never
imports FastAPI, only this module does.

- `sse_response(mediator.stream(request))` turns a stream into a `text/event-stream`
  response: one `data:` frame per item, numbered with `id:` and optionally named with
  `event:` (a fixed name, or one per item), optional `start` and
  `complete` frames, an `error` frame if the handler raises, keep-alive comments while
  the stream is idle, and headers that keep proxies from buffering. When the client
  disconnects, the handler's generator is closed at once (its `finally` blocks run).
- `MediatorProvider(factory)` builds a mediator once, on first use, and hands the same
  instance to every request through `fastapi.Depends`.

Example:
    ```python
    from typing import Annotated

    import fastapi

    import cqrs
    from cqrs.integrations.fastapi import EventStreamResponse, MediatorProvider, sse_response


    @MediatorProvider
    def streaming_mediator() -> cqrs.StreamingRequestMediator:
        return bootstrap.bootstrap_streaming(di_container=container, commands_mapper=commands)


    @app.post("/process-files", response_class=EventStreamResponse)
    async def process_files(
        command: ProcessFiles,
        mediator: Annotated[cqrs.StreamingRequestMediator, fastapi.Depends(streaming_mediator)],
    ) -> EventStreamResponse:
        return sse_response(mediator.stream(command), start={"message": "Processing..."})
    ```
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from typing import Any, Final, Generic, Protocol, final, runtime_checkable

import anyio
import pydantic
import pydantic_core
from typing_extensions import TypeVar

try:
    from fastapi.responses import Response
except ImportError as _error:  # pragma: no cover - only without the extra
    _msg = 'cqrs.integrations.fastapi needs FastAPI: pip install "cqrs-typed[fastapi]"'
    raise ImportError(_msg) from _error
from starlette.background import BackgroundTask
from starlette.types import Message, Receive, Scope, Send

from cqrs.exceptions import CQRSError, InvalidConfigurationError

__all__ = (
    "DEFAULT_KEEPALIVE_INTERVAL",
    "EventStreamResponse",
    "MediatorProvider",
    "default_error_payload",
    "format_event",
    "jsonable",
    "sse_response",
)

_ItemT = TypeVar("_ItemT")
_MediatorT = TypeVar("_MediatorT")

_logger = logging.getLogger("cqrs")

DEFAULT_KEEPALIVE_INTERVAL: Final = 15.0
"""Seconds of silence after which a keep-alive comment is sent (proxies close idle
connections after 30 to 60 seconds by default)."""

_KEEPALIVE_FRAME: Final = b": keep-alive\n\n"

# Tell every proxy and cache on the way to pass each frame on at once.
_STREAM_HEADERS: Final = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # nginx buffers responses unless told not to
}


# --- frames -------------------------------------------------------------------------


@runtime_checkable
class _SupportsToDict(Protocol):
    def to_dict(self) -> Mapping[str, Any]: ...


def jsonable(value: object, /) -> object:
    """Return `value` as something that `pydantic_core.to_json` encodes.

    A pydantic model becomes its `model_dump(mode="json")`; an object with `to_dict()`
    (the library's dataclass messages) its `to_dict()`; another dataclass instance its
    `dataclasses.asdict`; anything else is returned as it is.

    Example:
        >>> import cqrs
        >>> class Progress(cqrs.Response):
        ...     done: int
        >>> jsonable(Progress(done=3))
        {'done': 3}
    """
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, _SupportsToDict):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def format_event(
    data: object,
    /,
    *,
    event: str | None = None,
    event_id: str | int | None = None,
) -> bytes:
    """Encode one Server-Sent Event whose `data:` is `data` as compact JSON.

    Args:
        data: the payload, passed through `jsonable` and encoded as JSON (datetimes,
            UUIDs and the like are encoded the way pydantic encodes them).
        event: the event name (`addEventListener(name)` in a browser); `None` for the
            default `message` event.
        event_id: the event's `id:`, which a browser sends back as `Last-Event-ID`.

    Raises:
        InvalidConfigurationError: `event` or `event_id` contains a line break.

    Example:
        >>> format_event({"n": 1}, event="start", event_id=1)
        b'id: 1\\nevent: start\\ndata: {"n":1}\\n\\n'
    """
    return _encode(pydantic_core.to_json(jsonable(data)), event, event_id)


def _encode(data: bytes, event: str | None, event_id: str | int | None) -> bytes:
    lines: list[bytes] = []
    if event_id is not None:
        lines.append(b"id: " + _single_line(str(event_id), "event_id"))
    if event is not None:
        lines.append(b"event: " + _single_line(event, "event"))
    # Compact JSON never contains a raw line break, so the payload is one `data:` line.
    lines.append(b"data: " + data)
    return b"\n".join(lines) + b"\n\n"


def _single_line(value: str, name: str) -> bytes:
    if "\n" in value or "\r" in value or "\0" in value:
        msg = f"an SSE {name} must be one line without NUL characters, got {value!r}"
        raise InvalidConfigurationError(msg)
    return value.encode()


def default_error_payload(error: Exception, /) -> object:  # noqa: ARG001 - hides the error
    """The `data` of the `error` frame by default: FastAPI's body for a 500.

    The exception itself is logged, never sent: its message may hold internals. Pass
    `error_payload=` to `sse_response` to tell clients more about errors you expect.
    """
    return {"detail": "Internal Server Error"}


async def _aclose(iterator: object) -> None:
    # Async generators (what `mediator.stream()` returns) have `aclose`; other
    # iterators have nothing to close.
    aclose: Any = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


def _is_positive_number(value: object) -> bool:
    # Checked at run time too: callers are not always type-checked.
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _event_namer(
    event: str | Callable[[_ItemT], str | None] | None,
) -> Callable[[_ItemT], str | None]:
    if event is None or isinstance(event, str):
        return lambda _: event
    checked: object = event  # checked at run time too: callers are not always type-checked
    if not callable(checked):
        msg = f"event must be a str, a callable item -> str | None, or None; got {event!r}"
        raise InvalidConfigurationError(msg)
    return event


def _event_name(name: object) -> str | None:
    # What the `event` callable returned, checked: callers are not always type-checked.
    if name is None:
        return None
    if not isinstance(name, str):
        msg = f"the event callable must return a str or None, got {name!r}"
        raise TypeError(msg)
    _single_line(name, "event")
    return name


async def _event_frames(
    items: AsyncIterable[_ItemT],
    *,
    event: Callable[[_ItemT], str | None],
    start: object,
    complete: object,
    serialize: Callable[[_ItemT], object],
    error_payload: Callable[[Exception], object],
    retry: int | None,
) -> AsyncIterator[bytes]:
    ids = itertools.count(1)
    if retry is not None:
        yield f"retry: {retry}\n\n".encode()
    if start is not None:
        yield format_event(start, event="start", event_id=next(ids))
    iterator = aiter(items)
    failure: Exception | None = None
    try:
        while True:
            try:
                item = await anext(iterator)
                data = pydantic_core.to_json(jsonable(serialize(item)))
                name = _event_name(event(item))
            except StopAsyncIteration:
                break
            except Exception as error:
                _logger.exception("The event stream failed; ending it with an error frame")
                failure = error
                break
            yield _encode(data, name, next(ids))
    finally:
        # Reached on GeneratorExit too (the client went away while a frame was being
        # sent): close the handler's generator now, so its `finally` blocks run now.
        await _aclose(iterator)
    if failure is None:
        if complete is not None:
            yield format_event(complete, event="complete", event_id=next(ids))
        return
    try:
        payload = error_payload(failure)
        frame = format_event(payload, event="error", event_id=next(ids))
    except Exception:
        _logger.exception("error_payload failed; sending the default error frame")
        frame = format_event(default_error_payload(failure), event="error", event_id=next(ids))
    yield frame


# --- the response -------------------------------------------------------------------


class EventStreamResponse(Response):
    """A `text/event-stream` response that sends `frames` as they are produced.

    Usually built by `sse_response`; use it directly to send frames of your own (see
    `format_event`). Name it as `response_class=` on the route so that OpenAPI shows
    the `text/event-stream` media type.

    While the response streams, it listens for the client's disconnect and then stops
    at once: the frame iterator (and, through it, the handler's generator) is closed
    and its `finally` blocks run. A keep-alive comment is sent whenever no frame has
    been sent for `keepalive_interval` seconds. A HEAD request gets the headers only;
    the stream is never started.

    Args:
        frames: encoded SSE frames (`bytes`, each ending with a blank line).
        status_code: the HTTP status.
        headers: extra headers; `Cache-Control: no-cache` and `X-Accel-Buffering: no`
            are set unless given here.
        keepalive_interval: seconds of silence before a keep-alive comment; `None`
            sends none.
        background: a task run after the response has finished (or the client left).

    Raises:
        InvalidConfigurationError: `keepalive_interval` is not a positive number.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        frames: AsyncIterable[bytes],
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        keepalive_interval: float | None = DEFAULT_KEEPALIVE_INTERVAL,
        background: BackgroundTask | None = None,
    ) -> None:
        if keepalive_interval is not None and not _is_positive_number(keepalive_interval):
            msg = (
                "keepalive_interval must be a positive number of seconds or None (no "
                f"keep-alive comments), got {keepalive_interval!r}"
            )
            raise InvalidConfigurationError(msg)
        self.frames = frames
        self.keepalive_interval = keepalive_interval
        self.status_code = status_code
        self.background = background
        merged = dict(headers or {})
        given = {name.lower() for name in merged}
        merged.update({k: v for k, v in _STREAM_HEADERS.items() if k.lower() not in given})
        self.init_headers(merged)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream the frames until they end or the client disconnects."""
        if scope["type"] == "http" and scope.get("method") == "HEAD":
            await _aclose(self.frames)
            await send(self._start_message())
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            await self._stream(receive, send)
        if self.background is not None:
            await self.background()

    def _start_message(self) -> Message:
        return {
            "type": "http.response.start",
            "status": self.status_code,
            "headers": self.raw_headers,
        }

    async def _stream(self, receive: Receive, send: Send) -> None:
        unexpected: Exception | None = None
        async with anyio.create_task_group() as group:
            channel = _Channel(send, group.cancel_scope)
            group.start_soon(_cancel_on_disconnect, receive, group.cancel_scope)
            if self.keepalive_interval is not None:
                group.start_soon(channel.keep_alive, self.keepalive_interval)
            try:
                await self._send_frames(channel)
            except _ClientGone:
                pass
            except Exception as error:  # noqa: BLE001 - re-raised below, not as a group
                unexpected = error
            finally:
                group.cancel_scope.cancel()
        if unexpected is not None:
            raise unexpected

    async def _send_frames(self, channel: _Channel) -> None:
        iterator = aiter(self.frames)
        try:
            await channel.send(self._start_message())
            async for frame in iterator:
                await channel.send_body(frame)
            await channel.send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await _aclose(iterator)


class _ClientGone(CQRSError):  # noqa: N818 - internal signal, never seen outside
    """`send` failed because the client disconnected."""


@final
class _Channel:
    """Serialises sends from the frame stream and the keep-alive task."""

    __slots__ = ("_cancel_scope", "_closed", "_last_sent", "_lock", "_send")

    def __init__(self, send: Send, cancel_scope: anyio.CancelScope) -> None:
        self._send = send
        self._cancel_scope = cancel_scope
        self._lock = anyio.Lock()
        self._last_sent = anyio.current_time()
        self._closed = False

    async def send(self, message: Message) -> None:
        async with self._lock:
            if self._closed:
                return
            try:
                await self._send(message)
            except OSError:
                # ASGI 2.4 servers report a client that went away by failing `send`.
                self._closed = True
                self._cancel_scope.cancel()
                raise _ClientGone from None
            self._last_sent = anyio.current_time()
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self._closed = True

    async def send_body(self, body: bytes) -> None:
        await self.send({"type": "http.response.body", "body": body, "more_body": True})

    async def keep_alive(self, interval: float) -> None:
        while True:
            await anyio.sleep(self._last_sent + interval - anyio.current_time())
            if anyio.current_time() - self._last_sent >= interval:
                try:
                    await self.send_body(_KEEPALIVE_FRAME)
                except _ClientGone:
                    return


async def _cancel_on_disconnect(receive: Receive, cancel_scope: anyio.CancelScope) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            cancel_scope.cancel()
            return


# --- the function users call ----------------------------------------------------------


def sse_response(
    items: AsyncIterable[_ItemT],
    /,
    *,
    start: object = None,
    complete: object = None,
    event: str | Callable[[_ItemT], str | None] | None = None,
    serialize: Callable[[_ItemT], object] = jsonable,
    error_payload: Callable[[Exception], object] = default_error_payload,
    keepalive_interval: float | None = DEFAULT_KEEPALIVE_INTERVAL,
    retry: int | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> EventStreamResponse:
    """Stream `items` (usually `mediator.stream(request)`) as Server-Sent Events.

    Each item becomes one frame `id: <n>` / `data: <JSON>`, sent as soon as the
    handler yields it (after the mediator has processed the item's events). The JSON is
    the item's `model_dump(mode="json")` for a pydantic model, its `to_dict()` for
    the library's dataclass responses (see `jsonable`). Ids count every data frame,
    from 1.

    If the handler raises, the exception is logged on the `"cqrs"` logger and the
    stream ends with an `event: error` frame whose data is `error_payload(exception)`;
    the server goes on serving. If the client disconnects, the handler's generator is
    closed at once.

    Args:
        items: the async iterator to stream.
        start: if not `None`, first send an `event: start` frame with this data.
        complete: if not `None`, after the last item send an `event: complete` frame
            with this data (not after an error). A browser `EventSource` reconnects
            when a stream ends, so clients should close it on `complete` / `error`.
        event: the `event:` name of the item frames, which a browser's `EventSource`
            dispatches to `addEventListener(name)`: a `str` names every item frame, a
            callable names each one from its item (returning `None` leaves that frame
            unnamed); `None` (the default) leaves them all unnamed, delivered as
            `message`. Avoid `start`, `complete` and `error`, which the stream's own
            frames use. If the callable raises or returns a name with a line break,
            the stream ends with the `error` frame, as when the handler raises.
        serialize: turns an item into the frame's data (default: `jsonable`).
        error_payload: builds the data of the `error` frame from the exception
            (default: `{"detail": "Internal Server Error"}`, hiding the error).
        keepalive_interval: seconds of silence before a keep-alive comment
            (`: keep-alive`); `None` sends none.
        retry: if given, a `retry:` field first: the browser's reconnection delay in ms.
        status_code: the HTTP status.
        headers: extra response headers.

    Raises:
        InvalidConfigurationError: `keepalive_interval` is not positive, or `event` is
            a `str` with a line break, or neither a `str`, a callable nor `None`.

    Example:
        ```python
        @app.post("/imports", response_class=EventStreamResponse)
        async def run_import(
            command: ImportFiles,
            mediator: Annotated[cqrs.StreamingRequestMediator, Depends(streaming_mediator)],
        ) -> EventStreamResponse:
            return sse_response(
                mediator.stream(command), event="progress", complete={"message": "done"}
            )
        ```

        In a browser, `new EventSource(url)` then receives the items with
        `source.addEventListener("progress", ...)`, and should `source.close()` on
        `complete` and `error` (see `examples/static/sse_client.html`).
    """
    if isinstance(event, str):
        _single_line(event, "event")
    if retry is not None and (isinstance(retry, bool) or retry < 0):
        msg = f"retry must be a non-negative number of milliseconds, got {retry!r}"
        raise InvalidConfigurationError(msg)
    frames = _event_frames(
        items,
        event=_event_namer(event),
        start=start,
        complete=complete,
        serialize=serialize,
        error_payload=error_payload,
        retry=retry,
    )
    return EventStreamResponse(
        frames,
        status_code=status_code,
        headers=headers,
        keepalive_interval=keepalive_interval,
    )


# --- dependencies -------------------------------------------------------------------


@final
class MediatorProvider(Generic[_MediatorT]):
    """Builds a mediator once, on first use, and provides it through `fastapi.Depends`.

    Wrap a zero-argument factory (or decorate it); every request then gets the same
    instance instead of a new bootstrap per request. Call `get()` in the app's
    lifespan to build it at start-up, so a wiring error stops the app from starting.
    In tests, `app.dependency_overrides[provider] = ...` replaces it as usual.

    Example:
        >>> import cqrs
        >>> from cqrs.requests import bootstrap
        >>> import di
        >>> @MediatorProvider
        ... def mediator() -> cqrs.RequestMediator:
        ...     return bootstrap.bootstrap(di_container=di.Container())
        >>> mediator.get() is mediator.get()
        True

        In an endpoint (both spellings type-check):

        ```python
        async def endpoint(
            mediator: Annotated[cqrs.RequestMediator, fastapi.Depends(mediator)],
        ) -> ...: ...

        async def endpoint(
            mediator: cqrs.RequestMediator = fastapi.Depends(mediator),
        ) -> ...: ...
        ```
    """

    __slots__ = ("_built", "_factory", "_lock")

    def __init__(self, factory: Callable[[], _MediatorT], /) -> None:
        self._factory = factory
        self._built: tuple[_MediatorT] | None = None
        self._lock = threading.Lock()

    async def __call__(self) -> _MediatorT:
        """Return the mediator (FastAPI awaits this on the event loop, no thread)."""
        return self.get()

    def get(self) -> _MediatorT:
        """Return the mediator, building it on the first call."""
        built = self._built
        if built is None:
            with self._lock:
                built = self._built
                if built is None:
                    built = (self._factory(),)
                    self._built = built
        return built[0]

    def reset(self) -> None:
        """Forget the mediator; the next use builds a new one (for tests)."""
        with self._lock:
            self._built = None

    def __repr__(self) -> str:
        factory = getattr(self._factory, "__qualname__", repr(self._factory))
        state = "built" if self._built is not None else "not built yet"
        return f"MediatorProvider({factory}, {state})"
