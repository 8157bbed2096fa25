"""Negative: mappers of the wrong kind passed to bootstrap; results used wrongly."""

import di

import cqrs
from cqrs.events import bootstrap as events_bootstrap
from cqrs.requests import bootstrap


def commands_mapper(mapper: cqrs.RequestMap) -> None:
    pass


def events_mapper(mapper: cqrs.EventMap) -> None:
    pass


def build() -> None:
    bootstrap.bootstrap(di_container=di.Container(), commands_mapper=events_mapper)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    bootstrap.bootstrap(di_container=di.Container(), domain_events_mapper=commands_mapper)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    events_bootstrap.bootstrap(di_container=di.Container(), events_mapper=commands_mapper)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    streaming: cqrs.StreamingRequestMediator = bootstrap.bootstrap(di.Container())  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    plain: cqrs.RequestMediator = bootstrap.bootstrap_streaming(di.Container())  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    bootstrap.bootstrap(di_container=object())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    print(streaming, plain)
