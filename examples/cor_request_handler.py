"""A chain of responsibility: payment methods asked in order until one takes the payment.

Run: python examples/cor_request_handler.py

`mapper.bind(Pay, [Card, Wallet, BankTransfer])` binds the chain. Each link either
answers or passes the request on with `await self.next(request)`. Links are built
only when asked, the events of every link that ran are processed, and a request no
link takes raises `ChainExhaustedError` instead of returning None.
"""

from __future__ import annotations

import asyncio

import di

import cqrs
from cqrs.requests import bootstrap
from cqrs.requests.cor_request_handler import ChainExhaustedError, CORRequestHandler


class Receipt(cqrs.Response):
    method: str
    amount: int


class Pay(cqrs.Request[Receipt]):
    method: str
    amount: int


class PaymentTried(cqrs.DomainEvent, frozen=True):
    link: str


class _Link(CORRequestHandler[Pay, Receipt]):
    """Shared by the example's links: records that it was asked."""

    method = ""

    def __init__(self) -> None:
        self._events: list[cqrs.Event] = [PaymentTried(link=type(self).__name__)]

    @property
    def events(self) -> list[cqrs.Event]:
        return list(self._events)

    async def handle(self, request: Pay) -> Receipt | None:
        if request.method == self.method:
            return Receipt(method=self.method, amount=request.amount)
        return await self.next(request)


class Card(_Link):
    method = "card"


class Wallet(_Link):
    method = "wallet"


class BankTransfer(_Link):
    method = "bank"


class LogTries(cqrs.EventHandler[PaymentTried]):
    async def handle(self, event: PaymentTried) -> None:
        print(f"  asked {event.link}")


def commands(mapper: cqrs.RequestMap) -> None:
    mapper.bind(Pay, [Card, Wallet, BankTransfer])


def events(mapper: cqrs.EventMap) -> None:
    mapper.bind(PaymentTried, LogTries)


async def main() -> None:
    mediator = bootstrap.bootstrap(
        di_container=di.Container(),
        commands_mapper=commands,
        domain_events_mapper=events,
        concurrent_event_handle_enable=False,  # print the links in the order they ran
    )
    for method in ("card", "wallet", "cash"):
        print(f"pay by {method}:")
        try:
            receipt = await mediator.send(Pay(method=method, amount=10))
        except ChainExhaustedError as error:
            print(f"  refused: {error}")
        else:
            print(f"  paid {receipt.amount} by {receipt.method}")


if __name__ == "__main__":
    asyncio.run(main())
