"""A real uvicorn server on 127.0.0.1 and a Server-Sent Events reader for the tests.

`serve(app)` starts uvicorn in a background thread, on its own event loop, on a socket
bound to an ephemeral port; the servers a module started are stopped when it ends.
uvicorn and httpx are imported lazily, so this file loads without them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx
    import uvicorn

STARTUP_TIMEOUT = 10.0


@dataclasses.dataclass(frozen=True)
class Frame:
    """One event of an SSE stream (or a comment-only block, whose `data` is None)."""

    event: str | None
    id: str | None
    raw_data: str | None
    comments: tuple[str, ...]
    received_at: float

    @property
    def data(self) -> Any:
        assert self.raw_data is not None, f"frame without data: {self}"
        return json.loads(self.raw_data)

    @property
    def is_comment(self) -> bool:
        return self.raw_data is None and self.event is None and self.id is None


async def read_frames(response: httpx.Response) -> AsyncIterator[Frame]:
    """Parse the body of an SSE response frame by frame, as the lines arrive."""
    fields: dict[str, list[str]] = {}
    comments: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if fields or comments:
                yield Frame(
                    event=fields.get("event", [None])[-1],
                    id=fields.get("id", [None])[-1],
                    raw_data="\n".join(fields["data"]) if "data" in fields else None,
                    comments=tuple(comments),
                    received_at=time.monotonic(),
                )
            fields, comments = {}, []
        elif line.startswith(":"):
            comments.append(line[1:].strip())
        else:
            name, _, value = line.partition(":")
            fields.setdefault(name, []).append(value.removeprefix(" "))


async def collect_frames(response: httpx.Response) -> list[Frame]:
    return [frame async for frame in read_frames(response)]


@dataclasses.dataclass
class LiveServer:
    """A uvicorn server running an app in a background thread."""

    base_url: str
    loop: asyncio.AbstractEventLoop
    server: uvicorn.Server
    thread: threading.Thread

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        import httpx

        kwargs.setdefault("timeout", httpx.Timeout(10.0))
        return httpx.AsyncClient(base_url=self.base_url, **kwargs)

    def tasks(self) -> frozenset[asyncio.Task[Any]]:
        """The tasks alive on the server's loop (except the one asking)."""

        async def alive() -> frozenset[asyncio.Task[Any]]:
            current = asyncio.current_task()
            return frozenset(task for task in asyncio.all_tasks() if task is not current)

        return asyncio.run_coroutine_threadsafe(alive(), self.loop).result(timeout=5)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "uvicorn did not stop"


@contextlib.contextmanager
def running(app: Any) -> Iterator[LiveServer]:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,  # leave the test process's logging alone
        log_level="warning",
        ws="none",
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    loop = asyncio.new_event_loop()
    crashed: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.serve(sockets=[sock]))
            loop.run_until_complete(loop.shutdown_asyncgens())
        except BaseException as error:
            crashed.append(error)
            raise
        finally:
            loop.close()

    thread = threading.Thread(target=run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        assert thread.is_alive(), f"uvicorn failed to start: {crashed}"
        assert time.monotonic() < deadline, "uvicorn did not start in time"
        time.sleep(0.01)
    live = LiveServer(f"http://127.0.0.1:{port}", loop, server, thread)
    try:
        yield live
    finally:
        live.stop()
        sock.close()
        assert not crashed, crashed


@pytest.fixture(scope="module")
def serve() -> Iterator[Callable[[Any], LiveServer]]:
    """Start `app` on a real uvicorn server; stopped when the module's tests end."""
    with contextlib.ExitStack() as stack:
        yield lambda app: stack.enter_context(running(app))


class SSE:
    """The reader, as a fixture (test modules cannot import this conftest)."""

    read = staticmethod(read_frames)
    collect = staticmethod(collect_frames)


@pytest.fixture(scope="session")
def sse() -> SSE:
    return SSE()
