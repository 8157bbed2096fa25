"""CoRMermaid: the sequence and class diagrams of a chain, line by line, and its checks."""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Generic, Literal, TypeVar

import pydantic
import pytest

import cqrs
from cqrs._interfaces.cor import CORRequestHandler
from cqrs.exceptions import CQRSError, HandlerBindingTypeError
from cqrs.requests.mermaid import CoRMermaid

T = TypeVar("T")


# --- a payment chain: three links of one request and one response ---------------------


class PaymentResult(cqrs.Response):
    paid_by: str


class Pay(cqrs.Request[PaymentResult]):
    method: str
    amount: int


class CardLink(CORRequestHandler[Pay, PaymentResult]):
    async def handle(self, request: Pay) -> PaymentResult | None:
        if request.method == "card":
            return PaymentResult(paid_by="card")
        return await self.next(request)


class WalletLink(CORRequestHandler[Pay, PaymentResult]):
    async def handle(self, request: Pay) -> PaymentResult | None:
        return await self.next(request)


class BankLink(CORRequestHandler[Pay, PaymentResult]):
    async def handle(self, request: Pay) -> PaymentResult | None:
        return await self.next(request)


PAYMENT_CHAIN = [CardLink, WalletLink, BankLink]


# --- links of other shapes ------------------------------------------------------------


class Item(cqrs.Response):
    sku: str


class Page(pydantic.BaseModel, Generic[T]):
    items: list[T]
    total: int


class Search(cqrs.Request[Page[Item]]):
    text: str


class SearchLink(CORRequestHandler[Search, Page[Item]]):
    async def handle(self, request: Search) -> Page[Item] | None:
        return await self.next(request)


@dataclasses.dataclass
class Receipt(cqrs.DCResponse):
    number: int
    note: str | None = None


@dataclasses.dataclass
class FindReceipt(cqrs.DCRequest[Receipt | None]):
    number: int
    _trace: str = ""


class FindReceiptLink(CORRequestHandler[FindReceipt, Receipt | None]):
    async def handle(self, request: FindReceipt) -> Receipt | None:
        return await self.next(request)


class Forget(cqrs.Request[None]):
    user_id: int


class ForgetLink(CORRequestHandler[Forget, None]):
    async def handle(self, request: Forget) -> None:
        return await self.next(request)


class UntypedLink(CORRequestHandler):  # type: ignore[type-arg]
    async def handle(self, request: Any) -> Any:
        return await self.next(request)


class Echo(cqrs.Request[str]):
    text: str


class EchoLink(CORRequestHandler[Echo, str]):
    async def handle(self, request: Echo) -> str | None:
        return request.text


class Status(cqrs.Request[Literal["ok", "a;b#c"]]):
    pass


class StatusLink(CORRequestHandler[Status, Literal["ok", "a;b#c"]]):
    async def handle(self, request: Status) -> Literal["ok", "a;b#c"] | None:
        return "ok"


SHAPES = [SearchLink, FindReceiptLink, ForgetLink, UntypedLink, EchoLink]

CHAINS = {
    "payment": PAYMENT_CHAIN,
    "one link": [CardLink],
    "shapes": SHAPES,
    "status": [StatusLink],
}


# --- the exact diagrams of the payment chain ------------------------------------------

PAYMENT_SEQUENCE = """\
sequenceDiagram
    participant M as Mediator
    participant L1 as CardLink
    participant L2 as WalletLink
    participant L3 as BankLink
    M->>L1: handle(request)
    alt CardLink handles it
        L1-->>M: PaymentResult
    else CardLink passes it on
        L1->>L2: next(request)
        alt WalletLink handles it
            L2-->>M: PaymentResult
        else WalletLink passes it on
            L2->>L3: next(request)
            alt BankLink handles it
                L3-->>M: PaymentResult
            else BankLink passes it on
                L3-->>M: None (no next link)
                Note over M: raise ChainExhaustedError
            end
        end
    end"""

