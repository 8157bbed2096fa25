"""A request bound to a chain of responsibility: links asked in order until one answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, cast

from typing_extensions import TypeVar

from cqrs._composites._scoped import using
from cqrs._composites.base import RequestComposite
from cqrs._composites.checks import check_cor_link, declared_response
from cqrs._errors import ChainExhaustedError, HandlerBindingTypeError
from cqrs._interfaces.container import Resolver
from cqrs._interfaces.cor import CORRequestHandler
from cqrs._interfaces.handlers import RequestHandler
from cqrs._introspect import UNKNOWN, is_compatible, type_name
from cqrs._messages.events import IEvent
from cqrs._messages.requests import IRequest

__all__ = ("HandlerChain",)

_ReqT_contra = TypeVar("_ReqT_contra", bound=IRequest[Any], contravariant=True)
_ResT = TypeVar("_ResT")


class HandlerChain(RequestComposite, Generic[_ReqT_contra, _ResT]):
    """What `RequestMap.bind(Request, [Link1, Link2, ...])` binds the request to.

    Per request, the links are built through the container one at a time, only when
    the previous link passes the request on, and each is linked to the next. The
    first response wins. The events of every link that ran are emitted, in order.

    The chain is exhausted when the last link passes the request on, or when it
    returns None although the request's response type does not admit None; the
    mediator then raises `ChainExhaustedError` instead of returning a None that the
    response type hides.

    Raises:
        HandlerBindingTypeError: (a `TypeError`) the chain is empty, holds a class
            twice, or a link is not a `CORRequestHandler` for the request and its
            response type.
    """

    __slots__ = ("_links", "_none_is_a_response", "_request_type")

    def __init__(
        self,
        request_type: type[IRequest[Any]],
        links: Sequence[type[CORRequestHandler[_ReqT_contra, _ResT]]],
        /,
    ) -> None:
        request = type_name(request_type)
        checked = tuple(check_cor_link(request_type, link) for link in _as_links(request, links))
        repeated = {type_name(link) for link in checked if checked.count(link) > 1}
        if repeated:
            msg = f"the chain for {request} holds {', '.join(sorted(repeated))} more than once"
            raise HandlerBindingTypeError(msg)
        self._request_type = request_type
        self._links = checked
        declared = declared_response(request_type)
        self._none_is_a_response = declared is UNKNOWN or is_compatible(type(None), declared)

    @property
    def links(self) -> tuple[type[CORRequestHandler[Any, Any]], ...]:
        """The link classes, in the order they are asked."""
        return self._links

    @property
    def streaming(self) -> bool:
        """Always False: a chain returns one response."""
        return False

    @property
    def members(self) -> tuple[type[Any], ...]:
        """The link classes."""
        return self._links

    def check_request(self, request_type: type[IRequest[Any]], /) -> None:
        """Check every link against `request_type`."""
        for link in self._links:
            check_cor_link(request_type, link)

    async def open(self, container: Resolver, /) -> RequestHandler[Any, Any]:
        """A handler that runs the chain for one request."""
        return _ChainRun(self._links, container, none_is_a_response=self._none_is_a_response)

    def __repr__(self) -> str:
        return f"HandlerChain([{', '.join(type_name(link) for link in self._links)}])"


def _as_links(request: str, links: object) -> tuple[object, ...]:
    # Callers that are not type-checked can pass anything.
    if isinstance(links, (str, bytes)) or not isinstance(links, Sequence):
        msg = f"a chain for {request} must be a list of CORRequestHandler classes, got {links!r}"
        raise HandlerBindingTypeError(msg)
    if not links:
        msg = f"cannot bind an empty chain to {request}: give at least one link"
        raise HandlerBindingTypeError(msg)
    return tuple(cast("Sequence[object]", links))


class _ChainRun(RequestHandler[Any, Any]):
    """One request's walk along the chain."""

    __slots__ = ("_container", "_exhausted", "_links", "_none_is_a_response", "_ran")

    def __init__(
        self,
        links: tuple[type[CORRequestHandler[Any, Any]], ...],
        container: Resolver,
        *,
        none_is_a_response: bool,
    ) -> None:
        self._links = links
        self._container = container
        self._none_is_a_response = none_is_a_response
        self._ran: list[CORRequestHandler[Any, Any]] = []
        self._exhausted = False

    @property
    def events(self) -> Sequence[IEvent]:
        if len(self._ran) == 1:
            return self._ran[0].events
        return [event for link in self._ran for event in link.events]

    async def handle(self, request: IRequest[Any], /) -> Any:  # noqa: ANN401 - see RequestMap
        response = await self.ask(0, request)
        if response is None and (self._exhausted or not self._none_is_a_response):
            names = " -> ".join(type_name(link) for link in self._links)
            how = (
                "the last link passed it on"
                if self._exhausted
                else "the chain returned None, which the request's response type does not admit"
            )
            msg = (
                f"no link of the chain {names} handled {type_name(type(request))}: {how}; "
                "end the chain with a link that always returns a response"
            )
            raise ChainExhaustedError(msg)
        return response

    async def ask(self, index: int, request: IRequest[Any]) -> Any:  # noqa: ANN401 - as above
        if index == len(self._links):
            self._exhausted = True
            return None

        async def run(link: CORRequestHandler[Any, Any]) -> Any:  # noqa: ANN401 - as above
            self._ran.append(link)
            link.set_next(_NextLink(self, index + 1))
            return await link.handle(request)

        # Each link in its own scope, open until it has answered (or the rest has).
        return await using(self._container, self._links[index], run)


class _NextLink(CORRequestHandler[Any, Any]):
    """Stands in as a link's next one, so the next link is built only when asked."""

    __slots__ = ("_index", "_run")

    def __init__(self, run: _ChainRun, index: int) -> None:
        self._run = run
        self._index = index

    async def handle(self, request: IRequest[Any], /) -> Any:  # noqa: ANN401 - as above
        return await self._run.ask(self._index, request)
