"""The wire format (`cqrs.message_brokers.wire`): `encode`, `header_text`, `MessageRegistry`.

No broker is involved: these tests pin the bytes and headers every broker adapter sends,
and the way a consumer turns them back into events.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import uuid
from collections.abc import Sequence
from typing import Any

import di
import pydantic
import pydantic_core
import pytest

import cqrs
from cqrs.exceptions import InvalidConfigurationError, MessageDecodeError
from cqrs.message_brokers.protocol import Message
from cqrs.message_brokers.wire import (
    CONTENT_TYPE,
    HEADER_MESSAGE_ID,
    HEADER_MESSAGE_NAME,
    HEADER_TIMESTAMP,
    HEADER_WIRE_VERSION,
    WIRE_VERSION,
    MessageRegistry,
    encode,
    header_text,
)
from cqrs.requests import bootstrap

# --- the events ---------------------------------------------------------------------

ORDER_ID = uuid.UUID("0b7c6c57-3f8e-4a3e-9d1f-2f6c1f2f9a10")
EVENT_ID = uuid.UUID("5f0d5c7e-8a47-4c1b-b0a4-8f0b8c3d9e21")
PLACED_AT = datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.timezone.utc)
EVENT_AT = datetime.datetime(2026, 1, 2, 3, 4, 6, tzinfo=datetime.timezone.utc)


class Address(pydantic.BaseModel):
    city: str
    zip_code: str


class OrderPlacedPayload(pydantic.BaseModel):
    order_id: uuid.UUID
    placed_at: datetime.datetime
    address: Address
    lines: list[int]


class OrderPlaced(cqrs.NotificationEvent[OrderPlacedPayload], frozen=True):
    pass


class OrderCancelled(cqrs.NotificationEvent[dict[str, int]], frozen=True):
    pass


@dataclasses.dataclass(frozen=True)
class DCAddress:
    city: str
    zip_code: str


@dataclasses.dataclass(frozen=True)
class DCShippedPayload:
    order_id: uuid.UUID
    shipped_at: datetime.datetime
    address: DCAddress


@dataclasses.dataclass(frozen=True, kw_only=True)
class DCOrderShipped(cqrs.DCNotificationEvent[DCShippedPayload]):
    pass


class NotAnEvent(cqrs.Response):
    value: int


def placed() -> OrderPlaced:
    return OrderPlaced(
        event_id=EVENT_ID,
        event_timestamp=EVENT_AT,
        event_name="order.placed",
        topic="orders",
        payload=OrderPlacedPayload(
            order_id=ORDER_ID,
            placed_at=PLACED_AT,
            address=Address(city="Oslo", zip_code="0150"),
            lines=[1, 2, 3],
        ),
    )


def shipped() -> DCOrderShipped:
    return DCOrderShipped(
        event_id=EVENT_ID,
        event_timestamp=EVENT_AT,
        event_name="order.shipped",
        topic="shipments",
        payload=DCShippedPayload(
            order_id=ORDER_ID,
            shipped_at=PLACED_AT,
            address=DCAddress(city="Oslo", zip_code="0150"),
        ),
    )


def message_of(event: cqrs.INotificationEvent[Any]) -> Message:
    """The `Message` the event emitter builds for a notification event."""
    return Message(
        message_name=type(event).__name__,
        message_id=event.event_id,
        topic=event.topic,
        payload=event.to_dict(),
    )


# --- encode ---------------------------------------------------------------------------


def test_encode_pydantic_event_body_is_the_json_of_to_dict() -> None:
    event = placed()
    wire = encode(message_of(event))
    assert wire.body == pydantic_core.to_json(event.to_dict())
    assert json.loads(wire.body) == {
        "event_id": str(EVENT_ID),
        "event_timestamp": "2026-01-02T03:04:06Z",
        "event_name": "order.placed",
        "topic": "orders",
        "payload": {
            "order_id": str(ORDER_ID),
            "placed_at": "2026-01-02T03:04:05.678901Z",
            "address": {"city": "Oslo", "zip_code": "0150"},
            "lines": [1, 2, 3],
        },
    }
    # The same document pydantic itself writes for the event.
    assert json.loads(wire.body) == json.loads(event.model_dump_json())


def test_encode_dataclass_event_body_is_the_json_of_to_dict() -> None:
    event = shipped()
    data = event.to_dict()
    # A dataclass's to_dict keeps Python objects; the wire turns them into JSON.
    assert data["event_id"] == EVENT_ID
    wire = encode(message_of(event))
    assert wire.body == pydantic_core.to_json(data)
    assert json.loads(wire.body) == {
        "event_id": str(EVENT_ID),
        "event_timestamp": "2026-01-02T03:04:06Z",
        "event_name": "order.shipped",
        "topic": "shipments",
        "payload": {
            "order_id": str(ORDER_ID),
            "shipped_at": "2026-01-02T03:04:05.678901Z",
            "address": {"city": "Oslo", "zip_code": "0150"},
        },
    }


@pytest.mark.parametrize("event", [placed(), shipped()], ids=["pydantic", "dataclass"])
def test_encode_headers_and_message_id(event: cqrs.INotificationEvent[Any]) -> None:
    before = datetime.datetime.now(datetime.timezone.utc)
    wire = encode(message_of(event))
    after = datetime.datetime.now(datetime.timezone.utc)

    assert wire.topic == event.topic
    assert wire.message_id == str(EVENT_ID)
    assert wire.message_name == type(event).__name__
    assert wire.content_type == CONTENT_TYPE == "application/json"
    assert before <= wire.timestamp <= after
    assert wire.timestamp.utcoffset() == datetime.timedelta(0)
    assert dict(wire.headers) == {
        "content-type": "application/json",
        HEADER_MESSAGE_NAME: type(event).__name__,
        HEADER_MESSAGE_ID: str(EVENT_ID),
        HEADER_TIMESTAMP: wire.timestamp.isoformat(),
        HEADER_WIRE_VERSION: WIRE_VERSION,
    }
    assert (HEADER_MESSAGE_NAME, HEADER_MESSAGE_ID, HEADER_TIMESTAMP, HEADER_WIRE_VERSION) == (
        "cqrs-message-name",
        "cqrs-message-id",
        "cqrs-timestamp",
        "cqrs-wire-version",
    )
    assert WIRE_VERSION == "1"
    assert datetime.datetime.fromisoformat(wire.headers[HEADER_TIMESTAMP]) == wire.timestamp
    assert all(isinstance(value, str) for value in wire.headers.values())


def test_encode_is_a_fresh_timestamp_but_the_same_body_each_time() -> None:
    message = message_of(placed())
    first, second = encode(message), encode(message)
    assert first.body == second.body
    assert first.message_id == second.message_id
    assert second.timestamp >= first.timestamp


class RecordingBroker:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def send_message(self, message: Message, /) -> None:
        self.messages.append(message)


class Place(cqrs.Request[None]):
    pass


class PlaceHandler(cqrs.RequestHandler[Place, None]):
    def __init__(self) -> None:
        self._events: list[cqrs.IEvent] = []

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return self._events

    async def handle(self, request: Place) -> None:
        self._events += [placed(), shipped()]


async def test_the_emitter_hands_the_broker_what_encode_expects() -> None:
    # The Message built by the mediator's emitter is the one the tests above encode.
    broker = RecordingBroker()

    def commands(mapper: cqrs.RequestMap) -> None:
        mapper.bind(Place, PlaceHandler)

    mediator = bootstrap.bootstrap(
        di_container=di.Container(),
        commands_mapper=commands,
        message_broker=broker,
        propagate_event_errors=True,
    )
    await mediator.send(Place())
    assert broker.messages == [message_of(placed()), message_of(shipped())]
    assert [encode(m).body for m in broker.messages] == [
        encode(message_of(placed())).body,
        encode(message_of(shipped())).body,
    ]


# --- header_text ---------------------------------------------------------------------


def test_header_text_decodes_bytes_keeps_text_and_drops_none() -> None:
    headers: dict[str, object] = {
        "Content-Type": b"application/json",
        "CQRS-Message-Name": bytearray(b"OrderPlaced"),
        "cqrs-message-id": str(EVENT_ID),
        "X-Retries": 3,
        "x-missing": None,
        "x-bad": b"\xff\xfeok",
    }
    assert header_text(headers) == {
        "content-type": "application/json",
        "cqrs-message-name": "OrderPlaced",
        "cqrs-message-id": str(EVENT_ID),
        "x-retries": "3",
        "x-bad": "\ufffd\ufffdok",
    }


@pytest.mark.parametrize("headers", [None, {}])
def test_header_text_of_no_headers_is_empty(headers: dict[str, object] | None) -> None:
    assert header_text(headers) == {}


# --- MessageRegistry: finding the class ----------------------------------------------


def test_decode_by_the_message_name_header() -> None:
    registry = MessageRegistry(OrderPlaced, OrderCancelled)
    wire = encode(message_of(placed()))
    event = registry.decode(wire.body, wire.headers)
    assert type(event) is OrderPlaced
    assert event == placed()


def test_decode_by_header_wins_over_the_body_event_name() -> None:
    registry = MessageRegistry[Any]()
    registry.register(OrderPlaced, event_name="order.cancelled")
    registry.register(OrderCancelled)
    body = json.dumps({"event_name": "order.cancelled", "payload": {"n": 1}}).encode()
    event = registry.decode(body, {"cqrs-message-name": "OrderCancelled"})
    assert type(event) is OrderCancelled


def test_decode_header_name_is_case_insensitive_and_may_be_bytes() -> None:
    # Kafka hands over bytes; AMQP peers may capitalise header names.
    registry = MessageRegistry(OrderPlaced, OrderCancelled)
    wire = encode(message_of(placed()))
    headers = {key.title(): value.encode() for key, value in wire.headers.items()}
    assert "Cqrs-Message-Name" in headers
    assert registry.decode(wire.body, headers) == placed()


def test_decode_by_event_name_in_the_body_without_headers() -> None:
    # python-cqrs publishers send the same body and no headers at all.
    registry = MessageRegistry[Any]()
    registry.register(OrderPlaced, event_name="order.placed")
    registry.register(OrderCancelled, event_name="order.cancelled")
    placed_body = encode(message_of(placed())).body
    assert registry.decode(placed_body) == placed()
    assert registry.decode(placed_body, {}) == placed()
    cancelled = registry.decode(b'{"event_name": "order.cancelled", "payload": {"n": 2}}')
    assert type(cancelled) is OrderCancelled
    assert cancelled.payload == {"n": 2}


def test_decode_falls_back_to_the_only_registered_class() -> None:
    registry = MessageRegistry(OrderCancelled)
    event = registry.decode(b'{"event_name": "whatever", "payload": {"n": 1}}')
    assert type(event) is OrderCancelled
    assert event.event_name == "whatever"


def test_decode_accepts_str_bodies() -> None:
    registry = MessageRegistry(OrderPlaced)
    wire = encode(message_of(placed()))
    assert registry.decode(wire.body.decode(), wire.headers) == placed()


def test_name_override() -> None:
    registry = MessageRegistry[Any]()
    registry.register(OrderPlaced, name="orders.OrderPlaced.v2")
    registry.register(OrderCancelled)
    assert registry.name_of(OrderPlaced) == "orders.OrderPlaced.v2"
    assert registry.name_of(OrderCancelled) == "OrderCancelled"
    body = encode(message_of(placed())).body
    assert registry.decode(body, {"cqrs-message-name": "orders.OrderPlaced.v2"}) == placed()
    # The class name is no longer a name this registry knows.
    with pytest.raises(MessageDecodeError, match=r"'OrderPlaced'.*orders\.OrderPlaced\.v2"):
        registry.decode(body, {"cqrs-message-name": "OrderPlaced"})


def test_registry_container_protocol() -> None:
    registry = MessageRegistry(OrderPlaced, DCOrderShipped)
    assert len(registry) == 2
    assert list(registry) == [OrderPlaced, DCOrderShipped]
    assert OrderPlaced in registry
    assert OrderCancelled not in registry
    # Registering the same class under the same name again is harmless.
    registry.register(OrderPlaced)
    assert len(registry) == 2


def test_duplicate_names_are_a_configuration_error() -> None:
    # Two classes with the same name (from two modules, say).
    other = type("OrderPlaced", (OrderCancelled,), {})
    registry = MessageRegistry(OrderPlaced)
    with pytest.raises(InvalidConfigurationError, match=r"'OrderPlaced'.*name=") as caught:
        registry.register(other)
    assert "OrderPlaced" in str(caught.value)
    with pytest.raises(InvalidConfigurationError, match="OrderPlaced"):
        registry.register(OrderCancelled, name="OrderPlaced")
    with pytest.raises(InvalidConfigurationError):
        MessageRegistry(OrderPlaced, other)
    registry.register(other, name="legacy.OrderPlaced")  # the way out
    assert registry.name_of(other) == "legacy.OrderPlaced"


@pytest.mark.parametrize(
    "not_an_event",
    [NotAnEvent, int, "OrderPlaced", placed(), None],
    ids=["response", "int", "str", "instance", "none"],
)
def test_registering_a_non_event_is_a_type_error(not_an_event: Any) -> None:
    with pytest.raises(TypeError, match=r"MessageRegistry.register\(\) takes an event or request"):
        MessageRegistry[Any]().register(not_an_event)
    with pytest.raises(TypeError):
        MessageRegistry(not_an_event)


# --- MessageRegistry: every failure is a MessageDecodeError ---------------------------


@pytest.mark.parametrize("body", [b"not json", b"", b'{"event_name": ', b"\xff\xfe"])
def test_a_body_that_is_not_json(body: bytes) -> None:
    registry = MessageRegistry(OrderCancelled)
    with pytest.raises(MessageDecodeError, match="the message body is not JSON"):
        registry.decode(body)


@pytest.mark.parametrize(
    ("body", "kind"),
    [(b"[1, 2]", "list"), (b'"text"', "str"), (b"42", "int"), (b"null", "NoneType")],
)
def test_a_json_body_that_is_not_an_object(body: bytes, kind: str) -> None:
    registry = MessageRegistry(OrderCancelled)
    with pytest.raises(MessageDecodeError, match=rf"is a JSON {kind}, not an object"):
        registry.decode(body)


def test_an_unknown_message_name_header() -> None:
    registry = MessageRegistry(OrderPlaced, OrderCancelled)
    with pytest.raises(MessageDecodeError) as caught:
        registry.decode(b"{}", {"cqrs-message-name": "OrderRefunded"})
    text = str(caught.value)
    assert "no class is registered for message name 'OrderRefunded'" in text
    assert "registered: OrderCancelled, OrderPlaced" in text


def test_an_unknown_event_name_without_header() -> None:
    registry = MessageRegistry[Any]()
    registry.register(OrderPlaced, event_name="order.placed")
    registry.register(OrderCancelled, event_name="order.cancelled")
    with pytest.raises(MessageDecodeError) as caught:
        registry.decode(b'{"event_name": "order.refunded", "payload": {}}')
    text = str(caught.value)
    assert "no cqrs-message-name header" in text
    assert "'order.refunded' is not registered" in text
    assert "OrderCancelled, OrderPlaced" in text
    with pytest.raises(MessageDecodeError, match="event_name None is not registered"):
        registry.decode(b'{"payload": {}}')


def test_an_empty_registry_decodes_nothing() -> None:
    with pytest.raises(MessageDecodeError, match="registered: none"):
        MessageRegistry[Any]().decode(b'{"event_name": "x"}')


def test_a_pydantic_validation_failure_names_the_class() -> None:
    registry = MessageRegistry(OrderPlaced)
    data = json.loads(encode(message_of(placed())).body)
    data["payload"]["order_id"] = "not-a-uuid"
    with pytest.raises(MessageDecodeError) as caught:
        registry.decode(json.dumps(data), {"cqrs-message-name": "OrderPlaced"})
    text = str(caught.value)
    assert "does not validate as" in text
    assert "OrderPlaced" in text
    assert "order_id" in text
    with pytest.raises(
        MessageDecodeError, match=r"(?s)does not validate as .*OrderPlaced.*event_name"
    ):
        registry.decode(b'{"payload": {}}')


def test_a_dataclass_validation_failure_names_the_class() -> None:
    registry = MessageRegistry(DCOrderShipped)
    data = json.loads(encode(message_of(shipped())).body)
    with pytest.raises(MessageDecodeError, match=r"does not validate as .*DCOrderShipped.*nope"):
        registry.decode(json.dumps({**data, "nope": 1}))
    with pytest.raises(MessageDecodeError, match=r"does not validate as .*DCOrderShipped"):
        registry.decode(json.dumps({"payload": data["payload"]}))  # no event_name
    bad_id = {**data, "event_id": "not-a-uuid"}
    with pytest.raises(
        MessageDecodeError, match=r"(?s)does not validate as .*DCOrderShipped.*event_id"
    ):
        registry.decode(json.dumps(bad_id))


def test_decode_errors_are_value_errors_of_the_library() -> None:
    assert issubclass(MessageDecodeError, ValueError)
    assert issubclass(MessageDecodeError, cqrs.exceptions.CQRSError)


# --- round trips ----------------------------------------------------------------------


def test_round_trip_pydantic_event() -> None:
    event = placed()
    registry = MessageRegistry(OrderPlaced, OrderCancelled, DCOrderShipped)
    wire = encode(message_of(event))
    back = registry.decode(wire.body, wire.headers)
    assert back == event
    assert type(back) is OrderPlaced
    assert isinstance(back.payload.order_id, uuid.UUID)


def test_round_trip_dataclass_event() -> None:
    event = shipped()
    registry = MessageRegistry(OrderPlaced, OrderCancelled, DCOrderShipped)
    wire = encode(message_of(event))
    back = registry.decode(wire.body, wire.headers)
    assert back == event
    assert type(back) is DCOrderShipped
    # The JSON forms come back as the declared types, nested payload included.
    assert isinstance(back.event_id, uuid.UUID)
    assert isinstance(back.event_timestamp, datetime.datetime)
    assert isinstance(back.payload, DCShippedPayload)
    assert isinstance(back.payload.address, DCAddress)
    assert back.payload.shipped_at == PLACED_AT
    assert hash(back) == hash(event)


def test_round_trip_generic_dc_notification_event() -> None:
    event = cqrs.DCNotificationEvent[dict[str, Any]](
        event_name="anything", topic="misc", payload={"n": 1, "tags": ["a"]}
    )
    registry = MessageRegistry(cqrs.DCNotificationEvent)
    wire = encode(message_of(event))
    assert wire.message_name == "DCNotificationEvent"
    back = registry.decode(wire.body, wire.headers)
    assert back == event
    assert isinstance(back.event_id, uuid.UUID)


def test_round_trip_generic_notification_event() -> None:
    # A parametrized pydantic generic is a class of its own, with its own name: the
    # registry must know that class (registering the bare generic does not match it).
    event_type = cqrs.NotificationEvent[dict[str, int]]
    event = event_type(event_name="n", topic="t", payload={"n": 1})
    wire = encode(message_of(event))
    assert wire.message_name == "PydanticNotificationEvent[dict[str, int]]"
    registry = MessageRegistry(event_type)
    back = registry.decode(wire.body, wire.headers)
    assert back == event
    assert type(back) is event_type


@pytest.mark.parametrize("event", [placed(), shipped()], ids=["pydantic", "dataclass"])
def test_round_trip_without_headers_by_event_name(event: cqrs.INotificationEvent[Any]) -> None:
    registry = MessageRegistry[Any]()
    registry.register(OrderPlaced, event_name="order.placed")
    registry.register(DCOrderShipped, event_name="order.shipped")
    assert registry.decode(encode(message_of(event)).body) == event
