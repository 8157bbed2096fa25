"""cqrs: a typed mediator for commands, queries, streams and events.

Wiring mistakes fail in the type checker: `RequestMap.bind` rejects a handler bound to
the wrong request or response type, and `await mediator.send(GetUser(...))` is typed
with the response `GetUser` declares.
"""

import importlib
from typing import TYPE_CHECKING

from cqrs._adapters.di_container import DIContainer
from cqrs._composites.fallback import EventHandlerFallback, RequestHandlerFallback
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
from cqrs._messages.events import IDomainEvent, IEvent, INotificationEvent
from cqrs._messages.requests import IRequest
from cqrs._messages.responses import IResponse
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
    "DCStreamingRequest",
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
    "PydanticStreamingRequest",
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
    "StreamingRequest",
    "StreamingRequestHandler",
    "StreamingRequestMediator",
)

# Loaded on first use (PEP 562), so that `import cqrs` stays near its dependencies' own
# import time: a plain send needs none of these modules.
_LAZY = {
    # The concrete message bases: defining a pydantic model class (these are the first
    # ones) loads pydantic's field and type machinery and its plugins. The mediator works
    # with the interfaces (`IRequest`, `IEvent`, ...), which are imported above.
    "DCRequest": "cqrs._messages.request_models",
    "DCStreamingRequest": "cqrs._messages.request_models",
    "PydanticRequest": "cqrs._messages.request_models",
    "PydanticStreamingRequest": "cqrs._messages.request_models",
    "Request": "cqrs._messages.request_models",
    "StreamingRequest": "cqrs._messages.request_models",
    "DCResponse": "cqrs._messages.response_models",
    "PydanticResponse": "cqrs._messages.response_models",
    "Response": "cqrs._messages.response_models",
    "DCDomainEvent": "cqrs._messages.event_models",
    "DCEvent": "cqrs._messages.event_models",
    "DCNotificationEvent": "cqrs._messages.event_models",
    "DomainEvent": "cqrs._messages.event_models",
    "Event": "cqrs._messages.event_models",
    "NotificationEvent": "cqrs._messages.event_models",
    "PydanticDomainEvent": "cqrs._messages.event_models",
    "PydanticEvent": "cqrs._messages.event_models",
    "PydanticNotificationEvent": "cqrs._messages.event_models",
    # The chain diagrams.
    "CoRMermaid": "cqrs._diagrams.cor_mermaid",
    # The event codecs.
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
    from cqrs._diagrams.cor_mermaid import CoRMermaid
    from cqrs._messages.event_models import (
        DCDomainEvent,
        DCEvent,
        DCNotificationEvent,
        DomainEvent,
        Event,
        NotificationEvent,
        PydanticDomainEvent,
        PydanticEvent,
        PydanticNotificationEvent,
    )
    from cqrs._messages.request_models import (
        DCRequest,
        DCStreamingRequest,
        PydanticRequest,
        PydanticStreamingRequest,
        Request,
        StreamingRequest,
    )
    from cqrs._messages.response_models import DCResponse, PydanticResponse, Response
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
