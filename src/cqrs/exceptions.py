"""Every error the library raises on purpose derives from `CQRSError`."""

from cqrs._errors import (
    ChainExhaustedError,
    CQRSError,
    DependencyResolutionError,
    EventBrokerMissingError,
    FollowUpDepthError,
    HandlerAlreadyBoundError,
    HandlerBindingTypeError,
    InvalidConfigurationError,
    MessageBrokerError,
    MessageDecodeError,
    PublishTimeoutError,
    RequestHandlerDoesNotExist,
    RequestHandlerTypeError,
    ResponseTypeError,
)
from cqrs._public import claim

__all__ = (
    "CQRSError",
    "ChainExhaustedError",
    "DependencyResolutionError",
    "EventBrokerMissingError",
    "FollowUpDepthError",
    "HandlerAlreadyBoundError",
    "HandlerBindingTypeError",
    "InvalidConfigurationError",
    "MessageBrokerError",
    "MessageDecodeError",
    "PublishTimeoutError",
    "RequestHandlerDoesNotExist",
    "RequestHandlerTypeError",
    "ResponseTypeError",
)

claim(__name__, globals(), __all__)
