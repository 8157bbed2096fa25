"""`FastStreamMessageBroker` over MQTT (Mosquitto), read back with `mosquitto_sub`."""

from __future__ import annotations

import asyncio
import json
import shutil
from typing import Any

import di
import pytest
from faststream.mqtt import MQTTBroker
from tests.conftest import require_service, unavailable

import cqrs
from cqrs.exceptions import MessageBrokerError
from cqrs.message_brokers.faststream import FastStreamMessageBroker
from cqrs.requests import bootstrap


class Payload(cqrs.Response):
    n: int


class Measured(cqrs.NotificationEvent[Payload], frozen=True):
    pass


class Measure(cqrs.Request[None]):
    topic: str
    n: int


class MeasureHandler(cqrs.RequestHandler[Measure, None]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> list[cqrs.IEvent]:
        return self._events

    async def handle(self, request: Measure) -> None:
        self._events.append(
            Measured(event_name="measured", topic=request.topic, payload=Payload(n=request.n))
        )


@pytest.fixture
def mosquitto() -> str:
    require_service("mosquitto")
    client = shutil.which("mosquitto_sub")
    if client is None:
        unavailable("mosquitto_sub is not installed (Debian package mosquitto-clients)")
    return client


async def _subscribe(client: str, topic: str) -> asyncio.subprocess.Process:
    """Start `mosquitto_sub` for one message and wait until the broker granted the topic."""
    # stdbuf: mosquitto_sub block-buffers stdout into a pipe; -d prints the SUBACK.
    process = await asyncio.create_subprocess_exec(
        *(["stdbuf", "-oL"] if shutil.which("stdbuf") else []),
        client,
        "-h",
        "127.0.0.1",
        "-V",
        "mqttv5",
        "-q",
        "1",
        "-t",
        topic,
        "-C",
        "1",
        "-W",
        "20",
        "-F",
        "%j",
        "-d",
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    stdout = process.stdout

    async def granted() -> None:
        while b"SUBACK" not in await stdout.readline():
            pass

    await asyncio.wait_for(granted(), 10)
    return process


async def _received(process: asyncio.subprocess.Process) -> dict[str, Any]:
    assert process.stdout is not None
    output = await asyncio.wait_for(process.stdout.read(), 20)
    await asyncio.wait_for(process.wait(), 5)
    lines = [line for line in output.decode().splitlines() if line.startswith("{")]
    assert len(lines) == 1, output
    return json.loads(lines[0])


async def test_an_event_published_through_the_mediator_arrives_with_the_wire_headers(
    mosquitto: str, unique: str
) -> None:
    topic = f"cqrs/{unique}"
    listener = await _subscribe(mosquitto, topic)
    broker = MQTTBroker("127.0.0.1", port=1883)
    await broker.connect()
    try:
        mediator = bootstrap.bootstrap(
            di_container=di.Container(),
            commands_mapper=lambda mapper: mapper.bind(Measure, MeasureHandler),
            message_broker=FastStreamMessageBroker(broker, publish_timeout=5),
            propagate_event_errors=True,
        )
        await mediator.send(Measure(topic=topic, n=7))
        received = await _received(listener)
    finally:
        await broker.stop()

    # mosquitto_sub's %j: the payload as a string, user properties as an object
    body = json.loads(received["payload"])
    assert body["payload"] == {"n": 7}
    assert body["event_name"] == "measured"
    properties = received["properties"]["user-properties"]
    assert properties["cqrs-message-name"] == "Measured"
    assert properties["cqrs-message-id"] == body["event_id"]
    assert properties["content-type"] == "application/json"
    assert received["qos"] == 1


async def test_a_broker_that_is_not_connected_is_reported(mosquitto: str, unique: str) -> None:
    broker = MQTTBroker("127.0.0.1", port=1883)  # never connected
    publisher = FastStreamMessageBroker(broker, publish_timeout=2)
    message = cqrs.message_brokers.Message(
        message_name="Measured", topic=f"cqrs/{unique}", payload={}
    )

    with pytest.raises(MessageBrokerError, match="MQTTBroker"):
        await publisher.send_message(message)
