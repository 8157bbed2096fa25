"""One-call set-up of `RequestMediator` and `StreamingRequestMediator`."""

from cqrs._bootstrap._common import AnyContainer, EventsMapper, RequestsMapper, StartupHook
from cqrs._bootstrap.requests import (
    bootstrap,
    bootstrap_streaming,
    setup_event_emitter,
    setup_mediator,
    setup_streaming_mediator,
)
from cqrs._public import claim

__all__ = (
    "AnyContainer",
    "EventsMapper",
    "RequestsMapper",
    "StartupHook",
    "bootstrap",
    "bootstrap_streaming",
    "setup_event_emitter",
    "setup_mediator",
    "setup_streaming_mediator",
)

claim(__name__, globals(), __all__)
