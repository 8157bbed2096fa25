"""Positive: a chain of responsibility keeps the request and response types of its links."""

from typing import Any

import di
from typing_extensions import assert_type

import cqrs
from cqrs.requests import bootstrap
from cqrs.requests.cor_request_handler import CORRequestHandler, build_chain
from cqrs.requests.mermaid import CoRMermaid


class Receipt(cqrs.Response):
    text: str


class Pay(cqrs.Request[Receipt]):
    method: str


class PayByCard(Pay):
    pass


class Card(CORRequestHandler[Pay, Receipt]):
    async def handle(self, request: Pay) -> Receipt | None:
        if request.method == "card":
            return Receipt(text="card")
        return await self.next(request)


class Wallet(CORRequestHandler[Pay, Receipt]):
    def __init__(self) -> None:  # no super().__init__(): still a working link
        self._events: list[cqrs.Event] = []

    @property
    def events(self) -> list[cqrs.Event]:
        return self._events

    async def handle(self, request: Pay) -> Receipt | None:
        next_result = await self.next(request)
        assert_type(next_result, Receipt | None)
        return next_result


class AnyRequest(CORRequestHandler[cqrs.IRequest[Any], Receipt]):
    """A link for any request with this response: fits every chain of such requests."""

    async def handle(self, request: cqrs.IRequest[Any]) -> Receipt | None:
        return Receipt(text="default")


def commands(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Pay, [Card, Wallet, AnyRequest])


def subclass_commands(mapper: cqrs.RequestMap) -> None:
    mapper.bind(PayByCard, (Card, AnyRequest))


async def main() -> None:
    mediator = bootstrap.bootstrap(di_container=di.Container(), commands_mapper=commands)
    assert_type(await mediator.send(Pay(method="card")), Receipt)

    card, wallet, default = Card(), Wallet(), AnyRequest()
    assert_type(card.set_next(wallet), CORRequestHandler[Pay, Receipt])
    assert_type(card.set_next(default), CORRequestHandler[Pay, Receipt])
    chain = build_chain([card, wallet])
    assert_type(chain, CORRequestHandler[Pay, Receipt])
    assert_type(await chain.handle(Pay(method="cash")), Receipt | None)


diagram = CoRMermaid([Card, Wallet, AnyRequest])
assert_type(diagram.sequence(), str)
assert_type(diagram.class_diagram(), str)
assert_type(cqrs.CoRMermaid((Card,)).sequence(), str)
