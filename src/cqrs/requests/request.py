"""Requests: commands and queries."""

from cqrs._messages.requests import DCRequest, IRequest, PydanticRequest, Request
from cqrs._public import claim

__all__ = (
    "DCRequest",
    "IRequest",
    "PydanticRequest",
    "Request",
)

claim(__name__, globals(), __all__)
