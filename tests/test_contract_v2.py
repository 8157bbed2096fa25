"""The run time agrees with the checkers (issue 9): generic handlers, `self.events`
assigned in `__init__`, and a request whose bases declare two responses."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any, Generic, TypeVar

import di
import pytest

import cqrs
from cqrs.exceptions import HandlerBindingTypeError, RequestHandlerTypeError
from cqrs.requests import bootstrap
from cqrs.requests.cor_request_handler import CORRequestHandler

R = TypeVar("R", bound=cqrs.IRequest[Any])
T = TypeVar("T")
E = TypeVar("E", bound=cqrs.IEvent)


class UserDTO(cqrs.Response):
    user_id: int


class AdminDTO(UserDTO):
    level: int = 1


class OrderDTO(cqrs.Response):
    order_id: int


class GetUser(cqrs.Request[UserDTO]):
    user_id: int


class GetOrder(cqrs.Request[OrderDTO]):
    order_id: int


class ListUsers(cqrs.Request[UserDTO]):
    count: int


class UserSeen(cqrs.DomainEvent, frozen=True):
    user_id: int


class OrderSeen(cqrs.DomainEvent, frozen=True):
    order_id: int


# --- parameterized generic handlers ----------------------------------------------------


class Echo(cqrs.RequestHandler[R, T], Generic[R, T]):
    """Answers a request with its `answer` (type parameters fixed where it is bound)."""

    async def handle(self, request: R) -> T:
        answer: T = request.answer  # type: ignore[attr-defined]  # each request below has one
        return answer


class AnsweredUser(GetUser):
    @property
    def answer(self) -> UserDTO:
        return UserDTO(user_id=self.user_id)


class Streamer(cqrs.StreamingRequestHandler[R, T], Generic[R, T]):
    def clear_events(self) -> None:
        pass

    async def handle(self, request: R) -> AsyncIterator[T]:
        for number in range(request.count):  # type: ignore[attr-defined]  # ListUsers
            yield UserDTO(user_id=number)  # type: ignore[misc]  # T is UserDTO where bound


class Seen(cqrs.EventHandler[E], Generic[E]):
    handled: list[cqrs.IEvent] = []

    async def handle(self, event: E) -> None:
        Seen.handled.append(event)


class Link(CORRequestHandler[R, T], Generic[R, T]):
    async def handle(self, request: R) -> T | None:
        return UserDTO(user_id=0)  # type: ignore[return-value]  # T is UserDTO where bound


async def test_a_parameterized_generic_handler_binds_and_handles() -> None:
    def requests(mapper: cqrs.RequestMap) -> None:
        mapper.bind(AnsweredUser, Echo[AnsweredUser, UserDTO])
        mapper.bind(ListUsers, Streamer[ListUsers, UserDTO])

    mediator = bootstrap.bootstrap_streaming(di_container=di.Container(), queries_mapper=requests)
    assert [item.user_id async for item in mediator.stream(ListUsers(count=2))] == [0, 1]
    plain = bootstrap.bootstrap(
        di_container=di.Container(),
        commands_mapper=lambda m: m.bind(AnsweredUser, Echo[AnsweredUser, UserDTO]),
    )
    assert await plain.send(AnsweredUser(user_id=4)) == UserDTO(user_id=4)


def test_a_map_holds_the_generic_class_of_a_parameterized_handler() -> None:
    requests = cqrs.RequestMap()
    requests.bind(GetUser, Echo[GetUser, UserDTO])
    requests.bind(GetOrder, Echo[GetOrder, OrderDTO])
    requests.bind(ListUsers, [Link[ListUsers, UserDTO]])
    assert requests[GetUser] is Echo
    assert requests[GetOrder] is Echo
    events = cqrs.EventMap()
    events.bind(UserSeen, Seen[UserSeen])
    events.bind(OrderSeen, Seen[OrderSeen])
    assert list(events[UserSeen]) == [Seen]


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (
            Echo[GetUser, OrderDTO],
            "declares the response UserDTO, but Echo[GetUser, OrderDTO] returns OrderDTO",
        ),
        (Echo[GetOrder, UserDTO], "Echo[GetOrder, UserDTO] handles GetOrder"),
        (list[int], "it is not a request handler"),
    ],
)
def test_a_parameterized_handler_for_another_pair_is_rejected(
    handler: object, message: str
) -> None:
    with pytest.raises(HandlerBindingTypeError, match=message.replace("[", r"\[")):
        cqrs.RequestMap().bind(GetUser, handler)  # type: ignore[call-overload]  # the point


def test_a_parameterized_event_handler_or_link_for_another_type_is_rejected() -> None:
    with pytest.raises(HandlerBindingTypeError, match=r"Seen\[OrderSeen\] handles OrderSeen"):
        cqrs.EventMap().bind(UserSeen, Seen[OrderSeen])  # type: ignore[misc]  # the point
    with pytest.raises(
        HandlerBindingTypeError, match=r"Link\[GetOrder, OrderDTO\] handles GetOrder"
    ):
        cqrs.RequestMap().bind(GetUser, [Link[GetOrder, OrderDTO]])  # type: ignore[list-item]  # the point


# --- self.events assigned in __init__ ---------------------------------------------------


class RecordsEvents(cqrs.RequestHandler[GetUser, UserDTO]):
    def __init__(self) -> None:
        self.events: list[cqrs.IEvent] = []  # python-cqrs's spelling

    async def handle(self, request: GetUser) -> UserDTO:
        self.events.append(UserSeen(user_id=request.user_id))
        return UserDTO(user_id=request.user_id)


class StreamsEvents(cqrs.StreamingRequestHandler[ListUsers, UserDTO]):
    def __init__(self) -> None:
        self.events: list[cqrs.IEvent] = []

    def clear_events(self) -> None:
        self.events = []

    async def handle(self, request: ListUsers) -> AsyncIterator[UserDTO]:
        for number in range(request.count):
            self.events.append(UserSeen(user_id=number))
            yield UserDTO(user_id=number)


class LinkEvents(CORRequestHandler[GetUser, UserDTO]):
    def __init__(self) -> None:
        self.events = [UserSeen(user_id=-1)]

    async def handle(self, request: GetUser) -> UserDTO | None:
        return UserDTO(user_id=request.user_id)


class FollowUp(cqrs.EventHandler[UserSeen]):
    def __init__(self) -> None:
        self.events: list[cqrs.IEvent] = []

    async def handle(self, event: UserSeen) -> None:
        self.events = [OrderSeen(order_id=event.user_id)]


class Collect(cqrs.EventHandler[OrderSeen]):
    seen: list[int] = []

    async def handle(self, event: OrderSeen) -> None:
        Collect.seen.append(event.order_id)


def _events(mapper: cqrs.EventMap) -> None:
    mapper.bind(UserSeen, FollowUp)
    mapper.bind(OrderSeen, Collect)


@pytest.fixture(autouse=True)
def _fresh() -> None:
    Collect.seen.clear()
    Seen.handled.clear()


async def test_events_assigned_in_init_are_processed() -> None:
    mediator = bootstrap.bootstrap(
        di_container=di.Container(),
        commands_mapper=lambda m: m.bind(GetUser, RecordsEvents),
        domain_events_mapper=_events,
    )
    await mediator.send(GetUser(user_id=3))
    assert Collect.seen == [3]  # the handler's event, then the event handler's follow-up

    streaming = bootstrap.bootstrap_streaming(
        di_container=di.Container(),
        queries_mapper=lambda m: m.bind(ListUsers, StreamsEvents),
        domain_events_mapper=_events,
    )
    assert [item.user_id async for item in streaming.stream(ListUsers(count=2))] == [0, 1]
    assert sorted(Collect.seen) == [0, 1, 3]

    chained = bootstrap.bootstrap(
        di_container=di.Container(),
        commands_mapper=lambda m: m.bind(GetUser, [LinkEvents]),
        domain_events_mapper=_events,
    )
    await chained.send(GetUser(user_id=9))
    assert sorted(Collect.seen) == [-1, 0, 1, 3]


def test_events_default_to_none_and_an_override_still_wins() -> None:
    class Quiet(cqrs.RequestHandler[GetUser, UserDTO]):
        async def handle(self, request: GetUser) -> UserDTO:
            return UserDTO(user_id=1)

    class Own(cqrs.RequestHandler[GetUser, UserDTO]):
        def __init__(self) -> None:
            self._events: list[cqrs.IEvent] = [UserSeen(user_id=1)]

        @property
        def events(self) -> list[cqrs.IEvent]:
            return self._events

        async def handle(self, request: GetUser) -> UserDTO:
            return UserDTO(user_id=1)

    assert tuple(Quiet().events) == ()
    assert Own().events == [UserSeen(user_id=1)]
    quiet = Quiet()
    quiet.events = [UserSeen(user_id=2)]  # type: ignore[misc]  # read-only to checkers
    assert list(quiet.events) == [UserSeen(user_id=2)]


# --- two response declarations -----------------------------------------------------------


def test_a_request_with_two_unrelated_responses_is_rejected_at_class_creation() -> None:
    with pytest.raises(
        TypeError, match="GetUserAsOrder declares two responses, UserDTO and OrderDTO"
    ):

        class GetUserAsOrder(GetUser, cqrs.Request[OrderDTO]):  # pyright: ignore[reportGeneralTypeIssues]  # the point
            pass

    @dataclasses.dataclass
    class DeleteUser(cqrs.DCRequest[None]):
        user_id: int

    with pytest.raises(TypeError, match="declares two responses, None and OrderDTO"):

        @dataclasses.dataclass
        class DeleteAndOrder(DeleteUser, cqrs.DCRequest[OrderDTO]):  # pyright: ignore[reportGeneralTypeIssues]  # the point
            pass


def test_a_narrower_or_a_bare_second_declaration_is_accepted() -> None:
    class GetAdmin(GetUser, cqrs.Request[AdminDTO]):
        pass

    class Tagged(GetUser, cqrs.Request):  # type: ignore[type-arg]  # python-cqrs's bare base
        pass

    assert GetAdmin(user_id=1).user_id == Tagged(user_id=1).user_id == 1


# --- abstract handlers and look-alikes (rejected by both checkers too) -------------------


class NoHandle(cqrs.RequestHandler[GetUser, UserDTO]):
    pass


class NoClearEvents(cqrs.StreamingRequestHandler[ListUsers, UserDTO]):
    async def handle(self, request: ListUsers) -> AsyncIterator[UserDTO]:
        yield UserDTO(user_id=1)


class LooksLikeAHandler:
    async def handle(self, request: GetUser) -> UserDTO:
        return UserDTO(user_id=request.user_id)


@pytest.mark.parametrize(
    ("request_type", "handler", "message"),
    [
        (GetUser, NoHandle, r"NoHandle is abstract \(missing: handle\)"),
        (ListUsers, NoClearEvents, r"NoClearEvents is abstract \(missing: clear_events\)"),
        (GetUser, LooksLikeAHandler, "it is not a request handler"),
    ],
)
def test_an_abstract_handler_or_a_look_alike_is_rejected_at_bind(
    request_type: type[cqrs.IRequest[Any]], handler: object, message: str
) -> None:
    with pytest.raises(HandlerBindingTypeError, match=message):
        cqrs.RequestMap().bind(request_type, handler)  # type: ignore[call-overload]  # the point


# --- the opt-in StreamingRequest -----------------------------------------------------------


class Item(cqrs.Response):
    number: int


class ListItems(cqrs.StreamingRequest[Item]):
    count: int


@dataclasses.dataclass
class ListItemsDC(cqrs.DCStreamingRequest[Item]):
    count: int


class ListItemsHandler(cqrs.StreamingRequestHandler[ListItems, Item]):
    def clear_events(self) -> None:
        pass

    async def handle(self, request: ListItems) -> AsyncIterator[Item]:
        for number in range(request.count):
            yield Item(number=number)


class FirstItemHandler(cqrs.RequestHandler[ListItems, Item]):
    async def handle(self, request: ListItems) -> Item:
        return Item(number=0)


class OtherItemHandler(cqrs.RequestHandler[ListItems, Item]):
    async def handle(self, request: ListItems) -> Item:
        return Item(number=1)


class FirstItemLink(CORRequestHandler[ListItems, Item]):
    async def handle(self, request: ListItems) -> Item | None:
        return Item(number=0)


async def test_a_streaming_request_is_streamed() -> None:
    mediator = bootstrap.bootstrap_streaming(
        di_container=di.Container(), queries_mapper=lambda m: m.bind(ListItems, ListItemsHandler)
    )
    assert [item.number async for item in mediator.stream(ListItems(count=3))] == [0, 1, 2]
    assert ListItems.from_dict(count="2") == ListItems(count=2)
    assert ListItemsDC.from_dict(**ListItemsDC(count=1).to_dict()) == ListItemsDC(count=1)


@pytest.mark.parametrize(
    "handler",
    [
        FirstItemHandler,
        [FirstItemLink],
        cqrs.RequestHandlerFallback(FirstItemHandler, OtherItemHandler),
    ],
    ids=["plain", "chain", "fallback"],
)
def test_a_streaming_request_is_never_bound_to_a_plain_handler(handler: object) -> None:
    with pytest.raises(
        HandlerBindingTypeError,
        match="ListItems is a StreamingRequest, which only a StreamingRequestHandler serves",
    ):
        cqrs.RequestMap().bind(ListItems, handler)  # type: ignore[call-overload]  # the point


async def test_a_streaming_request_is_never_sent() -> None:
    mediator = bootstrap.bootstrap(
        di_container=di.Container(), commands_mapper=lambda m: m.bind(ListItems, ListItemsHandler)
    )
    with pytest.raises(RequestHandlerTypeError, match=r"use StreamingRequestMediator\.stream"):
        await mediator.send(ListItems(count=1))  # type: ignore[arg-type]  # the point


def test_a_builtin_generic_alias_where_a_class_belongs_is_a_clear_error() -> None:
    # On Python 3.10 `list[int]` passes `isinstance(..., type)` but `issubclass` raises.
    with pytest.raises(HandlerBindingTypeError, match="expects a request class"):
        cqrs.RequestMap().bind(list[int], GetUserHandlerForAliases)  # type: ignore[call-overload]  # the point
    with pytest.raises(HandlerBindingTypeError, match="expects an event class"):
        cqrs.EventMap().bind(list[int], Seen[UserSeen])  # type: ignore[misc]  # the point
    with pytest.raises(HandlerBindingTypeError, match="not an event handler"):
        cqrs.EventMap().bind(UserSeen, list[int])  # type: ignore[misc]  # the point
    with pytest.raises(HandlerBindingTypeError, match="every link of a chain must be"):
        cqrs.RequestMap().bind(GetUser, [list[int]])  # type: ignore[list-item]  # the point


class GetUserHandlerForAliases(cqrs.RequestHandler[GetUser, UserDTO]):
    async def handle(self, request: GetUser) -> UserDTO:
        return UserDTO(user_id=request.user_id)
