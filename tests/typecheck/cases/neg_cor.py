"""Negative: chains whose links do not fit the bound request, and misused links."""

import cqrs
from cqrs.requests.cor_request_handler import CORRequestHandler


class Receipt(cqrs.Response):
    text: str


class Refund(cqrs.Response):
    amount: int


class Pay(cqrs.Request[Receipt]):
    method: str


class PayByCard(Pay):
    pass


class Cancel(cqrs.Request[Receipt]):
    reason: str


class Card(CORRequestHandler[Pay, Receipt]):
    async def handle(self, request: Pay) -> Receipt | None:
        return await self.next(request)


class Wallet(CORRequestHandler[Pay, Receipt]):
    async def handle(self, request: Pay) -> Receipt | None:
        return Receipt(text="wallet")


class CardOnly(CORRequestHandler[PayByCard, Receipt]):
    async def handle(self, request: PayByCard) -> Receipt | None:
        return Receipt(text="card only")


class CancelLink(CORRequestHandler[Cancel, Receipt]):
    async def handle(self, request: Cancel) -> Receipt | None:
        return Receipt(text=request.reason)


class RefundLink(CORRequestHandler[Pay, Refund]):
    async def handle(self, request: Pay) -> Refund | None:
        return Refund(amount=1)


class PayHandler(cqrs.RequestHandler[Pay, Receipt]):
    async def handle(self, request: Pay) -> Receipt:
        return Receipt(text="plain")


class WrongReturn(CORRequestHandler[Pay, Receipt]):
    async def handle(self, request: Pay) -> Refund | None:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        return None


def commands(mapper: cqrs.RequestMap) -> None:
    # A link for another request.
    mapper.bind(Pay, [Card, CancelLink])  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    # A link for a narrower request than the one bound.
    mapper.bind(Pay, [Card, CardOnly])  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    # A link with another response type.
    mapper.bind(Pay, [Card, RefundLink])  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    # Good links, wrong request.
    mapper.bind(Cancel, [Card, Wallet])  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    # A plain request handler is not a link.
    mapper.bind(Pay, [Card, PayHandler])  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]
    # A lone link must be bound as a chain (a list).
    mapper.bind(Pay, Card)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]


def manual() -> None:
    Card().set_next(CancelLink())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    Card().set_next(RefundLink())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
