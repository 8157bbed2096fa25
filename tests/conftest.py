"""Shared fixtures for the runtime tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import di
import pytest

import cqrs

MediatorFor = Callable[..., cqrs.RequestMediator]


@pytest.fixture
def mediator_for() -> MediatorFor:
    """Build a `RequestMediator` for one request type and a map of event handlers."""

    def build(
        request_type: type[cqrs.IRequest[Any]],
        handler: type[cqrs.RequestHandler[Any, Any]],
        event_handlers: Mapping[type[cqrs.IEvent], type[cqrs.EventHandler[Any]]],
        *,
        limit: int,
        **kwargs: Any,
    ) -> cqrs.RequestMediator:
        requests = cqrs.RequestMap()
        requests.bind(request_type, handler)
        events = cqrs.EventMap()
        for event_type, event_handler in event_handlers.items():
            events.bind(event_type, event_handler)
        return cqrs.RequestMediator(
            requests,
            cqrs.DIContainer(di.Container()),
            event_map=events,
            max_concurrent_event_handlers=limit,
            **kwargs,
        )

    return build
