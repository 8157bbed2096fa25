"""Positive: `events` overridden as `list[cqrs.Event]` (and narrower); EventMap binds."""

import dataclasses
from collections.abc import AsyncIterator, Sequence

import di
from typing_extensions import assert_type

import cqrs
from cqrs.events import bootstrap as events_bootstrap
from cqrs.events.map import EventBinding


class UserJoined(cqrs.DomainEvent, frozen=True):
    user_id: int


@dataclasses.dataclass(frozen=True)
class UserLeft(cqrs.DCDomainEvent):
    user_id: int


class WelcomeMailSent(cqrs.NotificationEvent[dict[str, int]], frozen=True):
    pass


class Join(cqrs.Request[None]):
    user_id: int


class JoinHandler(cqrs.RequestHandler[Join, None]):
    def __init__(self) -> None:
        self._events: list[cqrs.Event] = []

    @property
    def events(self) -> list[cqrs.Event]:
        return self._events.copy()

    async def handle(self, request: Join) -> None:
        self._events.append(UserJoined(user_id=request.user_id))


class Watch(cqrs.Request[int]):
    pass


class WatchHandler(cqrs.StreamingRequestHandler[Watch, int]):
    def __init__(self) -> None:
        self._events: list[cqrs.Event] = []

    @property
    def events(self) -> list[cqrs.Event]:
        return self._events.copy()

    def clear_events(self) -> None:
        self._events.clear()

    async def handle(self, request: Watch) -> AsyncIterator[int]:
        self._events.append(UserJoined(user_id=1))
        yield 1


class UserJoinedHandler(cqrs.EventHandler[UserJoined]):
    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return (UserLeft(user_id=1),)

    async def handle(self, event: UserJoined) -> None:
        assert_type(event.user_id, int)


class UserLeftHandler(cqrs.EventHandler[UserLeft]):
    @property
    def events(self) -> list[cqrs.DomainEvent]:
        return []

    async def handle(self, event: UserLeft) -> None:
        pass


class WelcomeMailSentHandler(cqrs.EventHandler[WelcomeMailSent]):
    async def handle(self, event: WelcomeMailSent) -> None:
        assert_type(event.payload, dict[str, int])


def events_mapper(mapper: cqrs.EventMap) -> None:
    mapper.bind(UserJoined, UserJoinedHandler)
    mapper.bind(UserLeft, UserLeftHandler)
    mapper.bind(WelcomeMailSent, WelcomeMailSentHandler)


async def main() -> None:
    assert_type(JoinHandler().events, list[cqrs.Event])
    assert_type(WatchHandler().events, list[cqrs.Event])
    mediator = events_bootstrap.bootstrap(di_container=di.Container(), events_mapper=events_mapper)
    assert_type(mediator, cqrs.EventMediator)
    assert_type(await mediator.send(UserJoined(user_id=1)), None)
    event_map = cqrs.EventMap()
    events_mapper(event_map)
    assert_type(event_map[UserJoined], Sequence[EventBinding])
