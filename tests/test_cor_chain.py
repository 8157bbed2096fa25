"""Chains of responsibility: `RequestMap.bind(Request, [Link1, Link2])`, run for real.

The chains are sent through the mediators `bootstrap` builds, so the links are built by
the container, wrapped by the middlewares, and their events go through the pipeline.
"""

from __future__ import annotations

import collections
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, Protocol, cast

import di
import pytest
from di.dependent import Dependent

import cqrs
from cqrs.exceptions import (
    ChainExhaustedError,
    CQRSError,
    DependencyResolutionError,
    HandlerAlreadyBoundError,
    HandlerBindingTypeError,
    RequestHandlerTypeError,
)
from cqrs.requests import bootstrap
from cqrs.requests.cor_request_handler import CORRequestHandler, HandlerChain, build_chain

# --- messages ---------------------------------------------------------------------------


class Receipt(cqrs.Response):
    paid_by: str


class Price(cqrs.Response):
    amount: int


class Pay(cqrs.Request[Receipt]):
    method: str


class PayByCard(Pay):
    pass


class Refund(cqrs.Request[Receipt]):
    method: str


class Forget(cqrs.Request[None]):
    where: str


class FindReceipt(cqrs.Request[Receipt | None]):
    number: int


class Payment(cqrs.DomainEvent, frozen=True):
    text: str


# --- recorders: links are built by the container, so they report here ------------------


