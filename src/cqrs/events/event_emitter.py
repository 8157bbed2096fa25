"""The event emitter: one event to its handlers or to the broker."""

from cqrs._dispatch.emitter import EmitOutcome, EventEmitter, EventHandlingFailure
from cqrs._public import claim

__all__ = (
    "EmitOutcome",
    "EventEmitter",
    "EventHandlingFailure",
)

claim(__name__, globals(), __all__)
