"""`LoggingMiddleware`: logs each handler call at DEBUG on the `"cqrs"` logger."""

from __future__ import annotations

import logging

from typing_extensions import TypeVar

from cqrs._interfaces.middleware import Handle

__all__ = ("LoggingMiddleware",)

_MsgT = TypeVar("_MsgT")
_ResT = TypeVar("_ResT")

_logger = logging.getLogger("cqrs")


class LoggingMiddleware:
    """Logs the request and the response at DEBUG; costs one level check otherwise."""

    __slots__ = ("_logger",)

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger if logger is not None else _logger

    async def __call__(self, request: _MsgT, handle: Handle[_MsgT, _ResT], /) -> _ResT:
        """Log `request`, call the handler, log its response."""
        if not self._logger.isEnabledFor(logging.DEBUG):
            return await handle(request)
        self._logger.debug("Handling %s: %r", type(request).__name__, request)
        response = await handle(request)
        self._logger.debug("Handled %s: %r", type(request).__name__, response)
        return response