class Journal:
    """What the links of one test did, in order."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.built: list[str] = []
        self.instances: list[object] = []
        self.errors: dict[str, Exception] = {}


JOURNAL: Journal


@pytest.fixture(autouse=True)
def journal() -> Journal:
    global JOURNAL  # noqa: PLW0603 - links are built by the container, not by the test
    JOURNAL = Journal()
    return JOURNAL


class PayLink(CORRequestHandler[Pay, Receipt]):
    """Takes the payment when `request.method` is its `method`; otherwise passes it on.

    Raises one event either way, so the order of the links' events can be checked.
    """

    method: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self._events: list[cqrs.IEvent] = []
        JOURNAL.built.append(type(self).__name__)
        JOURNAL.instances.append(self)

    @property
    def events(self) -> Sequence[cqrs.IEvent]:
        return tuple(self._events)

    async def handle(self, request: Pay) -> Receipt | None:
        JOURNAL.log.append(f"{self.method} asked")
        error = JOURNAL.errors.get(self.method)
        if error is not None:
            raise error
        if request.method == self.method:
            self._events.append(Payment(text=f"{self.method} paid"))
            return Receipt(paid_by=self.method)
        self._events.append(Payment(text=f"{self.method} passed"))
        return await self.next(request)


class CardLink(PayLink):
    method = "card"


class WalletLink(PayLink):
    method = "wallet"


class BankLink(PayLink):
    method = "bank"


class NoSuperLink(CORRequestHandler[Pay, Receipt]):
    """Written like many python-cqrs examples: `__init__` without `super().__init__()`."""

    def __init__(self) -> None:
        self.label = "no super"
        JOURNAL.built.append("NoSuperLink")

    async def handle(self, request: Pay) -> Receipt | None:
        JOURNAL.log.append(f"{self.label} asked")
        return await self.next(request)


class ShrugLink(CORRequestHandler[Pay, Receipt]):
    """Returns None without passing the request on."""

    async def handle(self, request: Pay) -> Receipt | None:
        JOURNAL.log.append("shrug asked")
        return None


class DefaultingLink(CORRequestHandler[Pay, Receipt]):
    """Asks the rest of the chain first, and answers itself when nobody did."""

    async def handle(self, request: Pay) -> Receipt | None:
        answer = await self.next(request)
        return answer if answer is not None else Receipt(paid_by="default")


class PayHandler(cqrs.RequestHandler[Pay, Receipt]):
    async def handle(self, request: Pay) -> Receipt:
        return Receipt(paid_by="plain")


class RefundLink(CORRequestHandler[Refund, Receipt]):
    async def handle(self, request: Refund) -> Receipt | None:
        return await self.next(request)


class PriceLink(CORRequestHandler[Pay, Price]):
    async def handle(self, request: Pay) -> Price | None:
        return await self.next(request)


class AbstractLink(CORRequestHandler[Pay, Receipt]):
    """Declares no `handle`: still abstract."""


class SyncLink(CORRequestHandler[Pay, Receipt]):
    def handle(self, request: Pay) -> Receipt | None:  # type: ignore[override]
        return None


class ForgetLink(CORRequestHandler[Forget, None]):
    where: ClassVar[str] = ""

    def __init__(self) -> None:
        JOURNAL.built.append(type(self).__name__)

    async def handle(self, request: Forget) -> None:
        JOURNAL.log.append(f"{self.where} asked")
        if request.where == self.where:
            JOURNAL.log.append(f"{self.where} forgot")
            return None
        return await self.next(request)


class ForgetLocally(ForgetLink):
    where = "local"


class ForgetRemotely(ForgetLink):
    where = "remote"


class FindInCache(CORRequestHandler[FindReceipt, Receipt | None]):
    async def handle(self, request: FindReceipt) -> Receipt | None:
        JOURNAL.log.append("cache asked")
        if request.number == 1:
            return Receipt(paid_by="cache")
        return await self.next(request)


class FindNowhere(CORRequestHandler[FindReceipt, Receipt | None]):
    """Knows the receipt does not exist: None is its answer."""

    async def handle(self, request: FindReceipt) -> Receipt | None:
        JOURNAL.log.append("nowhere asked")
        return None


class Ledger(Protocol):
    def record(self, text: str) -> str: ...


class MemoryLedger:
    def record(self, text: str) -> str:
        return f"recorded {text}"


class LedgerLink(CORRequestHandler[Pay, Receipt]):
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    async def handle(self, request: Pay) -> Receipt | None:
        return Receipt(paid_by=self._ledger.record(request.method))


class PaymentHandler(cqrs.EventHandler[Payment]):
    async def handle(self, event: Payment) -> None:
        JOURNAL.log.append(f"event {event.text}")


# --- helpers ------------------------------------------------------------------------------


def mediator_for(
    request_type: type[cqrs.IRequest[Any]],
    links: Sequence[type[CORRequestHandler[Any, Any]]],
    container: di.Container | None = None,
    **kwargs: Any,
) -> cqrs.RequestMediator:
    def commands(mapper: cqrs.RequestMap) -> None:
        mapper.bind(cast("Any", request_type), links)

    def events(mapper: cqrs.EventMap) -> None:
        mapper.bind(Payment, PaymentHandler)

    return bootstrap.bootstrap(
        di_container=container if container is not None else di.Container(),
        commands_mapper=commands,
        domain_events_mapper=events,
        concurrent_event_handle_enable=False,
        **kwargs,
    )


PAY_CHAIN: list[type[CORRequestHandler[Pay, Receipt]]] = [CardLink, WalletLink, BankLink]


# --- the first answer wins ----------------------------------------------------------------


async def test_the_first_link_that_answers_wins_and_later_links_are_never_built(
    journal: Journal,
) -> None:
    mediator = mediator_for(Pay, PAY_CHAIN)

    response = await mediator.send(Pay(method="wallet"))

    assert response == Receipt(paid_by="wallet")
    assert journal.built == ["CardLink", "WalletLink"]
    # The events of every link that ran, in order: the card's before the wallet's.
    assert journal.log == ["card asked", "wallet asked", "event card passed", "event wallet paid"]


async def test_the_first_link_answering_builds_only_that_link(journal: Journal) -> None:
    mediator = mediator_for(Pay, PAY_CHAIN)

    assert await mediator.send(Pay(method="card")) == Receipt(paid_by="card")
    assert journal.built == ["CardLink"]
    assert journal.log == ["card asked", "event card paid"]


async def test_the_last_link_can_answer(journal: Journal) -> None:
    mediator = mediator_for(Pay, PAY_CHAIN)

    assert await mediator.send(Pay(method="bank")) == Receipt(paid_by="bank")
    assert journal.log == [
        "card asked",
        "wallet asked",
        "bank asked",
        "event card passed",
        "event wallet passed",
        "event bank paid",
    ]


async def test_a_link_error_propagates_and_no_links_events_are_emitted(
    journal: Journal,
) -> None:
    boom = RuntimeError("wallet service down")
    journal.errors["wallet"] = boom
    mediator = mediator_for(Pay, PAY_CHAIN)

    with pytest.raises(RuntimeError) as caught:
        await mediator.send(Pay(method="bank"))

    assert caught.value is boom
    assert journal.built == ["CardLink", "WalletLink"]
    assert journal.log == ["card asked", "wallet asked"]


async def test_a_link_can_answer_after_the_rest_of_the_chain_passed(journal: Journal) -> None:
    mediator = mediator_for(Pay, [DefaultingLink, CardLink, WalletLink])

    assert await mediator.send(Pay(method="cash")) == Receipt(paid_by="default")
    assert await mediator.send(Pay(method="card")) == Receipt(paid_by="card")


# --- an exhausted chain -------------------------------------------------------------------


async def test_the_last_link_passing_on_raises_chain_exhausted_naming_everything(
    journal: Journal,
) -> None:
    mediator = mediator_for(Pay, PAY_CHAIN)

    with pytest.raises(ChainExhaustedError) as caught:
        await mediator.send(Pay(method="cash"))

    message = str(caught.value)
    assert "CardLink -> WalletLink -> BankLink" in message
    assert "Pay" in message.replace("CardLink", "")
    assert "passed it on" in message
    assert isinstance(caught.value, CQRSError)
    assert journal.built == ["CardLink", "WalletLink", "BankLink"]
    assert not any(entry.startswith("event") for entry in journal.log)


async def test_a_link_returning_none_for_a_non_optional_response_exhausts_the_chain(
    journal: Journal,
) -> None:
    mediator = mediator_for(Pay, [ShrugLink, BankLink])

    with pytest.raises(ChainExhaustedError) as caught:
        await mediator.send(Pay(method="bank"))

    message = str(caught.value)
    assert "ShrugLink -> BankLink" in message
    assert "does not admit" in message
    assert journal.log == ["shrug asked"]
    assert journal.built == []  # BankLink was never asked, so never built


@pytest.mark.parametrize(
    ("where", "built", "log"),
    [
        ("local", ["ForgetLocally"], ["local asked", "local forgot"]),
        (
            "remote",
            ["ForgetLocally", "ForgetRemotely"],
            ["local asked", "remote asked", "remote forgot"],
        ),
    ],
)
async def test_none_is_a_normal_answer_for_a_request_of_none(
    journal: Journal, where: str, built: list[str], log: list[str]
) -> None:
    mediator = mediator_for(Forget, [ForgetLocally, ForgetRemotely])

    # mypy types this result as None: read it as an object to check what came back.
    result = cast("object", await mediator.send(Forget(where=where)))

    assert result is None
    assert journal.built == built
    assert journal.log == log


async def test_the_last_link_passing_on_a_request_of_none_still_raises(journal: Journal) -> None:
    mediator = mediator_for(Forget, [ForgetLocally, ForgetRemotely])

    with pytest.raises(ChainExhaustedError) as caught:
        await mediator.send(Forget(where="moon"))

    message = str(caught.value)
    assert "ForgetLocally -> ForgetRemotely" in message
    assert "Forget" in message.replace("ForgetLocally", "").replace("ForgetRemotely", "")
    assert journal.log == ["local asked", "remote asked"]


async def test_none_is_a_normal_answer_for_an_optional_response(journal: Journal) -> None:
    mediator = mediator_for(FindReceipt, [FindInCache, FindNowhere])

    assert await mediator.send(FindReceipt(number=1)) == Receipt(paid_by="cache")
    assert await mediator.send(FindReceipt(number=2)) is None
    assert journal.log == ["cache asked", "cache asked", "nowhere asked"]


async def test_passing_on_past_the_end_of_an_optional_response_chain_raises() -> None:
    mediator = mediator_for(FindReceipt, [FindInCache])

    with pytest.raises(ChainExhaustedError, match="FindInCache"):
        await mediator.send(FindReceipt(number=2))


# --- how links are built ------------------------------------------------------------------


async def test_links_without_super_init_still_chain(journal: Journal) -> None:
    mediator = mediator_for(Pay, [NoSuperLink, CardLink])

    assert await mediator.send(Pay(method="card")) == Receipt(paid_by="card")
    assert journal.built == ["NoSuperLink", "CardLink"]
    assert journal.log[:2] == ["no super asked", "card asked"]


async def test_a_no_super_link_at_the_end_exhausts_the_chain() -> None:
    mediator = mediator_for(Pay, [CardLink, NoSuperLink])

    with pytest.raises(ChainExhaustedError, match="CardLink -> NoSuperLink"):
        await mediator.send(Pay(method="cash"))


async def test_each_request_gets_fresh_link_instances(journal: Journal) -> None:
    mediator = mediator_for(Pay, PAY_CHAIN)

    await mediator.send(Pay(method="wallet"))
    await mediator.send(Pay(method="wallet"))

    assert journal.built == ["CardLink", "WalletLink", "CardLink", "WalletLink"]
    assert len({id(instance) for instance in journal.instances}) == 4
    # A reused link would keep its events: each send emits only its own two.
    assert journal.log.count("event card passed") == 2
    assert journal.log.count("event wallet paid") == 2


async def test_links_get_their_dependencies_from_the_container() -> None:
    container = di.Container()
    container.bind(di.bind_by_type(Dependent(MemoryLedger, scope="request"), Ledger))
    mediator = mediator_for(Pay, [CardLink, LedgerLink], container)

    assert await mediator.send(Pay(method="cash")) == Receipt(paid_by="recorded cash")


def test_bootstrap_solves_every_link_up_front() -> None:
    with pytest.raises(DependencyResolutionError) as caught:
        mediator_for(Pay, [CardLink, LedgerLink])

    message = str(caught.value)
    assert "LedgerLink" in message
    assert "Ledger" in message.replace("LedgerLink", "")


# --- bind-time errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("links", "names"),
    [
        pytest.param([], ("empty chain", "Pay"), id="empty"),
        pytest.param((), ("empty chain", "Pay"), id="empty-tuple"),
        pytest.param([CardLink, PayHandler], ("PayHandler", "Pay"), id="plain-handler"),
        pytest.param([CardLink, RefundLink], ("RefundLink", "Refund", "Pay"), id="other-request"),
        pytest.param([CardLink, PriceLink], ("PriceLink", "Price", "Receipt"), id="other-response"),
        pytest.param(
            [CardLink, WalletLink, CardLink], ("CardLink", "Pay", "more than once"), id="twice"
        ),
        pytest.param([CardLink, AbstractLink], ("AbstractLink", "Pay", "abstract"), id="abstract"),
        pytest.param([CardLink, ShrugLink()], ("ShrugLink object", "Pay"), id="instance"),
        pytest.param([CardLink, "WalletLink"], ("'WalletLink'", "Pay"), id="string-item"),
        pytest.param([CardLink, SyncLink], ("SyncLink", "coroutine"), id="sync-handle"),
        pytest.param("CardLink", ("'CardLink'", "Pay"), id="string"),
        pytest.param(CardLink, ("CardLink", "Pay", "chain link"), id="bare-link"),
    ],
)
def test_bind_rejects_a_bad_chain_naming_the_culprit(links: Any, names: tuple[str, ...]) -> None:
    requests = cqrs.RequestMap()

    with pytest.raises(HandlerBindingTypeError) as caught:
        requests.bind(Pay, links)

    assert isinstance(caught.value, TypeError)
    message = str(caught.value)
    for name in names:
        assert name in message
    assert len(requests) == 0


async def test_a_tuple_of_links_is_accepted(journal: Journal) -> None:
    requests = cqrs.RequestMap()
    requests.bind(Pay, (CardLink, BankLink))

    chain = requests[Pay]
    assert isinstance(chain, HandlerChain)
    assert chain.links == (CardLink, BankLink)
    assert repr(chain) == "HandlerChain([CardLink, BankLink])"

    mediator = mediator_for(Pay, (CardLink, BankLink))
    assert await mediator.send(Pay(method="bank")) == Receipt(paid_by="bank")
    assert journal.built == ["CardLink", "BankLink"]


async def test_links_of_the_base_request_serve_a_subclass_request() -> None:
    mediator = mediator_for(PayByCard, [CardLink, BankLink])

    assert await mediator.send(PayByCard(method="card")) == Receipt(paid_by="card")


def test_binding_a_chain_to_a_request_twice_is_rejected() -> None:
    requests = cqrs.RequestMap()
    requests.bind(Pay, PAY_CHAIN)

    with pytest.raises(HandlerAlreadyBoundError) as caught:
        requests.bind(Pay, [BankLink])

    message = str(caught.value)
    assert "Pay" in message
    assert "HandlerChain([CardLink, WalletLink, BankLink])" in message
    assert "HandlerChain([BankLink])" in message


# --- manual chains ------------------------------------------------------------------------


async def test_build_chain_links_instances_in_order_and_returns_the_first() -> None:
    card, wallet, bank = CardLink(), WalletLink(), BankLink()

    first = build_chain([card, wallet, bank])

    assert first is card
    assert await first.handle(Pay(method="bank")) == Receipt(paid_by="bank")
    assert await first.handle(Pay(method="wallet")) == Receipt(paid_by="wallet")
    # Outside a mediator an exhausted chain returns None.
    assert await first.handle(Pay(method="cash")) is None


async def test_set_next_returns_its_argument_so_calls_chain() -> None:
    card, wallet, bank = CardLink(), WalletLink(), BankLink()

    assert card.set_next(wallet) is wallet
    assert card.set_next(wallet).set_next(bank) is bank
    assert await card.handle(Pay(method="bank")) == Receipt(paid_by="bank")


async def test_next_of_the_last_link_returns_none(journal: Journal) -> None:
    bank = BankLink()

    assert await bank.next(Pay(method="bank")) is None
    assert journal.log == []


async def test_a_manual_chain_of_links_without_super_init(journal: Journal) -> None:
    first = build_chain([NoSuperLink(), NoSuperLink(), CardLink()])

    assert await first.handle(Pay(method="card")) == Receipt(paid_by="card")
    assert journal.log == ["no super asked", "no super asked", "card asked"]


def test_build_chain_of_nothing_raises_value_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        build_chain([])


# --- the mediators and middlewares --------------------------------------------------------


async def test_streaming_a_chain_is_a_request_handler_type_error() -> None:
    def queries(mapper: cqrs.RequestMap) -> None:
        mapper.bind(Pay, [CardLink, WalletLink])

    mediator = bootstrap.bootstrap_streaming(di_container=di.Container(), queries_mapper=queries)

    with pytest.raises(RequestHandlerTypeError) as caught:
        mediator.stream(Pay(method="card"))

    message = str(caught.value)
    assert "HandlerChain([CardLink, WalletLink])" in message
    assert "send()" in message


class CountingMiddleware:
    def __init__(self) -> None:
        self.requests: list[object] = []

    async def __call__(self, request: Any, handle: Callable[[Any], Awaitable[Any]], /) -> Any:
        self.requests.append(request)
        JOURNAL.log.append("middleware enter")
        response = await handle(request)
        JOURNAL.log.append(f"middleware exit {response!r}")
        return response


async def test_middlewares_wrap_the_whole_chain_once_per_send(journal: Journal) -> None:
    middleware = CountingMiddleware()
    mediator = mediator_for(Pay, PAY_CHAIN, middlewares=[middleware])
    first, second = Pay(method="bank"), Pay(method="card")

    await mediator.send(first)
    await mediator.send(second)

    assert middleware.requests == [first, second]
    assert journal.log[:5] == [
        "middleware enter",
        "card asked",
        "wallet asked",
        "bank asked",
        f"middleware exit {Receipt(paid_by='bank')!r}",
    ]
    assert journal.log.count("middleware enter") == 2


async def test_the_chain_exhausted_error_passes_through_the_middlewares(journal: Journal) -> None:
    middleware = CountingMiddleware()
    mediator = mediator_for(Pay, [CardLink], middlewares=[middleware])

    with pytest.raises(ChainExhaustedError):
        await mediator.send(Pay(method="cash"))

    assert journal.log == ["middleware enter", "card asked"]


def test_a_lone_link_bound_without_a_list_says_to_bind_a_list() -> None:
    requests = cqrs.RequestMap()

    with pytest.raises(HandlerBindingTypeError, match=r"bind\(Pay, \[CardLink\]\)"):
        requests.bind(Pay, cast("Any", CardLink))


def test_any_sequence_of_links_is_a_chain() -> None:
    # The `bind` overload accepts any Sequence; so does the run-time check.
    requests = cqrs.RequestMap()

    requests.bind(Pay, collections.deque([CardLink, WalletLink]))

    assert "CardLink" in repr(requests[Pay])
