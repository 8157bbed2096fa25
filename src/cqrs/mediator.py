"""The mediators."""

from typing import TYPE_CHECKING

from cqrs._mediators.event import EventMediator
from cqrs._mediators.request import RequestMediator
from cqrs._mediators.streaming import StreamingRequestMediator
from cqrs._public import claim

if TYPE_CHECKING:
    from cqrs.saga.mediator import SagaMediator

__all__ = (
    "EventMediator",
    "RequestMediator",
    "SagaMediator",
    "StreamingRequestMediator",
)

claim(__name__, globals(), ("EventMediator", "RequestMediator", "StreamingRequestMediator"))


def __getattr__(name: str) -> object:
    # SagaMediator lives in cqrs.saga, loaded on first use.
    if name == "SagaMediator":
        from cqrs.saga.mediator import SagaMediator

        return SagaMediator
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
