"""Requests: commands and queries."""

from cqrs._messages.requests import DCRequest, IRequest, PydanticRequest
from cqrs._public import claim

Request = PydanticRequest

__all__ = (
    "DCRequest",
    "IRequest",
    "PydanticRequest",
    "Request",
)

claim(__name__, globals(), __all__)
