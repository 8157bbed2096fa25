"""`cqrs.integrations.fastapi` against a real uvicorn server on 127.0.0.1.

The streams are read with httpx as they arrive; the handlers record, in thread-safe
module-level objects, what the tests cannot see over HTTP (a `finally` that ran, how
many event handlers ran at once).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime
import logging
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Annotated, Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

import di  # noqa: E402
import fastapi  # noqa: E402
from starlette.background import BackgroundTask  # noqa: E402

import cqrs  # noqa: E402
from cqrs.exceptions import InvalidConfigurationError  # noqa: E402
from cqrs.integrations.fastapi import (  # noqa: E402
    EventStreamResponse,
    MediatorProvider,
    format_event,
    jsonable,
    sse_response,
)
from cqrs.requests import bootstrap  # noqa: E402

EVENT_HANDLER_LIMIT = 3

# --- what the handlers record -------------------------------------------------------


class Concurrency:
    """How many event handlers run at once: overall and per stream."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.active = 0
            self.peak = 0
            self.handled = 0
            self.active_per_stream: collections.Counter[str] = collections.Counter()
            self.peak_per_stream: collections.Counter[str] = collections.Counter()

    @contextlib.contextmanager
    def track(self, stream: str) -> Iterator[None]:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.active_per_stream[stream] += 1
            self.peak_per_stream[stream] = max(
                self.peak_per_stream[stream], self.active_per_stream[stream]
            )
        try:
            yield
        finally:
            with self._lock:
                self.active -= 1
                self.active_per_stream[stream] -= 1
                self.handled += 1


CONCURRENCY = Concurrency()
FINISHED: dict[str, threading.Event] = {}  # Endless.tag -> set by the handler's finally
TICKS_STARTED = collections.Counter[str]()  # Ticks.tag -> handle() calls that began
FACTORY_CALLS = collections.Counter[str]()

# --- requests and handlers ----------------------------------------------------------


class Tick(cqrs.Response):
    n: int
    produced_at: float


class Ticks(cqrs.Request[Tick]):
    count: int
    delay: float = 0.0
    tag: str = ""


class Endless(cqrs.Request[Tick]):
    tag: str
    idle: bool  # after the first item: wait a minute (idle) or yield every 10 ms (busy)


class Failing(cqrs.Request[Tick]):
    before: int


class Burst(cqrs.Request[Tick]):
    stream: str
    count: int
    events_per_item: int


@dataclasses.dataclass
class Stamp(cqrs.DCResponse):
    n: int
    at: datetime.datetime


class Stamps(cqrs.Request[Stamp]):
    count: int


class BurstEvent(cqrs.DomainEvent, frozen=True):
    stream: str
    n: int


class _NoEvents:
    def clear_events(self) -> None:
        pass


class TicksHandler(_NoEvents, cqrs.StreamingRequestHandler[Ticks, Tick]):
    async def handle(self, request: Ticks) -> AsyncIterator[Tick]:
        TICKS_STARTED[request.tag] += 1
        for n in range(request.count):
            if request.delay:
                await asyncio.sleep(request.delay)
            yield Tick(n=n, produced_at=time.monotonic())


class EndlessHandler(_NoEvents, cqrs.StreamingRequestHandler[Endless, Tick]):
    async def handle(self, request: Endless) -> AsyncIterator[Tick]:
        try:
            n = 0
            while True:
                yield Tick(n=n, produced_at=time.monotonic())
                n += 1
                await asyncio.sleep(60 if request.idle else 0.01)
        finally:
            FINISHED[request.tag].set()


class FailingHandler(_NoEvents, cqrs.StreamingRequestHandler[Failing, Tick]):
    async def handle(self, request: Failing) -> AsyncIterator[Tick]:
        for n in range(request.before):
            yield Tick(n=n, produced_at=time.monotonic())
        msg = "database password is hunter2"  # must reach the log, never the client
        raise RuntimeError(msg)


