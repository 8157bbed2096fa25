"""Every error the library raises on purpose derives from `CQRSError`.

The ground floor: it imports nothing from the package, so every other floor can
raise these.
"""

from __future__ import annotations

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


class CQRSError(Exception):
    """Base of every error raised by the library itself."""


class RequestHandlerDoesNotExist(CQRSError, LookupError):  # noqa: N818 - python-cqrs name
    """No handler is bound to the class of the request that was sent."""


class RequestHandlerTypeError(CQRSError, TypeError):
    """The bound handler is of the wrong kind for the call (send vs. stream)."""


class HandlerAlreadyBoundError(CQRSError, KeyError):
    """A request type already has its handler, or an event handler is bound twice."""

    def __str__(self) -> str:
        # KeyError quotes its argument; our message is a sentence, not a key.
        return str(self.args[0]) if self.args else ""


class HandlerBindingTypeError(CQRSError, TypeError):
    """`bind` got a pair whose types do not fit together."""


class InvalidConfigurationError(CQRSError, ValueError):
    """A mediator or processor was built with an invalid setting."""


class EventBrokerMissingError(CQRSError, RuntimeError):
    """A notification event was emitted but no message broker was configured."""


class DependencyResolutionError(CQRSError, LookupError):
    """The container cannot build a handler or one of its dependencies."""


class ChainExhaustedError(CQRSError, LookupError):
    """No link of a chain of responsibility handled the request."""


class MessageBrokerError(CQRSError):
    """A message broker refused a message or could not be reached."""


class PublishTimeoutError(MessageBrokerError, TimeoutError):
    """A message broker did not confirm a publish within the publish timeout."""


class MessageDecodeError(CQRSError, ValueError):
    """A message read from a broker is not one of the registered messages."""


class FollowUpDepthError(CQRSError, RuntimeError):
    """Follow-up events nested deeper than the mediator's `max_follow_up_depth`.

    Usually a cycle: A's handler raises B, and B's raises A.
    """


class ResponseTypeError(CQRSError, TypeError):
    """A handler returned something that is not the response its request declares."""
