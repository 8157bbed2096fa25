"""Draw a chain of responsibility as Mermaid diagrams.

A payment is offered to three links in turn: the card link, the wallet link and the
bank-transfer link. `CoRMermaid` reads the link classes and prints a sequence diagram
(how a payment travels along the chain) and a class diagram (the links, the request
and response classes, and how they relate), each in a fenced `mermaid` block ready to
paste into Markdown.

Run it from the repository root:

    python examples/cor_mermaid.py
"""

from __future__ import annotations

import cqrs
from cqrs.requests.cor_request_handler import CORRequestHandler
from cqrs.requests.mermaid import CoRMermaid


class PaymentResult(cqrs.Response):
    paid_by: str
    reference: str


class Pay(cqrs.Request[PaymentResult]):
    method: str
    amount_cents: int


class CardLink(CORRequestHandler[Pay, PaymentResult]):
    async def handle(self, request: Pay) -> PaymentResult | None:
        if request.method == "card":
            return PaymentResult(paid_by="card", reference="card-0001")
        return await self.next(request)


class WalletLink(CORRequestHandler[Pay, PaymentResult]):
    async def handle(self, request: Pay) -> PaymentResult | None:
        if request.method == "wallet":
            return PaymentResult(paid_by="wallet", reference="wallet-0001")
        return await self.next(request)


class BankTransferLink(CORRequestHandler[Pay, PaymentResult]):
    async def handle(self, request: Pay) -> PaymentResult | None:
        if request.method == "bank":
            return PaymentResult(paid_by="bank transfer", reference="bank-0001")
        return await self.next(request)


def main() -> None:
    diagrams = CoRMermaid([CardLink, WalletLink, BankTransferLink])
    print("```mermaid")
    print(diagrams.sequence())
    print("```")
    print()
    print("```mermaid")
    print(diagrams.class_diagram())
    print("```")


if __name__ == "__main__":
    main()