PAYMENT_CLASS_DIAGRAM = """\
classDiagram
    class CORRequestHandler {
        <<abstract>>
        +events: Sequence[IEvent]
        +handle(request)* Res | None
        +next(request) Res | None
        +set_next(handler) CORRequestHandler
    }
    class CardLink {
        +handle(request) PaymentResult | None
    }
    class WalletLink {
        +handle(request) PaymentResult | None
    }
    class BankLink {
        +handle(request) PaymentResult | None
    }
    class Pay {
        +method: str
        +amount: int
    }
    class PaymentResult {
        +paid_by: str
    }
    CORRequestHandler <|-- CardLink
    CORRequestHandler <|-- WalletLink
    CORRequestHandler <|-- BankLink
    CardLink --> WalletLink : next
    WalletLink --> BankLink : next
    CardLink ..> Pay : handles
    CardLink ..> PaymentResult : returns
    WalletLink ..> Pay : handles
    WalletLink ..> PaymentResult : returns
    BankLink ..> Pay : handles
    BankLink ..> PaymentResult : returns"""


def test_sequence_of_a_three_link_chain_line_by_line() -> None:
    lines = CoRMermaid(PAYMENT_CHAIN).sequence().split("\n")

    assert lines == PAYMENT_SEQUENCE.split("\n")


def test_class_diagram_of_a_three_link_chain_line_by_line() -> None:
    lines = CoRMermaid(PAYMENT_CHAIN).class_diagram().split("\n")

    assert lines == PAYMENT_CLASS_DIAGRAM.split("\n")


def test_the_diagrams_do_not_depend_on_the_sequence_type() -> None:
    from_list = CoRMermaid(PAYMENT_CHAIN)
    from_tuple = CoRMermaid(tuple(PAYMENT_CHAIN))

    assert from_list.sequence() == from_tuple.sequence()
    assert from_list.class_diagram() == from_tuple.class_diagram()


# --- one link -------------------------------------------------------------------------


def test_sequence_of_one_link_asks_it_and_then_raises() -> None:
    lines = CoRMermaid([CardLink]).sequence().split("\n")

    assert lines == [
        "sequenceDiagram",
        "    participant M as Mediator",
        "    participant L1 as CardLink",
        "    M->>L1: handle(request)",
        "    alt CardLink handles it",
        "        L1-->>M: PaymentResult",
        "    else CardLink passes it on",
        "        L1-->>M: None (no next link)",
        "        Note over M: raise ChainExhaustedError",
        "    end",
    ]


def test_class_diagram_of_one_link_has_no_next_edge() -> None:
    lines = CoRMermaid([CardLink]).class_diagram().split("\n")

    assert not [line for line in lines if line.endswith(": next")]
    assert "    CORRequestHandler <|-- CardLink" in lines
    assert "    CardLink ..> Pay : handles" in lines
    assert "    CardLink ..> PaymentResult : returns" in lines


# --- links of different shapes ----------------------------------------------------------


@pytest.fixture(scope="module")
def shapes_diagram() -> list[str]:
    return CoRMermaid(SHAPES).class_diagram().split("\n")


def _block(lines: list[str], head: str) -> list[str]:
    """The member lines of the class whose declaration line is `head`."""
    start = lines.index(f"    {head} {{")
    end = lines.index("    }", start)
    return [line.strip() for line in lines[start + 1 : end]]


def test_every_link_has_a_participant_in_chain_order() -> None:
    lines = CoRMermaid(SHAPES).sequence().split("\n")
    participants = [line.strip() for line in lines if line.strip().startswith("participant L")]

    assert participants == [
        f"participant L{number} as {link.__name__}" for number, link in enumerate(SHAPES, 1)
    ]


def test_every_link_has_a_class_and_an_inheritance_edge(shapes_diagram: list[str]) -> None:
    for link in SHAPES:
        assert f"    class {link.__name__} {{" in shapes_diagram
        assert f"    CORRequestHandler <|-- {link.__name__}" in shapes_diagram


def test_next_edges_follow_the_chain_order(shapes_diagram: list[str]) -> None:
    edges = [line.strip() for line in shapes_diagram if line.endswith(" : next")]

    assert edges == [
        "SearchLink --> FindReceiptLink : next",
        "FindReceiptLink --> ForgetLink : next",
        "ForgetLink --> UntypedLink : next",
        "UntypedLink --> EchoLink : next",
    ]


def test_handle_member_names_the_real_response_type(shapes_diagram: list[str]) -> None:
    assert _block(shapes_diagram, "class SearchLink") == ["+handle(request) Page[Item] | None"]
    # A response type that admits None is not widened a second time.
    assert _block(shapes_diagram, "class FindReceiptLink") == ["+handle(request) Receipt | None"]
    assert _block(shapes_diagram, "class ForgetLink") == ["+handle(request) None"]
    assert _block(shapes_diagram, "class UntypedLink") == ["+handle(request) Any"]
    assert _block(shapes_diagram, "class EchoLink") == ["+handle(request) str | None"]


