"""Chain-of-responsibility handlers: each link handles a request or passes it on."""

from __future__ import annotations

import abc
import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic

from typing_extensions import TypeVar

from cqrs._interfaces._assignable import assignable_events
from cqrs._messages.events import IEvent
from cqrs._messages.requests import IRequest

__all__ = ("CORRequestHandler", "build_chain")

_ReqT_contra = TypeVar("_ReqT_contra", bound=IRequest[Any], contravariant=True)
# Invariant for the reason given in handlers.py: bind pins it to the declared response.
_ResT = TypeVar("_ResT")
_ReqT = TypeVar("_ReqT", bound=IRequest[Any])

_NO_EVENTS: tuple[IEvent, ...] = ()


class CORRequestHandler(abc.ABC, Generic[_ReqT_contra, _ResT]):
    """One link of a chain of responsibility for a request type.

    `handle` returns a response when this link handles the request, and otherwise
    returns `await self.next(request)`, which asks the next link (and returns None
    after the last one). Bind a chain with `RequestMap.bind(Request, [Link1, Link2])`:
    the mediator builds fresh links per request and links them in that order.

    Example:
        >>> import cqrs
        >>> from cqrs.requests.cor_request_handler import CORRequestHandler
        >>> class Pay(cqrs.Request[str]):
        ...     method: str
        >>> class CardLink(CORRequestHandler[Pay, str]):
        ...     async def handle(self, request: Pay) -> str | None:
        ...         if request.method == "card":
        ...             return "paid by card"
        ...         return await self.next(request)
    """

    # Class-level defaults: links written like python-cqrs examples often define
    # __init__ without calling super().__init__().
    _cqrs_next: CORRequestHandler[Any, Any] | None = None

    @property
    def events(self) -> Sequence[IEvent]:
        """Events raised by this link's last `handle` call."""
        return _NO_EVENTS

    if not TYPE_CHECKING:  # `self.events = [...]` in a subclass works too
        events = assignable_events(events)

    def set_next(
        self, handler: CORRequestHandler[_ReqT_contra, _ResT], /
    ) -> CORRequestHandler[_ReqT_contra, _ResT]:
        """Make `handler` the next link and return it, so calls can be chained."""
        self._cqrs_next = handler
        return handler

    async def next(self, request: _ReqT_contra, /) -> _ResT | None:
        """Pass `request` to the next link; None when this is the last one."""
        following = self._cqrs_next
        if following is None:
            return None
        result: _ResT | None = await following.handle(request)
        return result

    @abc.abstractmethod
    async def handle(self, request: _ReqT_contra, /) -> _ResT | None:
        """Return the response, or `await self.next(request)` to pass the request on."""


def build_chain(
    handlers: Sequence[CORRequestHandler[_ReqT, _ResT]], /
) -> CORRequestHandler[_ReqT, _ResT]:
    """Link `handlers` in order and return the first one.

    Raises:
        ValueError: `handlers` is empty.
    """
    if not handlers:
        msg = "build_chain() needs at least one handler"
        raise ValueError(msg)
    for current, following in itertools.pairwise(handlers):
        current.set_next(following)
    return handlers[0]
