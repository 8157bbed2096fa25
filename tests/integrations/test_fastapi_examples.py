"""The FastAPI examples run and do what their docstrings promise.

`examples/fastapi_sse.py` and `examples/fastapi_commands.py` are served by a real
uvicorn server; the SSE example is also started the way the README says,
`uvicorn examples.fastapi_sse:app`, in a subprocess.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
FILES = ["orders.csv", "customers.csv", "invoices.csv"]


def _load(name: str) -> Iterator[ModuleType]:
    # Loaded from its path, under a private name, and registered so that pydantic and
    # FastAPI resolve the example's annotations in its own namespace.
    module_name = f"_example_{name}"
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[module_name]


@pytest.fixture(scope="module")
def sse_example() -> Iterator[ModuleType]:
    yield from _load("fastapi_sse")


@pytest.fixture(scope="module")
def commands_example() -> Iterator[ModuleType]:
    yield from _load("fastapi_commands")


# --- examples/fastapi_sse.py ---------------------------------------------------------


async def test_sse_example_streams_each_file_then_publishes_a_notification(
    serve, sse, sse_example
) -> None:
    server = serve(sse_example.app)
    async with server.client() as client:
        async with client.stream("POST", "/process-files", json={"file_names": FILES}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            frames = await sse.collect(response)
        published = (await client.get("/published")).json()

    assert [frame.event for frame in frames] == ["start", *["progress"] * 3, "complete"]
    assert [frame.id for frame in frames] == ["1", "2", "3", "4", "5"]
    assert frames[0].data == {"message": "Processing..."}
    assert [frame.data["file_name"] for frame in frames[1:4]] == FILES
    assert [frame.data["lines"] for frame in frames[1:4]] == [len(name) for name in FILES]
    assert frames[4].data == {"message": "Done"}
    # The items arrive one step apart, as the handler produces them.
    gaps = [b.received_at - a.received_at for a, b in itertools.pairwise(frames[1:4])]
    assert all(gap > sse_example.STEP_DELAY / 2 for gap in gaps), gaps

    assert [message["message_name"] for message in published] == ["FilesImported"]
    assert published[0]["topic"] == "imports"
    assert published[0]["payload"]["payload"] == {"files": 3, "lines": sum(map(len, FILES))}


async def test_sse_example_streams_the_same_command_over_get_for_event_source(
    serve, sse, sse_example
) -> None:
    server = serve(sse_example.app)
    files = ["a b.csv", "c&d.csv"]
    async with server.client() as client:
        published_before = len(sse_example.broker.messages)
        async with client.stream(
            "GET",
            "/process-files",
            params=[("files", name) for name in files],
            headers={"Accept": "text/event-stream"},  # what EventSource sends
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            frames = await sse.collect(response)
        without_files = await client.get("/process-files")
        page = await client.get("/")
        published = (await client.get("/published")).json()[published_before:]

    assert [frame.event for frame in frames] == ["start", "progress", "progress", "complete"]
    assert [frame.data["file_name"] for frame in frames[1:3]] == files
    assert [message["payload"]["payload"] for message in published] == [
        {"files": 2, "lines": sum(map(len, files))}
    ]
    assert without_files.status_code == 422
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "new EventSource(" in page.text
    assert "fetch(" in page.text


def test_sse_example_documents_an_event_stream(sse_example) -> None:
    paths = sse_example.app.openapi()["paths"]

    for method in ("post", "get"):
        responses = paths["/process-files"][method]["responses"]
        assert list(responses["200"]["content"]) == ["text/event-stream"], method
    assert "/" not in paths  # the browser page is not part of the API


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sse_example_starts_with_the_uvicorn_command_from_the_readme(sse) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "uvicorn", "examples.fastapi_sse:app", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = None
        deadline = time.monotonic() + 15
        while body is None:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the example did not start in time"
            try:
                with httpx.stream(
                    "POST",
                    f"http://127.0.0.1:{port}/process-files",
                    json={"file_names": FILES[:2]},
                    timeout=10,
                ) as response:
                    body = response.read().decode()
            except httpx.ConnectError:
                time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C, as a person stops it
        stdout, stderr = process.communicate(timeout=15)

    assert body.count("\ndata: ") + body.startswith("data: ") == 4, body
    assert "event: complete" in body
    # (The exit code after Ctrl-C differs between uvicorn versions: 0, or 1 with
    # "Aborted!"; what matters is a clean shutdown.)
    assert "Application startup complete" in stderr, (stdout, stderr)
    assert "Finished server process" in stderr, (stdout, stderr)
    assert "Traceback" not in stderr, stderr


# --- examples/fastapi_commands.py ------------------------------------------------------


async def test_commands_example_creates_and_reads_users(
    serve, commands_example, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="examples.fastapi_commands")
    server = serve(commands_example.app)
    async with server.client() as client:
        created = await client.post("/users", json={"name": "Ada", "email": "ada@example.com"})
        second = await client.post("/users", json={"name": "Alan", "email": "alan@example.com"})
        found = await client.get("/users/1")
        missing = await client.get("/users/99")
        invalid = await client.post("/users", json={"name": "No email"})

    assert (created.status_code, created.json()) == (201, {"user_id": 1})
    assert second.json() == {"user_id": 2}
    assert (found.status_code, found.json()) == (
        200,
        {"user_id": 1, "name": "Ada", "email": "ada@example.com"},
    )
    assert (missing.status_code, missing.json()) == (404, {"detail": "no user 99"})
    assert invalid.status_code == 422
    # The domain event of each command was handled before its response was sent.
    assert [record.getMessage() for record in caplog.records] == [
        "welcome email to ada@example.com",
        "welcome email to alan@example.com",
    ]


def test_commands_example_documents_the_declared_response_types(commands_example) -> None:
    schema = commands_example.app.openapi()
    create = schema["paths"]["/users"]["post"]
    get = schema["paths"]["/users/{user_id}"]["get"]

    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CreateUser"
    }
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/UserCreated"
    }
    assert get["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/UserDTO"
    }