def test_a_generic_response_gets_an_identifier_and_keeps_its_name_as_label(
    shapes_diagram: list[str],
) -> None:
    assert _block(shapes_diagram, 'class Page_Item["Page[Item]"]') == [
        "+items: list[Item]",
        "+total: int",
    ]
    assert "    SearchLink ..> Page_Item : returns" in shapes_diagram


def test_dataclass_fields_are_listed_private_ones_with_a_minus(
    shapes_diagram: list[str],
) -> None:
    # This module postpones annotations, so dataclass fields keep their source text.
    assert _block(shapes_diagram, "class FindReceipt") == ["+number: int", "-_trace: str"]
    assert _block(shapes_diagram, "class Receipt") == ["+number: int", "+note: str | None"]


def test_a_union_response_points_at_its_class_without_none(shapes_diagram: list[str]) -> None:
    returns = [
        line.strip() for line in shapes_diagram if line.startswith("    FindReceiptLink ..>")
    ]

    assert returns == [
        "FindReceiptLink ..> FindReceipt : handles",
        "FindReceiptLink ..> Receipt : returns",
    ]


def test_none_and_unknown_responses_have_no_class_and_no_returns_edge(
    shapes_diagram: list[str],
) -> None:
    assert not [
        line
        for line in shapes_diagram
        if line.startswith("    ForgetLink ..> ") and "returns" in line
    ]
    assert not [line for line in shapes_diagram if line.startswith("    UntypedLink ..> ")]
    assert not [line for line in shapes_diagram if re.match(r"\s*class (None|Any)\b", line)]


def test_a_class_without_fields_is_declared_without_a_body(shapes_diagram: list[str]) -> None:
    assert '    class Str["str"]' in shapes_diagram
    assert "    EchoLink ..> Str : returns" in shapes_diagram


def test_each_distinct_type_is_declared_once() -> None:
    lines = CoRMermaid([*PAYMENT_CHAIN, SearchLink]).class_diagram().split("\n")
    declared = [line.split()[1].split("[")[0] for line in lines if line.startswith("    class ")]

    assert sorted(declared) == sorted(set(declared))
    assert declared.count("Pay") == 1
    assert declared.count("PaymentResult") == 1


def test_sequence_labels_use_the_readable_response_type() -> None:
    lines = CoRMermaid(SHAPES).sequence().split("\n")
    replies = [line.strip() for line in lines if "-->>M: " in line and "no next link" not in line]

    assert replies == [
        "L1-->>M: Page[Item]",
        "L2-->>M: Receipt | None",
        "L3-->>M: None",
        "L4-->>M: response",
        "L5-->>M: str",
    ]


def test_characters_that_end_a_mermaid_message_are_written_as_entity_codes() -> None:
    lines = CoRMermaid([StatusLink]).sequence().split("\n")

    assert "        L1-->>M: Literal['ok', 'a#59;b#35;c']" in lines


def test_classes_of_the_same_name_get_distinct_identifiers() -> None:
    def make_link() -> type[CORRequestHandler[Pay, PaymentResult]]:
        class Link(CORRequestHandler[Pay, PaymentResult]):
            async def handle(self, request: Pay) -> PaymentResult | None:
                return await self.next(request)

        return Link

    first, second = make_link(), make_link()
    lines = CoRMermaid([first, second]).class_diagram().split("\n")

    # The function's `<locals>` path is left out of the readable name.
    assert "    class Link {" in lines
    assert '    class Link_2["Link"] {' in lines
    assert "    Link --> Link_2 : next" in lines


def test_type_variables_and_nested_classes_get_plain_names() -> None:
    class Outer:
        class Listing(cqrs.Request[Page]):  # type: ignore[type-arg]
            pass

    class ListingLink(CORRequestHandler[Outer.Listing, Page]):  # type: ignore[type-arg]
        async def handle(self, request: Outer.Listing) -> Page | None:  # type: ignore[type-arg]
            return await self.next(request)

    lines = CoRMermaid([ListingLink]).class_diagram().split("\n")

    # `~T` would open a generic in Mermaid: a type variable is written by its name.
    assert _block(lines, "class Page") == ["+items: list[T]", "+total: int"]
    assert '    class Outer_Listing["Outer.Listing"]' in lines
    assert "    ListingLink ..> Outer_Listing : handles" in lines


