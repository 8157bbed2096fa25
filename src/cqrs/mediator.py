"""The mediators."""

from cqrs._mediators.event import EventMediator
from cqrs._mediators.request import RequestMediator
from cqrs._mediators.streaming import StreamingRequestMediator
from cqrs._public import claim

__all__ = (
    "EventMediator",
    "RequestMediator",
    "StreamingRequestMediator",
)

claim(__name__, globals(), __all__)