class BurstHandler(cqrs.StreamingRequestHandler[Burst, Tick]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return tuple(self._events)

    def clear_events(self) -> None:
        self._events.clear()

    async def handle(self, request: Burst) -> AsyncIterator[Tick]:
        for n in range(request.count):
            self._events.extend(
                BurstEvent(stream=request.stream, n=i) for i in range(request.events_per_item)
            )
            yield Tick(n=n, produced_at=time.monotonic())


class StampsHandler(_NoEvents, cqrs.StreamingRequestHandler[Stamps, Stamp]):
    async def handle(self, request: Stamps) -> AsyncIterator[Stamp]:
        for n in range(request.count):
            yield Stamp(n=n, at=datetime.datetime(2026, 1, n + 1, tzinfo=datetime.timezone.utc))


class BurstEventHandler(cqrs.EventHandler[BurstEvent]):
    async def handle(self, event: BurstEvent) -> None:
        with CONCURRENCY.track(event.stream):
            await asyncio.sleep(0.005)


def commands(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Ticks, TicksHandler)
    mapper.bind(Endless, EndlessHandler)
    mapper.bind(Failing, FailingHandler)
    mapper.bind(Burst, BurstHandler)
    mapper.bind(Stamps, StampsHandler)


def events(mapper: cqrs.EventMap) -> None:
    mapper.bind(BurstEvent, BurstEventHandler)


# --- the app ------------------------------------------------------------------------


@MediatorProvider
def streaming_mediator() -> cqrs.StreamingRequestMediator:
    FACTORY_CALLS["sse"] += 1
    return bootstrap.bootstrap_streaming(
        di_container=di.Container(),
        commands_mapper=commands,
        domain_events_mapper=events,
        max_concurrent_event_handlers=EVENT_HANDLER_LIMIT,
    )


# FastAPI resolves the endpoints' (string) annotations in the module's namespace.
Mediator = Annotated[cqrs.StreamingRequestMediator, fastapi.Depends(streaming_mediator)]


def build_app() -> fastapi.FastAPI:
    app = fastapi.FastAPI()

    @app.post("/ticks", response_class=EventStreamResponse)
    async def ticks(
        request: Ticks, mediator: Mediator, keepalive: float = 15.0
    ) -> EventStreamResponse:
        return sse_response(mediator.stream(request), complete={}, keepalive_interval=keepalive)

    @app.api_route("/ticks", methods=["GET", "HEAD"], response_class=EventStreamResponse)
    async def ticks_get(tag: str, mediator: Mediator) -> EventStreamResponse:
        return sse_response(mediator.stream(Ticks(count=3, tag=tag)))

    @app.post("/endless", response_class=EventStreamResponse)
    async def endless(request: Endless, mediator: Mediator) -> EventStreamResponse:
        return sse_response(mediator.stream(request), keepalive_interval=0.05)

    @app.post("/failing", response_class=EventStreamResponse)
    async def failing(request: Failing, mediator: Mediator) -> EventStreamResponse:
        return sse_response(
            mediator.stream(request), start={"message": "go"}, complete={"message": "done"}
        )

    @app.post("/burst", response_class=EventStreamResponse)
    async def burst(request: Burst, mediator: Mediator) -> EventStreamResponse:
        return sse_response(mediator.stream(request), complete={})

    @app.post("/stamps", response_class=EventStreamResponse)
    async def stamps(request: Stamps, mediator: Mediator) -> EventStreamResponse:
        return sse_response(mediator.stream(request), event="stamp", retry=2500)

    return app


@pytest.fixture(scope="module")
def server(serve):
    FACTORY_CALLS.clear()
    streaming_mediator.reset()
    return serve(build_app())


@pytest.fixture(autouse=True)
def _reset() -> None:
    CONCURRENCY.reset()


async def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


# --- frames and headers ------------------------------------------------------------------


async def test_each_item_is_one_data_frame_with_an_id_then_complete(server, sse) -> None:
    async with (
        server.client() as client,
        client.stream("POST", "/ticks", json={"count": 3}) as response,
    ):
        assert response.status_code == 200
        frames = await sse.collect(response)

    assert [frame.id for frame in frames] == ["1", "2", "3", "4"]
    assert [frame.event for frame in frames] == [None, None, None, "complete"]
    assert [frame.data["n"] for frame in frames[:3]] == [0, 1, 2]
    assert frames[3].data == {}


async def test_the_response_tells_proxies_not_to_buffer(server) -> None:
    async with server.client() as client:
        response = await client.post("/ticks", json={"count": 1})

    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert "content-length" not in response.headers


async def test_dataclass_items_are_sent_as_their_to_dict(server, sse) -> None:
    async with (
        server.client() as client,
        client.stream("POST", "/stamps", json={"count": 2}) as response,
    ):
        body = await response.aread()
        frames = [frame async for frame in sse.read(_replay(body))]

    assert body.startswith(b"retry: 2500\n\n")
    assert [(frame.event, frame.data) for frame in frames if frame.raw_data] == [
        ("stamp", {"n": 0, "at": "2026-01-01T00:00:00Z"}),
        ("stamp", {"n": 1, "at": "2026-01-02T00:00:00Z"}),
    ]


def _replay(body: bytes) -> httpx.Response:
    return httpx.Response(200, content=body)


async def test_head_sends_the_headers_and_never_starts_the_handler(server) -> None:
    tag = uuid.uuid4().hex
    async with server.client() as client:
        head = await client.head("/ticks", params={"tag": tag})
        get = await client.get("/ticks", params={"tag": tag})

    assert head.status_code == 200
    assert head.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert head.content == b""
    assert get.text.count("data: ") == 3
    assert TICKS_STARTED[tag] == 1  # the GET only


# --- items arrive as they are produced --------------------------------------------------


async def test_items_arrive_as_they_are_produced_not_at_the_end(server, sse) -> None:
    delay, count = 0.25, 5
    async with (
        server.client() as client,
        client.stream("POST", "/ticks", json={"count": count, "delay": delay}) as response,
    ):
        items = [frame async for frame in sse.read(response) if frame.event is None]

    assert len(items) == count
    produced = [frame.data["produced_at"] for frame in items]
    # The first frame is in the client's hands about (count - 1) * delay before the
    # last item even exists: nothing is buffered until the end.
    assert items[0].received_at < produced[-1] - 2 * delay
    # Each frame arrives right after its item is produced.
    for frame, produced_at in zip(items, produced, strict=True):
        assert frame.received_at - produced_at < delay


async def test_keep_alive_comments_fill_idle_gaps_only(server, sse) -> None:
    async with server.client() as client:
        async with client.stream(
            "POST", "/ticks", params={"keepalive": 0.1}, json={"count": 2, "delay": 0.45}
        ) as response:
            idle = await sse.collect(response)
        async with client.stream(
            "POST", "/ticks", params={"keepalive": 0.4}, json={"count": 10, "delay": 0.1}
        ) as response:
            busy = await sse.collect(response)

    pings_before_first_item = 0
    for frame in idle:
        if frame.raw_data is not None:
            break
        assert frame.comments == ("keep-alive",)
        pings_before_first_item += 1
    assert pings_before_first_item >= 2
    assert [frame.data["n"] for frame in idle if frame.event is None and frame.raw_data] == [0, 1]
    # A stream that lasts longer than the interval but never falls silent for that
    # long gets no keep-alive at all: they fill silences, they are not a timer.
    assert len([frame for frame in busy if frame.event is None and frame.raw_data]) == 10
    assert not [frame for frame in busy if frame.is_comment]


# --- disconnects ------------------------------------------------------------------------


@pytest.mark.parametrize("idle", [True, False], ids=["idle-handler", "busy-handler"])
async def test_a_client_that_disconnects_stops_the_handler_within_a_second(
    server, sse, idle: bool
) -> None:
    tag = uuid.uuid4().hex
    finished = FINISHED[tag] = threading.Event()
    baseline = server.tasks()

    async with server.client() as client:
        async with (
            client.stream("POST", "/endless", json={"tag": tag, "idle": idle}) as response,
            contextlib.aclosing(sse.read(response)) as frames,
        ):
            first = await anext(frames)
            assert first.data["n"] == 0
        # Leaving the block closes the connection in the middle of the stream (the
        # handler never ends by itself: only closing its generator runs its finally).
        left_at = time.monotonic()

        assert await asyncio.to_thread(finished.wait, 1.0), "the handler's finally did not run"
        assert time.monotonic() - left_at < 1.0
        # No task of the request (the response's helpers, event workers, the ASGI
        # cycle itself) is left on the server's loop.
        assert await wait_until(lambda: server.tasks() <= baseline, timeout=1.0), (
            server.tasks() - baseline
        )


# The two ways a server reports a client that left, driven by hand (ASGI calls), so
# that the moment of the disconnect is exact.

HTTP_SCOPE = {"type": "http", "method": "POST", "asgi": {"version": "3.0", "spec_version": "2.4"}}


async def _counting(finished: list[str]) -> AsyncIterator[int]:
    try:
        n = 0
        while True:
            yield n
            n += 1
            await asyncio.sleep(0)
    finally:
        finished.append("finally")


async def test_a_disconnect_while_a_frame_is_being_sent_closes_the_handler_at_once() -> None:
    finished: list[str] = []
    sent: list[dict[str, Any]] = []
    left = asyncio.Event()
    ran_background: list[str] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if len(sent) == 3:  # headers, item 0, then a client that stops reading
            left.set()
            await asyncio.sleep(3600)

    async def receive() -> dict[str, Any]:
        await left.wait()
        return {"type": "http.disconnect"}

    async def after_the_response() -> None:  # runs before the loop runs anything else
        ran_background.extend(finished)

    response = sse_response(_counting(finished), keepalive_interval=None)
    response.background = BackgroundTask(after_the_response)
    await asyncio.wait_for(response(HTTP_SCOPE, receive, send), timeout=1)

    # The handler was suspended at its yield, not inside an await: it is closed before
    # the response returns, not later by the event loop's async generator finalizer.
    assert ran_background == ["finally"]
    assert [message["type"] for message in sent] == ["http.response.start"] + [
        "http.response.body"
    ] * 2


async def test_a_send_that_fails_because_the_client_left_ends_the_stream_quietly() -> None:
    finished: list[str] = []
    bodies: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            if len(bodies) == 2:
                msg = "the client went away"  # what ASGI 2.4 servers do
                raise OSError(msg)
            bodies.append(message["body"])

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # this server never reports the disconnect
        raise AssertionError

    async def after_the_response() -> None:
        closed_by_then.extend(finished)

    closed_by_then: list[str] = []
    response = sse_response(_counting(finished))
    response.background = BackgroundTask(after_the_response)
    await asyncio.wait_for(response(HTTP_SCOPE, receive, send), timeout=1)

    assert closed_by_then == ["finally"]
    assert bodies == [b"id: 1\ndata: 0\n\n", b"id: 2\ndata: 1\n\n"]


# --- errors -------------------------------------------------------------------------------


async def test_a_handler_that_raises_ends_the_stream_with_an_error_frame(
    server, sse, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    async with server.client() as client:
        async with client.stream("POST", "/failing", json={"before": 2}) as response:
            assert response.status_code == 200
            frames = await sse.collect(response)
        # The server goes on serving, on the same client.
        after = await client.post("/ticks", json={"count": 2})

    assert [(frame.event, frame.id) for frame in frames] == [
        ("start", "1"),
        (None, "2"),
        (None, "3"),
        ("error", "4"),
    ]
    assert frames[-1].data == {"detail": "Internal Server Error"}
    assert all("hunter2" not in (frame.raw_data or "") for frame in frames)

    logged = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [record.name for record in logged] == ["cqrs"]
    assert logged[0].exc_info is not None
    assert "hunter2" in str(logged[0].exc_info[1])

    assert after.status_code == 200
    assert after.text.count("data: ") == 3  # two items and the complete frame


async def test_error_payload_can_describe_expected_errors() -> None:
    async def failing() -> AsyncIterator[int]:
        yield 1
        msg = "quota exceeded"
        raise LookupError(msg)

    response = sse_response(
        failing(), error_payload=lambda error: {"detail": str(error), "kind": type(error).__name__}
    )
    frames = [frame async for frame in response.frames]

    assert frames[-1] == format_event(
        {"detail": "quota exceeded", "kind": "LookupError"}, event="error", event_id=2
    )


# --- many clients at once ---------------------------------------------------------------------

CLIENTS = 50
ITEMS = 5
EVENTS_PER_ITEM = 4


async def _run_bursts(server, sse) -> list[list[Any]]:
    async def one(client: httpx.AsyncClient, index: int) -> list[Any]:
        body = {"stream": f"s{index}", "count": ITEMS, "events_per_item": EVENTS_PER_ITEM}
        async with client.stream("POST", "/burst", json=body) as response:
            assert response.status_code == 200
            return await sse.collect(response)

    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    # 1,000 event handlers of 5 ms share 3 slots: at least 1.7 s of work, in which a
    # stream can wait long between two items on a loaded 2-core machine. The timeout
    # only guards against a hang; nothing here is timed.
    async with server.client(limits=limits, timeout=httpx.Timeout(60.0)) as client:
        return await asyncio.gather(*(one(client, index) for index in range(CLIENTS)))


async def test_fifty_concurrent_clients_each_receive_their_complete_stream(server, sse) -> None:
    streams = await _run_bursts(server, sse)

    for frames in streams:
        assert [frame.id for frame in frames] == [str(n) for n in range(1, ITEMS + 2)]
        assert [frame.data["n"] for frame in frames[:ITEMS]] == list(range(ITEMS))
        assert frames[-1].event == "complete"
    assert CONCURRENCY.handled == CLIENTS * ITEMS * EVENTS_PER_ITEM
    # Within each stream, the mediator's limit holds.
    assert len(CONCURRENCY.peak_per_stream) == CLIENTS
    assert max(CONCURRENCY.peak_per_stream.values()) <= EVENT_HANDLER_LIMIT


async def test_the_event_handler_limit_holds_across_concurrent_streams(server, sse) -> None:
    await _run_bursts(server, sse)

    assert CONCURRENCY.peak <= EVENT_HANDLER_LIMIT


def test_the_mediator_was_built_once_for_all_requests(server) -> None:
    assert FACTORY_CALLS["sse"] == 1


# --- the pieces, without a server ----------------------------------------------------------


def test_format_event_encodes_one_json_line() -> None:
    assert format_event({"text": "two\nlines"}, event="note", event_id=7) == (
        b'id: 7\nevent: note\ndata: {"text":"two\\nlines"}\n\n'
    )
    assert format_event("plain") == b'data: "plain"\n\n'


@pytest.mark.parametrize("event", ["a\nb", "a\rb"])
def test_event_names_must_be_one_line(event: str) -> None:
    with pytest.raises(InvalidConfigurationError, match="one line"):
        format_event({}, event=event)
    with pytest.raises(InvalidConfigurationError, match="one line"):
        sse_response(_nothing(), event=event)


async def _nothing() -> AsyncIterator[int]:
    return
    yield


# --- naming the item frames (`event=`) ---------------------------------------------------


async def _ticks(count: int, closed: list[str] | None = None) -> AsyncIterator[Tick]:
    try:
        for n in range(count):
            yield Tick(n=n, produced_at=0.0)
    finally:
        if closed is not None:
            closed.append("closed")


async def _body(response: EventStreamResponse) -> bytes:
    return b"".join([frame async for frame in response.frames])


async def test_item_frames_are_unnamed_by_default() -> None:
    body = await _body(sse_response(_ticks(2), start={}, complete={}))

    assert body == (
        b"id: 1\nevent: start\ndata: {}\n\n"
        b'id: 2\ndata: {"n":0,"produced_at":0.0}\n\n'
        b'id: 3\ndata: {"n":1,"produced_at":0.0}\n\n'
        b"id: 4\nevent: complete\ndata: {}\n\n"
    )


async def test_a_str_event_names_every_item_frame_and_only_those() -> None:
    body = await _body(sse_response(_ticks(2), event="progress", start={}, complete={}))

    assert body == (
        b"id: 1\nevent: start\ndata: {}\n\n"
        b'id: 2\nevent: progress\ndata: {"n":0,"produced_at":0.0}\n\n'
        b'id: 3\nevent: progress\ndata: {"n":1,"produced_at":0.0}\n\n'
        b"id: 4\nevent: complete\ndata: {}\n\n"
    )


async def test_a_callable_event_names_each_item_frame_from_its_item() -> None:
    response = sse_response(
        _ticks(3), event=lambda tick: None if tick.n == 1 else f"tick-{tick.n}", complete={}
    )

    assert await _body(response) == (
        b'id: 1\nevent: tick-0\ndata: {"n":0,"produced_at":0.0}\n\n'
        b'id: 2\ndata: {"n":1,"produced_at":0.0}\n\n'  # None: unnamed, a `message`
        b'id: 3\nevent: tick-2\ndata: {"n":2,"produced_at":0.0}\n\n'
        b"id: 4\nevent: complete\ndata: {}\n\n"
    )


def _raises(tick: Tick) -> str:
    raise KeyError(tick.n)


@pytest.mark.parametrize(
    ("namer", "logged"),
    [
        (_raises, "KeyError"),
        (lambda tick: f"line\n{tick.n}", "one line"),
        (lambda tick: tick.n, "must return a str or None"),
    ],
    ids=["raises", "line-break", "not-a-str"],
)
async def test_a_failing_event_callable_ends_the_stream_with_the_error_frame(
    namer: Any, logged: str, caplog: pytest.LogCaptureFixture
) -> None:
    closed: list[str] = []
    response = sse_response(_ticks(3, closed), event=namer, complete={})

    frames = [frame async for frame in response.frames]

    assert frames == [format_event({"detail": "Internal Server Error"}, event="error", event_id=1)]
    assert closed == ["closed"]  # the handler's generator was closed at once
    [record] = [record for record in caplog.records if record.name == "cqrs"]
    assert record.exc_info is not None
    assert logged in f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"


@pytest.mark.parametrize("event", [5, b"progress", ["progress"]])
def test_event_must_be_a_str_a_callable_or_none(event: Any) -> None:
    with pytest.raises(InvalidConfigurationError, match="event must be a str, a callable"):
        sse_response(_nothing(), event=event)


@pytest.mark.parametrize("interval", [0, -1, float("nan"), float("inf"), True])
def test_keepalive_interval_must_be_positive(interval: Any) -> None:
    with pytest.raises(InvalidConfigurationError, match="keepalive_interval"):
        sse_response(_nothing(), keepalive_interval=interval)


def test_retry_must_not_be_negative() -> None:
    with pytest.raises(InvalidConfigurationError, match="retry"):
        sse_response(_nothing(), retry=-1)


def test_jsonable_prefers_model_dump_then_to_dict_then_asdict() -> None:
    @dataclasses.dataclass
    class Plain:
        at: datetime.date

    class WithToDict:
        def to_dict(self) -> dict[str, Any]:
            return {"from": "to_dict"}

    assert jsonable(Tick(n=1, produced_at=0.5)) == {"n": 1, "produced_at": 0.5}
    assert jsonable(WithToDict()) == {"from": "to_dict"}
    assert jsonable(Plain(at=datetime.date(2026, 1, 2))) == {"at": datetime.date(2026, 1, 2)}
    assert format_event(Plain(at=datetime.date(2026, 1, 2))) == b'data: {"at":"2026-01-02"}\n\n'
    assert jsonable([1, "a"]) == [1, "a"]
    assert jsonable(Plain) is Plain  # a dataclass type is not an instance


def test_user_headers_win_over_the_defaults() -> None:
    response = sse_response(_nothing(), headers={"cache-control": "no-store", "X-Extra": "1"})

    assert response.headers.getlist("cache-control") == ["no-store"]
    assert response.headers["x-extra"] == "1"
    assert response.headers["x-accel-buffering"] == "no"


def test_importing_cqrs_does_not_import_fastapi() -> None:
    code = (
        "import sys, cqrs, cqrs.integrations, cqrs.requests.bootstrap\n"
        "loaded = sorted(m for m in ('fastapi', 'starlette') if m in sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


# --- MediatorProvider -------------------------------------------------------------------------


class _Thing:
    pass


def test_provider_builds_once_and_reset_builds_again() -> None:
    calls = []

    def factory() -> _Thing:
        calls.append(1)
        return _Thing()

    provider = MediatorProvider(factory)
    assert "not built yet" in repr(provider)
    first = provider.get()
    assert provider.get() is first
    assert "built" in repr(provider)
    provider.reset()
    assert provider.get() is not first
    assert len(calls) == 2


def test_provider_builds_once_under_threads() -> None:
    calls = []
    barrier = threading.Barrier(8)

    def factory() -> _Thing:
        calls.append(1)
        time.sleep(0.05)
        return _Thing()

    provider = MediatorProvider(factory)
    results: list[_Thing] = []

    def use() -> None:
        barrier.wait()
        results.append(provider.get())

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert all(result is results[0] for result in results)


async def test_provider_gives_every_request_the_same_mediator_and_can_be_overridden() -> None:
    calls = []

    @MediatorProvider
    def mediator() -> cqrs.RequestMediator:
        calls.append(1)
        return bootstrap.bootstrap(di_container=di.Container())

    app = fastapi.FastAPI()

    @app.get("/id")
    async def which(
        mediator: cqrs.RequestMediator = fastapi.Depends(mediator),  # noqa: B008, FAST002 - the seed's spelling
    ) -> int:
        return id(mediator)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        ids = {
            response.json()
            for response in await asyncio.gather(*(client.get("/id") for _ in range(20)))
        }
        assert ids == {id(mediator.get())}
        assert len(calls) == 1

        replacement = bootstrap.bootstrap(di_container=di.Container())
        app.dependency_overrides[mediator] = lambda: replacement
        assert (await client.get("/id")).json() == id(replacement)
