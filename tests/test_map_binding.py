"""RequestMap and EventMap: lookups, and the run-time checks `bind` makes."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from typing import Any, Generic, TypeVar

import pytest

import cqrs
from cqrs.exceptions import CQRSError, HandlerAlreadyBoundError, HandlerBindingTypeError

R = TypeVar("R", bound=cqrs.IRequest[Any])
T = TypeVar("T")


class UserDTO(cqrs.Response):
    name: str


class AdminDTO(UserDTO):
    level: int


class OrderDTO(cqrs.Response):
    order_id: int


class GetUser(cqrs.Request[UserDTO]):
    user_id: int


class GetUserById(GetUser):
    pass


class GetOrder(cqrs.Request[OrderDTO]):
    order_id: int


class FindUser(cqrs.Request[UserDTO | None]):
    name: str


class Ping(cqrs.Request):
    pass


class Forget(cqrs.Request[None]):
    user_id: int


@dataclasses.dataclass
class DCGetUser(cqrs.DCRequest[UserDTO]):
    user_id: int


class GetUserHandler(cqrs.RequestHandler[GetUser, UserDTO]):
    async def handle(self, request: GetUser) -> UserDTO:
        return UserDTO(name="Ada")


class GetAdminHandler(cqrs.RequestHandler[GetUser, AdminDTO]):
    async def handle(self, request: GetUser) -> AdminDTO:
        return AdminDTO(name="Ada", level=1)


class OrdersForUserHandler(cqrs.RequestHandler[GetUser, OrderDTO]):
    async def handle(self, request: GetUser) -> OrderDTO:
        return OrderDTO(order_id=1)


class GetOrderHandler(cqrs.RequestHandler[GetOrder, OrderDTO]):
    async def handle(self, request: GetOrder) -> OrderDTO:
        return OrderDTO(order_id=request.order_id)


class FindUserHandler(cqrs.RequestHandler[FindUser, UserDTO]):
    async def handle(self, request: FindUser) -> UserDTO:
        return UserDTO(name=request.name)


class PingHandler(cqrs.RequestHandler[Ping, str]):
    async def handle(self, request: Ping) -> str:
        return "pong"


class ForgetHandler(cqrs.RequestHandler[Forget, None]):
    async def handle(self, request: Forget) -> None:
        return None


class DCGetUserHandler(cqrs.RequestHandler[DCGetUser, UserDTO]):
    async def handle(self, request: DCGetUser) -> UserDTO:
        return UserDTO(name="Ada")


class StreamUsers(cqrs.StreamingRequestHandler[GetUser, UserDTO]):
    def clear_events(self) -> None:
        pass

    async def handle(self, request: GetUser) -> AsyncIterator[UserDTO]:
        yield UserDTO(name="Ada")


class CoroutineStream(cqrs.StreamingRequestHandler[GetUser, UserDTO]):
    def clear_events(self) -> None:
        pass

    async def handle(self, request: GetUser) -> UserDTO:  # type: ignore[override]
        return UserDTO(name="Ada")


class GeneratorHandler(cqrs.RequestHandler[GetUser, UserDTO]):
    async def handle(self, request: GetUser) -> AsyncIterator[UserDTO]:  # type: ignore[override]
        yield UserDTO(name="Ada")


class SyncHandler(cqrs.RequestHandler[GetUser, UserDTO]):
    def handle(self, request: GetUser) -> UserDTO:  # type: ignore[override]
        return UserDTO(name="Ada")


class AbstractHandler(cqrs.RequestHandler[GetUser, UserDTO]):
    pass


class GenericBase(cqrs.RequestHandler[R, T], Generic[R, T]):
    pass


class ViaGenericBase(GenericBase[GetUser, UserDTO]):
    async def handle(self, request: GetUser) -> UserDTO:
        return UserDTO(name="Ada")


class WrongViaGenericBase(GenericBase[GetUser, OrderDTO]):
    async def handle(self, request: GetUser) -> OrderDTO:
        return OrderDTO(order_id=1)


class UserBase(cqrs.RequestHandler[R, UserDTO], Generic[R]):
    pass


class ViaUserBase(UserBase[GetUser]):
    async def handle(self, request: GetUser) -> UserDTO:
        return UserDTO(name="Ada")


class OrderViaUserBase(UserBase[GetOrder]):
    async def handle(self, request: GetOrder) -> UserDTO:
        return UserDTO(name="Ada")


def bound(request_type: Any, handler_type: Any) -> cqrs.RequestMap:
    mapper = cqrs.RequestMap()
    mapper.bind(request_type, handler_type)
    return mapper


# --- RequestMap as a mapping -----------------------------------------------------------


def test_request_map_is_a_read_only_mapping() -> None:
    mapper = bound(GetUser, GetUserHandler)
    mapper.bind(GetOrder, GetOrderHandler)
    assert GetUser in mapper
    assert mapper[GetUser] is GetUserHandler
    assert mapper.get(Ping) is None
    assert tuple(mapper) == (GetUser, GetOrder)
    assert len(mapper) == 2
    assert "GetUser: GetUserHandler" in repr(mapper)
    with pytest.raises(TypeError):
        del mapper[GetUser]  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        mapper[Ping] = PingHandler  # type: ignore[index]


def test_a_second_handler_for_a_request_is_a_key_error_naming_all_three() -> None:
    mapper = bound(GetUser, GetUserHandler)
    with pytest.raises(HandlerAlreadyBoundError) as caught:
        mapper.bind(GetUser, GetAdminHandler)
    assert isinstance(caught.value, KeyError)
    assert isinstance(caught.value, CQRSError)
    message = str(caught.value)
    assert all(name in message for name in ("GetUser", "GetUserHandler", "GetAdminHandler"))
    assert mapper[GetUser] is GetUserHandler


# --- what bind accepts -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_type", "handler_type"),
    [
        (GetUser, GetUserHandler),
        (GetUser, GetAdminHandler),  # returns a subtype of the declared response
        (GetUserById, GetUserHandler),  # handler for a base request
        (FindUser, FindUserHandler),  # declared UserDTO | None, returns UserDTO
        (Ping, PingHandler),  # bare Request: any response
        (Forget, ForgetHandler),  # Request[None]
        (DCGetUser, DCGetUserHandler),
        (GetUser, StreamUsers),
        (GetUser, ViaGenericBase),
        (GetUser, ViaUserBase),
    ],
    ids=lambda t: t.__name__,
)
def test_bind_accepts_matching_pairs(request_type: Any, handler_type: Any) -> None:
    assert bound(request_type, handler_type)[request_type] is handler_type


# --- what bind rejects, naming the types -----------------------------------------------


@pytest.mark.parametrize(
    ("request_type", "handler_type", "names"),
    [
        (GetOrder, GetUserHandler, ("GetOrder", "GetUserHandler", "GetUser")),
        (GetUser, GetOrderHandler, ("GetUser", "GetOrderHandler", "GetOrder")),
        (DCGetUser, GetUserHandler, ("DCGetUser", "GetUserHandler")),
        (GetUser, OrdersForUserHandler, ("GetUser", "UserDTO", "OrdersForUserHandler", "OrderDTO")),
        (GetUser, WrongViaGenericBase, ("UserDTO", "OrderDTO")),
        (GetUser, OrderViaUserBase, ("GetUser", "GetOrder")),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else "",
)
def test_bind_rejects_mismatched_pairs_naming_both(
    request_type: Any, handler_type: Any, names: tuple[str, ...]
) -> None:
    with pytest.raises(HandlerBindingTypeError) as caught:
        bound(request_type, handler_type)
    assert isinstance(caught.value, TypeError)
    for name in names:
        assert re.search(rf"\b{name}\b", str(caught.value)), (name, str(caught.value))


@pytest.mark.parametrize("handler_type", [int, object, GetUserHandler(), len, GetUser], ids=repr)
def test_bind_rejects_what_is_not_a_handler_class(handler_type: Any) -> None:
    with pytest.raises(HandlerBindingTypeError, match="not a request handler"):
        bound(GetUser, handler_type)


@pytest.mark.parametrize("request_type", [UserDTO, GetUser(user_id=1), "GetUser"], ids=repr)
def test_bind_rejects_what_is_not_a_request_class(request_type: Any) -> None:
    with pytest.raises(HandlerBindingTypeError, match="expects a request class"):
        bound(request_type, GetUserHandler)


def test_bind_rejects_an_abstract_handler_naming_what_is_missing() -> None:
    with pytest.raises(
        HandlerBindingTypeError, match=r"AbstractHandler is abstract \(missing: handle\)"
    ):
        bound(GetUser, AbstractHandler)


def test_a_streaming_handler_must_be_an_async_generator() -> None:
    with pytest.raises(
        HandlerBindingTypeError, match=r"CoroutineStream\.handle is a coroutine function"
    ):
        bound(GetUser, CoroutineStream)


def test_an_async_generator_handle_needs_a_streaming_handler() -> None:
    with pytest.raises(
        HandlerBindingTypeError, match=r"derive GeneratorHandler from cqrs\.StreamingRequestHandler"
    ):
        bound(GetUser, GeneratorHandler)


def test_a_plain_handle_must_be_async() -> None:
    with pytest.raises(
        HandlerBindingTypeError, match=r"SyncHandler.handle must be a coroutine function"
    ):
        bound(GetUser, SyncHandler)


# --- EventMap --------------------------------------------------------------------------


class Joined(cqrs.DomainEvent, frozen=True):
    user_id: str


class AdminJoined(Joined, frozen=True):
    level: int


class Left(cqrs.DomainEvent, frozen=True):
    user_id: str


class Audit(cqrs.EventHandler[Joined]):
    async def handle(self, event: Joined) -> None:
        pass


class Notify(cqrs.EventHandler[Joined]):
    async def handle(self, event: Joined) -> None:
        pass


class OnLeft(cqrs.EventHandler[Left]):
    async def handle(self, event: Left) -> None:
        pass


def test_event_map_keeps_handlers_in_bind_order() -> None:
    events = cqrs.EventMap()
    events.bind(Joined, Notify)
    events.bind(Joined, Audit)
    events.bind(Left, OnLeft)
    assert list(events[Joined]) == [Notify, Audit]
    assert list(events) == [Joined, Left]
    assert events.get(AdminJoined, ()) == ()
    with pytest.raises(TypeError):
        del events[Joined]  # type: ignore[attr-defined]


def test_event_map_rejects_the_same_handler_twice() -> None:
    events = cqrs.EventMap()
    events.bind(Joined, Audit)
    with pytest.raises(HandlerAlreadyBoundError, match="Audit is already bound to Joined"):
        events.bind(Joined, Audit)


def test_a_handler_for_a_base_event_binds_to_a_subclass_event() -> None:
    events = cqrs.EventMap()
    events.bind(AdminJoined, Audit)
    assert list(events[AdminJoined]) == [Audit]


def test_event_map_rejects_a_handler_for_another_event_naming_both() -> None:
    events = cqrs.EventMap()
    with pytest.raises(
        HandlerBindingTypeError, match=r"cannot bind Audit to Left: Audit handles Joined"
    ):
        events.bind(Left, Audit)  # type: ignore[misc]


@pytest.mark.parametrize("handler_type", [int, GetUserHandler, Audit()], ids=repr)
def test_event_map_rejects_what_is_not_an_event_handler(handler_type: Any) -> None:
    with pytest.raises(HandlerBindingTypeError, match="not an event handler"):
        cqrs.EventMap().bind(Joined, handler_type)


@pytest.mark.parametrize("event_type", [GetUser, Joined(user_id="u1")], ids=repr)
def test_event_map_rejects_what_is_not_an_event_class(event_type: Any) -> None:
    with pytest.raises(HandlerBindingTypeError, match="expects an event class"):
        cqrs.EventMap().bind(event_type, Audit)


def test_bind_takes_python_cqrs_keywords() -> None:
    class Found(cqrs.Response):
        n: int

    class Find(cqrs.Request[Found]):
        pass

    class FindHandler(cqrs.RequestHandler[Find, Found]):
        async def handle(self, request: Find) -> Found:
            return Found(n=1)

    class Seen(cqrs.DomainEvent, frozen=True):
        pass

    class SeenHandler(cqrs.EventHandler[Seen]):
        async def handle(self, event: Seen) -> None:
            return None

    requests = cqrs.RequestMap()
    requests.bind(request_type=Find, handler_type=FindHandler)
    events = cqrs.EventMap()
    events.bind(event_type=Seen, handler_type=SeenHandler)

    assert requests[Find] is FindHandler
    assert list(events[Seen]) == [SeenHandler]