# --- properties every diagram has -----------------------------------------------------


@pytest.mark.parametrize("chain", CHAINS.values(), ids=CHAINS.keys())
@pytest.mark.parametrize("kind", ["sequence", "class_diagram"])
def test_no_line_has_trailing_whitespace_and_indents_are_four_spaces(
    chain: list[type[CORRequestHandler[Any, Any]]], kind: str
) -> None:
    text: str = getattr(CoRMermaid(chain), kind)()

    assert not text.endswith("\n")
    for line in text.split("\n"):
        assert line == line.rstrip()
        indent = len(line) - len(line.lstrip(" "))
        assert indent % 4 == 0, line


@pytest.mark.parametrize("chain", CHAINS.values(), ids=CHAINS.keys())
def test_sequence_blocks_nest_one_level_per_link_and_all_close(
    chain: list[type[CORRequestHandler[Any, Any]]],
) -> None:
    lines = CoRMermaid(chain).sequence().split("\n")
    open_alts: list[int] = []
    for line in lines[1:]:
        indent = (len(line) - len(line.lstrip())) // 4
        word = line.split()[0]
        if word == "alt":
            assert indent == len(open_alts) + 1, line
            open_alts.append(indent)
        elif word in {"else", "end"}:
            assert open_alts, line
            assert indent == open_alts[-1], line
            if word == "end":
                open_alts.pop()
        else:
            assert indent == len(open_alts) + 1, line

    assert open_alts == []
    assert sum(line.split()[0] == "alt" for line in lines[1:]) == len(chain)


@pytest.mark.parametrize("chain", CHAINS.values(), ids=CHAINS.keys())
def test_class_diagram_edges_join_declared_identifiers(
    chain: list[type[CORRequestHandler[Any, Any]]],
) -> None:
    lines = CoRMermaid(chain).class_diagram().split("\n")
    declared = {
        match.group(1)
        for line in lines
        if (match := re.match(r"    class (\w+)", line)) is not None
    }
    edges = [line.split() for line in lines if re.search(r" (<\|--|-->|\.\.>) ", line)]

    assert all(re.fullmatch(r"[A-Z][A-Za-z0-9_]*", ident) for ident in declared)
    assert edges
    for left, _arrow, right, *_label in edges:
        assert {left, right} <= declared


# --- the checks at construction -------------------------------------------------------


class NotALink:
    pass


@pytest.mark.parametrize(
    ("handlers", "expected"),
    [
        (None, r"expects a sequence of chain link classes.*got None"),
        ("CardLink", r"expects a sequence of chain link classes.*got 'CardLink'"),
        (CardLink, r"got the class CardLink alone; wrap it in a list: CoRMermaid\(\[CardLink\]\)"),
        ([], r"needs at least one chain link class"),
        (
            [CardLink, CardLink()],
            r"handlers\[1\] = an instance of CardLink; pass the class CardLink itself",
        ),
        (
            [NotALink],
            r"handlers\[0\] = the class NotALink, which is not a chain link; pass subclasses of CORRequestHandler",
        ),
        ([CORRequestHandler], r"handlers\[0\] = CORRequestHandler itself"),
        ([CardLink, 42], r"handlers\[1\] = 42, which is not a chain link"),
        (
            [CardLink, WalletLink, CardLink],
            r"got CardLink twice \(handlers\[0\] and handlers\[2\]\); .* list it once",
        ),
    ],
    ids=[
        "none",
        "string",
        "lone class",
        "empty",
        "instance",
        "other class",
        "base class",
        "number",
        "twice",
    ],
)
def test_invalid_handlers_are_rejected_with_the_offender_named(
    handlers: Any, expected: str
) -> None:
    with pytest.raises(HandlerBindingTypeError, match=expected):
        CoRMermaid(handlers)


def test_the_error_is_a_type_error_and_a_cqrs_error() -> None:
    with pytest.raises(TypeError) as caught:
        CoRMermaid([])

    assert isinstance(caught.value, CQRSError)


# --- the object ---------------------------------------------------------------------------


def test_handlers_and_repr_show_the_links_in_order() -> None:
    diagrams = CoRMermaid(PAYMENT_CHAIN)

    assert diagrams.handlers == tuple(PAYMENT_CHAIN)
    assert repr(diagrams) == "CoRMermaid([CardLink, WalletLink, BankLink])"


def test_public_class_reports_a_public_module() -> None:
    assert not CoRMermaid.__module__.startswith("cqrs._")
