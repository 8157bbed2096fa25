"""A query with a fallback handler behind a circuit breaker.

Run: python examples/request_fallback.py   (needs the `circuit-breaker` extra)

The profile service is down. The first two requests try it, fail and are answered
from the cache; after two failures the circuit opens, so the next requests go
straight to the cache without calling the service at all.
"""

from __future__ import annotations

import asyncio
import logging

import di

import cqrs
from cqrs.adapters.circuit_breaker import PurgatoryCircuitBreaker
from cqrs.requests import bootstrap


class Profile(cqrs.Response):
    user_id: int
    name: str
    source: str


class GetProfile(cqrs.Request[Profile]):
    user_id: int


class ProfileService:
    """Stands for a remote service; this one is down."""

    calls = 0

    async def fetch(self, user_id: int) -> str:
        ProfileService.calls += 1
        msg = f"profile service unreachable (user {user_id})"
        raise ConnectionError(msg)


class FromService(cqrs.RequestHandler[GetProfile, Profile]):
    def __init__(self, service: ProfileService) -> None:
        self._service = service

    async def handle(self, request: GetProfile) -> Profile:
        name = await self._service.fetch(request.user_id)
        return Profile(user_id=request.user_id, name=name, source="service")


class FromCache(cqrs.RequestHandler[GetProfile, Profile]):
    async def handle(self, request: GetProfile) -> Profile:
        return Profile(user_id=request.user_id, name="(cached)", source="cache")


# One breaker for every request fallback that shares this policy; it keeps a circuit
# per primary handler class.
breaker = PurgatoryCircuitBreaker(fail_max=2, timeout_duration=30)


def queries(mapper: cqrs.RequestMap) -> None:
    mapper.bind(
        GetProfile,
        cqrs.RequestHandlerFallback(
            primary=FromService,
            fallback=FromCache,
            failure_exceptions=(ConnectionError, TimeoutError),
            circuit_breaker=breaker,
        ),
    )


async def main() -> None:
    mediator = bootstrap.bootstrap(di_container=di.Container(), queries_mapper=queries)
    for user_id in range(1, 5):
        profile = await mediator.send(GetProfile(user_id=user_id))
        print(
            f"user {profile.user_id}: {profile.source}, service calls so far: {ProfileService.calls}"
        )


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)  # the fallback warnings are expected here
    asyncio.run(main())
