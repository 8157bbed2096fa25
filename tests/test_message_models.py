"""Requests, responses and events: construction, round-trips, validation, defaults."""

from __future__ import annotations

import dataclasses
import datetime
import uuid

import pydantic
import pytest

import cqrs


class UserDTO(cqrs.Response):
    user_id: int
    name: str


@dataclasses.dataclass
class DCUserDTO(cqrs.DCResponse):
    user_id: int
    name: str


class GetUser(cqrs.Request[UserDTO]):
    user_id: int


class Ping(cqrs.Request):
    pass


@dataclasses.dataclass
class DeleteUser(cqrs.DCRequest[None]):
    user_id: int


class Address(pydantic.BaseModel):
    city: str


class Relocate(cqrs.Request[None]):
    request_id: uuid.UUID
    at: datetime.datetime
    address: Address


class UserJoined(cqrs.DomainEvent, frozen=True):
    user_id: str


@dataclasses.dataclass(frozen=True)
class DCUserLeft(cqrs.DCDomainEvent):
    user_id: str


class JoinedPayload(pydantic.BaseModel):
    user_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class DCJoinedNotification(cqrs.DCNotificationEvent[dict[str, str]]):
    source: str = "tests"


def test_generic_and_bare_requests_both_instantiate() -> None:
    assert GetUser(user_id=1).user_id == 1
    assert isinstance(Ping(), cqrs.IRequest)


@pytest.mark.parametrize(
    "message",
    [
        GetUser(user_id=7),
        DeleteUser(user_id=7),
        UserDTO(user_id=1, name="Ada"),
        DCUserDTO(user_id=1, name="Ada"),
        UserJoined(user_id="u1"),
        DCUserLeft(user_id="u1"),
        Relocate(
            request_id=uuid.uuid4(),
            at=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
            address=Address(city="Oslo"),
        ),
    ],
    ids=lambda m: type(m).__name__,
)
def test_to_dict_and_from_dict_round_trip(
    message: cqrs.IRequest | cqrs.IResponse | cqrs.IEvent,
) -> None:
    assert type(message).from_dict(**message.to_dict()) == message


def test_pydantic_to_dict_is_json_ready() -> None:
    request_id = uuid.uuid4()
    data = Relocate(
        request_id=request_id,
        at=datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc),
        address=Address(city="Oslo"),
    ).to_dict()
    assert data == {
        "request_id": str(request_id),
        "at": "2026-01-02T00:00:00Z",
        "address": {"city": "Oslo"},
    }


def test_pydantic_from_dict_validates() -> None:
    assert GetUser.from_dict(user_id="7") == GetUser(user_id=7)
    with pytest.raises(pydantic.ValidationError):
        GetUser.from_dict(user_id="seven")
    with pytest.raises(pydantic.ValidationError):
        GetUser.from_dict()


def test_dataclass_from_dict_rejects_unknown_fields_naming_the_class() -> None:
    with pytest.raises(TypeError, match=r"DeleteUser.*unknown field.*'nope'"):
        DeleteUser.from_dict(user_id=1, nope=2)


def test_dataclass_from_dict_rejects_missing_fields_naming_the_class() -> None:
    with pytest.raises(TypeError, match=r"DeleteUser.from_dict\(\).*user_id"):
        DeleteUser.from_dict()


@pytest.mark.parametrize("event", [UserJoined(user_id="u1"), DCUserLeft(user_id="u1")])
def test_events_are_frozen(event: cqrs.IEvent) -> None:
    with pytest.raises((pydantic.ValidationError, dataclasses.FrozenInstanceError)):
        event.user_id = "u2"  # type: ignore[attr-defined]


def test_notification_event_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEFAULT_OUTPUT_TOPIC", raising=False)
    event = cqrs.NotificationEvent[JoinedPayload](
        event_name="joined", payload=JoinedPayload(user_id="u1")
    )
    assert event.event_id.version == 4
    assert event.event_timestamp.tzinfo is not None
    assert event.topic == "output_topic"
    assert event.payload == JoinedPayload(user_id="u1")


def test_notification_topic_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_OUTPUT_TOPIC", "users")
    event = cqrs.NotificationEvent[JoinedPayload](
        event_name="joined", payload=JoinedPayload(user_id="u1")
    )
    assert event.topic == "users"


def test_notification_payload_is_validated() -> None:
    with pytest.raises(pydantic.ValidationError):
        cqrs.NotificationEvent[JoinedPayload](event_name="joined", payload={"nope": 1})  # type: ignore[arg-type]


def test_notification_events_hash_by_event_id() -> None:
    event_id = uuid.uuid4()
    first = cqrs.NotificationEvent[JoinedPayload](
        event_id=event_id, event_name="joined", payload=JoinedPayload(user_id="u1")
    )
    second = cqrs.NotificationEvent[JoinedPayload](
        event_id=event_id, event_name="joined", payload=JoinedPayload(user_id="u2")
    )
    assert hash(first) == hash(second) == hash(event_id)
    assert len({first, first}) == 1


def test_notification_event_round_trips() -> None:
    event = cqrs.NotificationEvent[JoinedPayload](
        event_name="joined", payload=JoinedPayload(user_id="u1"), topic="users"
    )
    assert cqrs.NotificationEvent[JoinedPayload].from_dict(**event.to_dict()) == event


def test_dataclass_notification_event_is_keyword_only_and_hashes_by_id() -> None:
    with pytest.raises(TypeError):
        DCJoinedNotification("joined", {"user_id": "u1"})  # type: ignore[call-arg]
    event = DCJoinedNotification(event_name="joined", payload={"user_id": "u1"})
    assert event.topic == "output_topic"
    assert hash(event) == hash(event.event_id)
    assert isinstance(event, cqrs.INotificationEvent)


def test_events_declared_without_frozen_are_frozen_and_hashable() -> None:
    import pydantic
    import pytest

    class Placed(cqrs.Response):
        order_id: int

    class OrderPlaced(cqrs.DomainEvent):
        order_id: int

    class OrderPaid(cqrs.NotificationEvent[Placed]):
        pass

    placed = OrderPlaced(order_id=1)
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        placed.order_id = 2  # type: ignore[misc]  # the checkers reject it too
    assert hash(placed) == hash(OrderPlaced(order_id=1))
    paid = OrderPaid(event_name="paid", payload=Placed(order_id=1))
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        paid.topic = "other"  # type: ignore[misc]  # as above
    assert hash(paid) == hash(paid.event_id)
