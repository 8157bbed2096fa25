"""python-cqrs's dispatchers and request errors (the dispatchers are internal API).

`RequestDispatcher`, `StreamingRequestDispatcher` and `EventDispatcher` are thin
shims over the mediators for code written against python-cqrs that builds them
itself; new code uses `RequestMediator`, `StreamingRequestMediator` and
`EventMediator`.
"""

from cqrs._errors import RequestHandlerDoesNotExist, RequestHandlerTypeError
from cqrs._mediators.dispatchers import (
    EventDispatcher,
    RequestDispatcher,
    RequestDispatchResult,
    StreamingRequestDispatcher,
)
from cqrs._public import claim

__all__ = (
    "EventDispatcher",
    "RequestDispatchResult",
    "RequestDispatcher",
    "RequestHandlerDoesNotExist",
    "RequestHandlerTypeError",
    "StreamingRequestDispatcher",
)

claim(__name__, globals(), __all__)
