"""The RabbitMQ examples scale a service out, as their docstrings say, on a real RabbitMQ.

`examples/fastapi_rabbitmq.py` runs under uvicorn (`python -m uvicorn
examples.fastapi_rabbitmq:app`, on an ephemeral port) and streams a command; then
`examples/faststream_consumer.py` starts (as `python examples/faststream_consumer.py`,
and as `faststream run examples.faststream_consumer:app`) and handles the three events
that waited in the durable queue. Each test has its own queue (`CQRS_EXAMPLE_TOPIC`),
deleted afterwards with its dead-letter queue. Needs RabbitMQ on 127.0.0.1:5672:
skipped without it, failed under CQRS_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("faststream.rabbit")
aio_pika = pytest.importorskip("aio_pika")
httpx = pytest.importorskip("httpx")

ROOT = Path(__file__).resolve().parents[2]
FILES = ["orders.csv", "customers.csv", "invoices.csv"]
STARTUP_TIMEOUT = 20.0
CONSUME_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0

CONSUMERS = {
    "script": [sys.executable, "examples/faststream_consumer.py"],
    "faststream-cli": [
        sys.executable,
        "-m",
        "faststream",
        "run",
        "examples.faststream_consumer:app",
    ],
}


class Service:
    """An example running in a subprocess, its output going to files the test reads."""

    def __init__(self, command: list[str], env: dict[str, str], logs: Path) -> None:
        self.stdout_path = logs.with_suffix(".stdout")
        self.stderr_path = logs.with_suffix(".stderr")
        with self.stdout_path.open("w") as stdout, self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
                command, cwd=ROOT, env=env, stdout=stdout, stderr=stderr, text=True
            )

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def output(self) -> str:
        return f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"

    def wait_for(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            assert self.process.poll() is None, f"exited before {what}:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {what} within {timeout} s:\n{self.output()}"
            time.sleep(0.05)

    def interrupt(self) -> int:
        """Ctrl-C, as a person stops it; killed if it does not stop in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)
            pytest.fail(f"did not stop within {STOP_TIMEOUT} s of SIGINT:\n{self.output()}")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Callable[[str, list[str], dict[str, str]], Service]]:
    started: list[Service] = []

    def start(name: str, command: list[str], env: dict[str, str]) -> Service:
        service = Service(command, env, tmp_path / name)
        started.append(service)
        return service

    yield start
    for service in started:  # normally stopped by the test already
        if service.process.poll() is None:
            service.process.kill()
            service.process.wait(timeout=STOP_TIMEOUT)


async def _queue_depths(url: str, *names: str, delete: bool = False) -> dict[str, int | None]:
    """Messages ready in each queue (None: no such queue); deleted after, if asked."""
    depths: dict[str, int | None] = {}
    connection = await aio_pika.connect(url, timeout=10)
    async with connection:
        for name in names:
            channel = await connection.channel()  # a failed passive declare closes it
            try:
                queue = await channel.declare_queue(name, passive=True)
            except aio_pika.exceptions.ChannelNotFoundEntity:
                depths[name] = None
                continue
            depths[name] = queue.declaration_result.message_count
            if delete:
                await channel.queue_delete(name)
            await channel.close()
    return depths


def queue_depths(url: str, *names: str) -> dict[str, int | None]:
    return asyncio.run(_queue_depths(url, *names))


@pytest.fixture
def topic(rabbitmq_url: str, unique: str) -> Iterator[str]:
    """A queue of this test's own (and its dead-letter queue), deleted afterwards."""
    yield unique
    asyncio.run(_queue_depths(rabbitmq_url, unique, f"{unique}.dead-letter", delete=True))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stream(port: int, file_names: list[str]) -> list[dict[str, Any]]:
    """POST the command and read the SSE stream to its end: one dict per frame."""
    with httpx.stream(
        "POST",
        f"http://127.0.0.1:{port}/process-files",
        json={"file_names": file_names},
        timeout=10,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        body = response.read().decode()
    frames: list[dict[str, Any]] = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            frames.append({"event": fields.get("event"), "data": json.loads(fields["data"])})
    return frames


def _processed_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("processed ")]


@pytest.mark.parametrize("consumer", list(CONSUMERS))
def test_the_consumer_handles_each_file_the_app_streamed(
    consumer: str, services, topic: str, rabbitmq_url: str
) -> None:
    if consumer == "faststream-cli" and importlib.util.find_spec("typer") is None:
        pytest.skip('the faststream CLI needs its extra: pip install "faststream[cli]"')
    env = {
        **os.environ,
        "CQRS_RABBITMQ_URL": rabbitmq_url,
        "CQRS_EXAMPLE_TOPIC": topic,
        "PYTHONUNBUFFERED": "1",
    }
    dead_letter = f"{topic}.dead-letter"

    # 1. The app streams three files; no consumer runs yet.
    port = _free_port()
    app = services(
        "app",
        [sys.executable, "-m", "uvicorn", "examples.fastapi_rabbitmq:app", "--port", str(port)],
        env,
    )
    app.wait_for(lambda: "Application startup complete" in app.stderr, STARTUP_TIMEOUT, "start")
    frames = _stream(port, FILES)

    assert [frame["event"] for frame in frames] == ["start", None, None, None, "complete"]
    assert [frame["data"]["file_name"] for frame in frames[1:4]] == FILES
    # Every event was confirmed by RabbitMQ before its frame was sent: all three wait
    # in the durable queue the app declared.
    assert queue_depths(rabbitmq_url, topic) == {topic: len(FILES)}

    # 2. A consumer starts and handles exactly those three events.
    worker = services(consumer, CONSUMERS[consumer], env)
    worker.wait_for(
        lambda: len(_processed_lines(worker.stdout)) >= len(FILES),
        STARTUP_TIMEOUT + CONSUME_TIMEOUT,
        "three processed files",
    )
    time.sleep(0.5)  # room for a wrong fourth event to show up
    worker_code = worker.interrupt()
    app.interrupt()  # its exit code after Ctrl-C differs between uvicorn versions

    assert sorted(_processed_lines(worker.stdout)) == sorted(
        f"processed {name} ({len(name)} lines)" for name in FILES
    ), worker.output()
    # Each was acked (none back in the queue), and none failed into the dead letter.
    assert queue_depths(rabbitmq_url, topic, dead_letter) == {topic: 0, dead_letter: 0}
    assert "FastStream app shut down gracefully" in worker.stderr, worker.output()
    assert "Traceback" not in worker.stderr, worker.output()
    assert "ERROR" not in worker.stderr, worker.output()
    assert worker_code == 0, worker.output()
    assert "Finished server process" in app.stderr, app.output()
    assert "Traceback" not in app.stderr, app.output()
