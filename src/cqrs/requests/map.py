"""The request map: one handler per request type (and python-cqrs's `SagaMap`)."""

from typing import TYPE_CHECKING

from cqrs._maps.request_map import (
    AnyRequestHandlerType,
    ConcreteRequestHandler,
    ConcreteStreamingRequestHandler,
    RequestBinding,
    RequestClass,
    RequestMap,
)
from cqrs._public import claim

if TYPE_CHECKING:
    from cqrs.saga.map import SagaMap

__all__ = (
    "AnyRequestHandlerType",
    "ConcreteRequestHandler",
    "ConcreteStreamingRequestHandler",
    "RequestBinding",
    "RequestClass",
    "RequestMap",
    "SagaMap",
)

claim(__name__, globals(), __all__[:-1])


def __getattr__(name: str) -> object:
    # python-cqrs defines SagaMap here; ours lives in cqrs.saga, loaded on first use.
    if name == "SagaMap":
        from cqrs.saga.map import SagaMap

        return SagaMap
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
