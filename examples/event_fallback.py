"""An event handler with a fallback: notify by e-mail, or queue it for later.

Run: python examples/event_fallback.py

The mail server rejects the message, so the fallback queues the notification; the
command itself succeeds. A failure the fallback does not cover (here a ValueError)
is isolated and logged like any event handler failure.
"""

from __future__ import annotations

import asyncio
import logging

import di

import cqrs
from cqrs.requests import bootstrap


class Registered(cqrs.Response):
    user_id: int


class Register(cqrs.Request[Registered]):
    user_id: int
    email: str


class UserRegistered(cqrs.DomainEvent, frozen=True):
    user_id: int
    email: str


class RegisterHandler(cqrs.RequestHandler[Register, Registered]):
    def __init__(self) -> None:
        self._events: list[cqrs.Event] = []

    @property
    def events(self) -> list[cqrs.Event]:
        return list(self._events)

    async def handle(self, request: Register) -> Registered:
        self._events.append(UserRegistered(user_id=request.user_id, email=request.email))
        return Registered(user_id=request.user_id)


class SendWelcomeMail(cqrs.EventHandler[UserRegistered]):
    async def handle(self, event: UserRegistered) -> None:
        if "@" not in event.email:
            msg = f"not an address: {event.email!r}"
            raise ValueError(msg)
        msg = "mail server refused the connection"
        raise ConnectionRefusedError(msg)


class QueueWelcomeMail(cqrs.EventHandler[UserRegistered]):
    queued: list[int] = []

    async def handle(self, event: UserRegistered) -> None:
        QueueWelcomeMail.queued.append(event.user_id)


def commands(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Register, RegisterHandler)


def events(mapper: cqrs.EventMap) -> None:
    mapper.bind(
        UserRegistered,
        cqrs.EventHandlerFallback(
            SendWelcomeMail, QueueWelcomeMail, failure_exceptions=(ConnectionError,)
        ),
    )


async def main() -> None:
    mediator = bootstrap.bootstrap(
        di_container=di.Container(), commands_mapper=commands, domain_events_mapper=events
    )
    first = await mediator.send(Register(user_id=1, email="ada@example.org"))
    print(f"registered {first.user_id}; queued mails: {QueueWelcomeMail.queued}")
    second = await mediator.send(Register(user_id=2, email="not-an-address"))
    print(f"registered {second.user_id}; queued mails: {QueueWelcomeMail.queued}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.CRITICAL)  # the failures are expected here
    asyncio.run(main())
