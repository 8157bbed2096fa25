"""Responses: what request handlers return."""

from cqrs._messages.responses import DCResponse, IResponse, PydanticResponse, Response
from cqrs._public import claim

__all__ = (
    "DCResponse",
    "IResponse",
    "PydanticResponse",
    "Response",
)

claim(__name__, globals(), __all__)
