"""cqrs: a typed mediator for commands, queries, streams and events.

Wiring mistakes fail in the type checker: `RequestMap.bind` rejects a handler bound to
the wrong request or response type, and `await mediator.send(GetUser(...))` is typed
with the response `GetUser` declares.
"""

import importlib
from typing import TYPE_CHECKING

from cqrs._adapters.di_container import DIContainer
from cqrs._composites.fallback import EventHandlerFallback, RequestHandlerFallback
from cqrs._diagrams.cor_mermaid import CoRMermaid
from cqrs._dispatch.emitter import EventEmitter
from cqrs._errors import CQRSError
from cqrs._install import refuse_mixed_install as _refuse_mixed_install
from cqrs._interfaces.container import Container
from cqrs._interfaces.handlers import EventHandler, RequestHandler, StreamingRequestHandler
from cqrs._maps.event_map import EventMap
from cqrs._maps.request_map import RequestMap
from cqrs._mediators.event import EventMediator
from cqrs._mediators.request import RequestMediator
from cqrs._mediators.streaming import StreamingRequestMediator
from cqrs._messages.events import (
    DCDomainEvent,
    DCEvent,
    DCNotificationEvent,
    DomainEvent,
    Event,
    IDomainEvent,
    IEvent,
    INotificationEvent,
    NotificationEvent,
    PydanticDomainEvent,
    PydanticEvent,
    PydanticNotificationEvent,
)
from cqrs._messages.requests import DCRequest, IRequest, PydanticRequest, Request
from cqrs._messages.responses import DCResponse, IResponse, PydanticResponse, Response
from cqrs._public import claim

__version__ = "0.1.0"

__all__ = (
    "CQRSError",
    "CoRMermaid",
    "Container",
    "DCDomainEvent",
    "DCEvent",
    "DCNotificationEvent",
    "DCRequest",
    "DCResponse",
    "DIContainer",
    "DeserializeProtobufError",
    "DomainEvent",
    "Event",
    "EventCodec",
    "EventEmitter",
    "EventHandler",
    "EventHandlerFallback",
    "EventMap",
    "EventMediator",
    "EventSerializer",
    "IDomainEvent",
    "IEvent",
    "INotificationEvent",
    "IRequest",
    "IResponse",
    "JsonEventSerializer",
    "NotificationEvent",
    "ProtobufDeserializer",
    "ProtobufEventSerializer",
    "PydanticDomainEvent",
    "PydanticEvent",
    "PydanticNotificationEvent",
    "PydanticRequest",
    "PydanticResponse",
    "Request",
    "RequestHandler",
    "RequestHandlerFallback",
    "RequestMap",
    "RequestMediator",
    "Response",
    "Saga",
    "SagaMap",
    "SagaMediator",
    "SagaMermaid",
    "SagaStepHandler",
    "SagaStepResult",
    "StreamingRequestHandler",
    "StreamingRequestMediator",
)

# The codecs and sagas are loaded on first use (PEP 562): a plain send never needs
# them, and `import cqrs` stays near its dependencies' own import time.
_LAZY = {
    "DeserializeProtobufError": "cqrs._adapters.codecs",
    "EventCodec": "cqrs._adapters.codecs",
    "EventSerializer": "cqrs._adapters.codecs",
    "JsonEventSerializer": "cqrs._adapters.codecs",
    "ProtobufDeserializer": "cqrs._adapters.protobuf_codecs",
    "ProtobufEventSerializer": "cqrs._adapters.protobuf_codecs",
    # Sagas are a package of their own, loaded when first named.
    "Saga": "cqrs.saga.saga",
    "SagaMap": "cqrs.saga.map",
    "SagaMediator": "cqrs.saga.mediator",
    "SagaMermaid": "cqrs.saga.mermaid",
    "SagaStepHandler": "cqrs.saga.step",
    "SagaStepResult": "cqrs.saga.step",
}

if TYPE_CHECKING:
    from cqrs._adapters.codecs import (
        DeserializeProtobufError,
        EventCodec,
        EventSerializer,
        JsonEventSerializer,
    )
    from cqrs._adapters.protobuf_codecs import ProtobufDeserializer, ProtobufEventSerializer
    from cqrs.saga.map import SagaMap
    from cqrs.saga.mediator import SagaMediator
    from cqrs.saga.mermaid import SagaMermaid
    from cqrs.saga.saga import Saga
    from cqrs.saga.step import SagaStepHandler, SagaStepResult


def __getattr__(name: str) -> object:
    module_name = _LAZY.get(name)
    if module_name is None:
        msg = f"module 'cqrs' has no attribute {name!r}"
        raise AttributeError(msg)
    namespace = {name: getattr(importlib.import_module(module_name), name)}
    claim(__name__, namespace, (name,))
    globals()[name] = namespace[name]
    return namespace[name]


claim(__name__, globals(), tuple(name for name in __all__ if name not in _LAZY))
_refuse_mixed_install()
