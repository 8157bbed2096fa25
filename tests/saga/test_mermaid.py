"""SagaMermaid: the sequence and class diagrams of sagas, line by line.

No `from __future__ import annotations` here on purpose: the dataclass fields below
keep real types (`list[str]`, `str | None`), which the class diagram must render in
full.
"""

import dataclasses
from typing import Generic, Optional, TypeVar

import pytest

import cqrs
from cqrs.saga.fallback import Fallback
from cqrs.saga.mermaid import SagaMermaid
from cqrs.saga.models import SagaContext
from cqrs.saga.saga import Saga
from cqrs.saga.step import SagaStepHandler, SagaStepResult

T = TypeVar("T")


# --- an order saga: one context, a pydantic response, a dataclass response, none ------


@dataclasses.dataclass
class OrderContext(SagaContext):
    order_id: str
    items: list[str] = dataclasses.field(default_factory=list)
    coupon: str | None = None


class Reserved(cqrs.Response):
    reservation_id: str
    skus: list[str] = []
    hold_minutes: Optional[int] = None  # noqa: UP045 - rendered as `int | None`


@dataclasses.dataclass
class Charged(cqrs.DCResponse):
    amount: int
    fees: dict[str, int] = dataclasses.field(default_factory=dict)


class Reserve(SagaStepHandler[OrderContext, Reserved]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Reserved]:
        return self._generate_step_result(Reserved(reservation_id="r1"))

    async def compensate(self, context: OrderContext) -> None:
        return None


class Charge(SagaStepHandler[OrderContext, Charged]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Charged]:
        return self._generate_step_result(Charged(amount=10))

    async def compensate(self, context: OrderContext) -> None:
        return None


class ChargeLater(SagaStepHandler[OrderContext, Charged]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Charged]:
        return self._generate_step_result(Charged(amount=0))

    async def compensate(self, context: OrderContext) -> None:
        return None


class Ship(SagaStepHandler[OrderContext, None]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, None]:
        return self._generate_step_result(None)

    async def compensate(self, context: OrderContext) -> None:
        return None


class ShipLater(SagaStepHandler[OrderContext, None]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, None]:
        return self._generate_step_result(None)

    async def compensate(self, context: OrderContext) -> None:
        return None


class OrderSaga(Saga[OrderContext]):
    steps = [Reserve, Charge, Ship]


class FallbackSaga(Saga[OrderContext]):
    steps = [
        Reserve,
        Fallback(step=Charge, fallback=ChargeLater),
        Fallback(step=Ship, fallback=ShipLater),
    ]


class SingleStepSaga(Saga[OrderContext]):
    steps = [Reserve]


class SingleFallbackSaga(Saga[OrderContext]):
    steps = [Fallback(step=Charge, fallback=ChargeLater)]


class Empty(Saga[OrderContext]):
    steps = []


class RepeatedSaga(Saga[OrderContext]):
    steps = [Charge, Reserve, Charge]


# --- steps of other shapes --------------------------------------------------------------


class Refund(SagaStepHandler[OrderContext, None]):
    step_id = "refund-v2"

    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, None]:
        return self._generate_step_result(None)

    async def compensate(self, context: OrderContext) -> None:
        return None


class Audit(SagaStepHandler[OrderContext, None]):
    step_id = "audit#1;x"

    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, None]:
        return self._generate_step_result(None)

    async def compensate(self, context: OrderContext) -> None:
        return None


class DeclaredIdSaga(Saga[OrderContext]):
    steps = [Refund, Refund, Audit]


class ReserveInventoryAndNotifyWarehouse(SagaStepHandler[OrderContext, Reserved]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Reserved]:
        return self._generate_step_result(Reserved(reservation_id="r1"))

    async def compensate(self, context: OrderContext) -> None:
        return None


class ReserveInventoryLaterThroughTheQueue(SagaStepHandler[OrderContext, Reserved]):
    step_id = "reserve-inventory-later-through-the-queue"

    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Reserved]:
        return self._generate_step_result(Reserved(reservation_id="r2"))

    async def compensate(self, context: OrderContext) -> None:
        return None


class LongNamesSaga(Saga[OrderContext]):
    steps = [
        Fallback(
            step=ReserveInventoryAndNotifyWarehouse,
            fallback=ReserveInventoryLaterThroughTheQueue,
        ),
    ]


class ChargeAgain(Charge):
    """Declares no type arguments itself: they come from `Charge`."""


class Item(cqrs.Response):
    sku: str


class Page(cqrs.Response, Generic[T]):
    rows: list[T]
    total: int


class Search(SagaStepHandler[OrderContext, Page[Item]]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Page[Item]]:
        return self._generate_step_result(Page[Item](rows=[], total=0))

    async def compensate(self, context: OrderContext) -> None:
        return None


class MaybeReserve(SagaStepHandler[OrderContext, Reserved | None]):
    async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, Reserved | None]:
        return self._generate_step_result(None)

    async def compensate(self, context: OrderContext) -> None:
        return None


class ShapesSaga(Saga[OrderContext]):
    steps = [ChargeAgain, Search, MaybeReserve]


def _pay_step() -> type[SagaStepHandler[OrderContext, None]]:
    class Pay(SagaStepHandler[OrderContext, None]):
        async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, None]:
            return self._generate_step_result(None)

        async def compensate(self, context: OrderContext) -> None:
            return None

    return Pay


class SameNameSaga(Saga[OrderContext]):
    steps = [_pay_step(), _pay_step()]


SAGAS: dict[str, Saga[OrderContext]] = {
    "three steps": OrderSaga(),
    "fallbacks": FallbackSaga(),
    "single step": SingleStepSaga(),
    "single fallback": SingleFallbackSaga(),
    "empty": Empty(),
    "repeated step": RepeatedSaga(),
    "declared ids": DeclaredIdSaga(),
    "long names": LongNamesSaga(),
    "shapes": ShapesSaga(),
    "same names": SameNameSaga(),
}

STEP_MEMBERS = """\
        +act(context) SagaStepResult
        +compensate(context) void
        +events: List[Event]"""

SAGA_BLOCK = """\
    class Saga {
        +steps: List[SagaStepHandler]
        +transaction(context) SagaTransaction
    }"""

ORDER_CONTEXT_BLOCK = """\
    class OrderContext {
        +order_id: str
        +items: list[str]
        +coupon: str | None
    }"""

CHARGED_BLOCK = """\
    class Charged {
        +amount: int
        +fees: dict[str, int]
    }"""

RESERVED_BLOCK = """\
    class Reserved {
        +reservation_id: str
        +skus: list[str]
        +hold_minutes: int | None
    }"""


def _lines(text: str) -> list[str]:
    return text.split("\n")


# --- a saga of three steps ----------------------------------------------------------------

ORDER_SEQUENCE = """\
sequenceDiagram
    participant S as Saga
    participant S1 as Reserve
    participant S2 as Charge
    participant S3 as Ship

    Note over S: Successful Execution Flow
    S->>S1: act()
    S1-->>S: success
    S->>S2: act()
    S2-->>S: success
    S->>S3: act()
    S3-->>S: success
    Note over S: Saga Completed

    Note over S: Failure & Compensation Flow
    S->>S1: act()
    S1-->>S: success
    S->>S2: act()
    S2-->>S: success
    S->>S3: act()
    S3-->>S: error

    Note over S: Compensation (reverse order)
    S->>S2: compensate()
    S2-->>S: success
    S->>S1: compensate()
    S1-->>S: success
    Note over S: Saga Failed"""

ORDER_CLASS_DIAGRAM = """\
classDiagram
    class Saga {
        +steps: List[SagaStepHandler]
        +transaction(context) SagaTransaction
    }

    class Reserve {
        +act(context) SagaStepResult
        +compensate(context) void
        +events: List[Event]
    }

    class Charge {
        +act(context) SagaStepResult
        +compensate(context) void
        +events: List[Event]
    }

    class Ship {
        +act(context) SagaStepResult
        +compensate(context) void
        +events: List[Event]
    }

    class OrderContext {
        +order_id: str
        +items: list[str]
        +coupon: str | None
    }

    class Charged {
        +amount: int
        +fees: dict[str, int]
    }

    class Reserved {
        +reservation_id: str
        +skus: list[str]
        +hold_minutes: int | None
    }

    %% Saga relationships
    Saga --> Reserve : contains
    Saga --> Charge : contains
    Saga --> Ship : contains

    %% Step to Context relationships
    Reserve ..> OrderContext : uses
    Charge ..> OrderContext : uses
    Ship ..> OrderContext : uses

    %% Step to Response relationships
    Reserve ..> Reserved : returns
    Charge ..> Charged : returns"""


def test_sequence_of_a_three_step_saga_line_by_line() -> None:
    assert _lines(SagaMermaid(OrderSaga()).sequence()) == _lines(ORDER_SEQUENCE)


def test_class_diagram_of_a_three_step_saga_line_by_line() -> None:
    assert _lines(SagaMermaid(OrderSaga()).class_diagram()) == _lines(ORDER_CLASS_DIAGRAM)


def test_a_pydantic_response_lists_its_model_fields_with_full_generic_types() -> None:
    diagram = _lines(SagaMermaid(OrderSaga()).class_diagram())

    assert "        +skus: list[str]" in diagram
    assert "        +hold_minutes: int | None" in diagram
    assert "        +skus: list" not in diagram


def test_a_dataclass_response_and_the_context_list_their_dataclass_fields() -> None:
    diagram = SagaMermaid(OrderSaga()).class_diagram()

    assert CHARGED_BLOCK in diagram
    assert ORDER_CONTEXT_BLOCK in diagram


def test_a_step_that_returns_none_has_no_response_class_and_no_returns_edge() -> None:
    diagram = _lines(SagaMermaid(OrderSaga()).class_diagram())

    assert "    Ship ..> OrderContext : uses" in diagram
    assert not [line for line in diagram if line.startswith("    Ship ..>") and "returns" in line]
    assert "    class None {" not in diagram
    assert "    class NoneType {" not in diagram


# --- Fallbacks in the middle and at the end ---------------------------------------------

FALLBACK_SEQUENCE = """\
sequenceDiagram
    participant S as Saga
    participant S1 as Reserve
    participant S2 as Charge
    participant F2 as ChargeLater (fallback)
    participant S3 as Ship
    participant F3 as ShipLater (fallback)

    Note over S: Successful Execution Flow
    S->>S1: act()
    S1-->>S: success
    S->>S2: act()
    S2-->>S: success
    S->>S3: act()
    S3-->>S: success
    Note over S: Saga Completed

    Note over S: Failure & Compensation Flow
    S->>S1: act()
    S1-->>S: success
    S->>S2: act()
    S2-->>S: success
    S->>S3: act()
    S3-->>S: error
    Note over S: Fallback triggered
    S->>F3: act()
    F3-->>S: error

    Note over S: Compensation (reverse order)
    S->>S2: compensate()
    S2-->>S: success
    S->>S1: compensate()
    S1-->>S: success
    Note over S: Saga Failed"""

FALLBACK_CLASS_DIAGRAM = f"""\
classDiagram
{SAGA_BLOCK}

    class Reserve {{
{STEP_MEMBERS}
    }}

    class Charge {{
{STEP_MEMBERS}
    }}

    class ChargeLater {{
{STEP_MEMBERS}
    }}

    class Ship {{
{STEP_MEMBERS}
    }}

    class ShipLater {{
{STEP_MEMBERS}
    }}

{ORDER_CONTEXT_BLOCK}

{CHARGED_BLOCK}

{RESERVED_BLOCK}

    %% Saga relationships
    Saga --> Reserve : contains
    Saga --> Charge : contains
    Saga --> ChargeLater : contains
    Saga --> Ship : contains
    Saga --> ShipLater : contains

    %% Step to Context relationships
    Reserve ..> OrderContext : uses
    Charge ..> OrderContext : uses
    ChargeLater ..> OrderContext : uses
    Ship ..> OrderContext : uses
    ShipLater ..> OrderContext : uses

    %% Step to Response relationships
    Reserve ..> Reserved : returns
    Charge ..> Charged : returns
    ChargeLater ..> Charged : returns"""


def test_sequence_with_fallbacks_in_the_middle_and_at_the_end() -> None:
    # The failing last entry is a Fallback: its fallback fails too, or the saga
    # would not compensate (python-cqrs shows it succeeding and compensating anyway).
    assert _lines(SagaMermaid(FallbackSaga()).sequence()) == _lines(FALLBACK_SEQUENCE)


def test_class_diagram_with_fallbacks_has_a_block_for_primary_and_fallback() -> None:
    diagram = SagaMermaid(FallbackSaga()).class_diagram()

    assert _lines(diagram) == _lines(FALLBACK_CLASS_DIAGRAM)


def test_the_shared_blocks_match_the_three_step_diagram() -> None:
    # Guards the f-string pieces used above against drifting from the literal diagram.
    for block in (SAGA_BLOCK, ORDER_CONTEXT_BLOCK, CHARGED_BLOCK, RESERVED_BLOCK):
        assert block in ORDER_CLASS_DIAGRAM
    assert f"    class Reserve {{\n{STEP_MEMBERS}\n    }}" in ORDER_CLASS_DIAGRAM


# --- one step, one Fallback, no step ------------------------------------------------------

SINGLE_STEP_SEQUENCE = """\
sequenceDiagram
    participant S as Saga
    participant S1 as Reserve

    Note over S: Successful Execution Flow
    S->>S1: act()
    S1-->>S: success
    Note over S: Saga Completed

    Note over S: Failure & Compensation Flow
    S->>S1: act()
    S1-->>S: error
    Note over S: No compensation needed (step failed before completion)
    Note over S: Saga Failed"""

SINGLE_STEP_CLASS_DIAGRAM = """\
classDiagram
    class Saga {
        +steps: List[SagaStepHandler]
        +transaction(context) SagaTransaction
    }

    class Reserve {
        +act(context) SagaStepResult
        +compensate(context) void
        +events: List[Event]
    }

    class OrderContext {
        +order_id: str
        +items: list[str]
        +coupon: str | None
    }

    class Reserved {
        +reservation_id: str
        +skus: list[str]
        +hold_minutes: int | None
    }

    %% Saga relationships
    Saga --> Reserve : contains

    %% Step to Context relationships
    Reserve ..> OrderContext : uses

    %% Step to Response relationships
    Reserve ..> Reserved : returns"""

SINGLE_FALLBACK_SEQUENCE = """\
sequenceDiagram
    participant S as Saga
    participant S1 as Charge
    participant F1 as ChargeLater (fallback)

    Note over S: Successful Execution Flow
    S->>S1: act()
    S1-->>S: success
    Note over S: Saga Completed

    Note over S: Failure & Compensation Flow
    S->>S1: act()
    S1-->>S: error
    Note over S: Fallback triggered
    S->>F1: act()
    F1-->>S: error
    Note over S: No compensation needed (step failed before completion)
    Note over S: Saga Failed"""

SINGLE_FALLBACK_CLASS_DIAGRAM = """\
classDiagram
    class Saga {
        +steps: List[SagaStepHandler]
        +transaction(context) SagaTransaction
    }

    class Charge {
        +act(context) SagaStepResult
        +compensate(context) void
        +events: List[Event]
    }

    class ChargeLater {
        +act(context) SagaStepResult
        +compensate(context) void
        +events: List[Event]
    }

    class OrderContext {
        +order_id: str
        +items: list[str]
        +coupon: str | None
    }

    class Charged {
        +amount: int
        +fees: dict[str, int]
    }

    %% Saga relationships
    Saga --> Charge : contains
    Saga --> ChargeLater : contains

    %% Step to Context relationships
    Charge ..> OrderContext : uses
    ChargeLater ..> OrderContext : uses

    %% Step to Response relationships
    Charge ..> Charged : returns
    ChargeLater ..> Charged : returns"""


def test_sequence_of_a_single_step() -> None:
    assert _lines(SagaMermaid(SingleStepSaga()).sequence()) == _lines(SINGLE_STEP_SEQUENCE)


def test_class_diagram_of_a_single_step() -> None:
    diagram = SagaMermaid(SingleStepSaga()).class_diagram()

    assert _lines(diagram) == _lines(SINGLE_STEP_CLASS_DIAGRAM)


def test_sequence_of_a_single_fallback_fails_only_after_the_fallback_fails() -> None:
    sequence = SagaMermaid(SingleFallbackSaga()).sequence()

    assert _lines(sequence) == _lines(SINGLE_FALLBACK_SEQUENCE)
    # python-cqrs prints "Saga Completed (via fallback)" and then "Saga Failed".
    assert "via fallback" not in sequence


def test_class_diagram_of_a_single_fallback() -> None:
    diagram = SagaMermaid(SingleFallbackSaga()).class_diagram()

    assert _lines(diagram) == _lines(SINGLE_FALLBACK_CLASS_DIAGRAM)


def test_an_empty_saga_says_it_has_no_steps() -> None:
    diagrams = SagaMermaid(Empty())

    assert diagrams.sequence() == (
        "sequenceDiagram\n    participant S as Saga\n    Note over S: No steps configured"
    )
    # A Mermaid note on a class is `note for Name "text"`; python-cqrs's
    # `Note for Saga: ...` is read by Mermaid as a second class.
    assert diagrams.class_diagram() == (
        'classDiagram\n    class Saga\n    note for Saga "No steps configured"'
    )


# --- the same step twice, declared ids, long names --------------------------------------

REPEATED_SEQUENCE = """\
sequenceDiagram
    participant S as Saga
    participant S1 as Charge
    participant S2 as Reserve
    participant S3 as Charge (Charge#35;2)

    Note over S: Successful Execution Flow
    S->>S1: act()
    S1-->>S: success
    S->>S2: act()
    S2-->>S: success
    S->>S3: act()
    S3-->>S: success
    Note over S: Saga Completed

    Note over S: Failure & Compensation Flow
    S->>S1: act()
    S1-->>S: success
    S->>S2: act()
    S2-->>S: success
    S->>S3: act()
    S3-->>S: error

    Note over S: Compensation (reverse order)
    S->>S2: compensate()
    S2-->>S: success
    S->>S1: compensate()
    S1-->>S: success
    Note over S: Saga Failed"""

REPEATED_CLASS_DIAGRAM = f"""\
classDiagram
{SAGA_BLOCK}

    class Charge {{
{STEP_MEMBERS}
    }}

    class Reserve {{
{STEP_MEMBERS}
    }}

{ORDER_CONTEXT_BLOCK}

{CHARGED_BLOCK}

{RESERVED_BLOCK}

    %% Saga relationships
    Saga --> Charge : contains
    Saga --> Reserve : contains

    %% Step to Context relationships
    Charge ..> OrderContext : uses
    Reserve ..> OrderContext : uses

    %% Step to Response relationships
    Charge ..> Charged : returns
    Reserve ..> Reserved : returns"""


def test_a_repeated_step_gets_a_participant_per_use_and_arrows_to_each() -> None:
    # `#35;` is Mermaid's code for `#`, which would start a comment and cut the label;
    # the rendered label reads "Charge (Charge#2)", the step's id in the saga's log.
    assert _lines(SagaMermaid(RepeatedSaga()).sequence()) == _lines(REPEATED_SEQUENCE)


def test_a_repeated_step_class_is_drawn_once_in_the_class_diagram() -> None:
    diagram = SagaMermaid(RepeatedSaga()).class_diagram()

    assert _lines(diagram) == _lines(REPEATED_CLASS_DIAGRAM)


def test_declared_step_ids_are_shown_beside_the_class_name() -> None:
    lines = _lines(SagaMermaid(DeclaredIdSaga()).sequence())

    assert lines[:5] == [
        "sequenceDiagram",
        "    participant S as Saga",
        "    participant S1 as Refund (refund-v2)",
        "    participant S2 as Refund (refund-v2#35;2)",
        "    participant S3 as Audit (audit#35;1#59;x)",
    ]
    assert lines[-4:] == [
        "    S2-->>S: success",
        "    S->>S1: compensate()",
        "    S1-->>S: success",
        "    Note over S: Saga Failed",
    ]


def test_declared_step_ids_leave_the_class_diagram_to_class_names() -> None:
    lines = _lines(SagaMermaid(DeclaredIdSaga()).class_diagram())

    assert [line for line in lines if line.startswith("    class ")] == [
        "    class Saga {",
        "    class Refund {",
        "    class Audit {",
        "    class OrderContext {",
    ]
    assert lines[-8:] == [
        "    Saga --> Refund : contains",
        "    Saga --> Audit : contains",
        "",
        "    %% Step to Context relationships",
        "    Refund ..> OrderContext : uses",
        "    Audit ..> OrderContext : uses",
        "",
        "    %% Step to Response relationships",
    ]


def test_names_over_thirty_characters_are_cut_in_the_sequence_only() -> None:
    diagrams = SagaMermaid(LongNamesSaga())
    sequence = _lines(diagrams.sequence())
    classes = _lines(diagrams.class_diagram())

    assert sequence[:4] == [
        "sequenceDiagram",
        "    participant S as Saga",
        "    participant S1 as ReserveInventoryAndNotifyWa...",
        "    participant F1 as ReserveInventoryLaterThroug... (reserve-inventory-later-thr...) (fallback)",
    ]
    assert "    class ReserveInventoryAndNotifyWarehouse {" in classes
    assert "    class ReserveInventoryLaterThroughTheQueue {" in classes
    assert "    ReserveInventoryLaterThroughTheQueue ..> Reserved : returns" in classes


def test_a_name_of_exactly_thirty_characters_is_kept_whole() -> None:
    class AStepNameOfExactlyThirtyChars_(SagaStepHandler[OrderContext, None]):
        async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, None]:
            return self._generate_step_result(None)

        async def compensate(self, context: OrderContext) -> None:
            return None

    class ThirtySaga(Saga[OrderContext]):
        steps = [AStepNameOfExactlyThirtyChars_]

    assert len(AStepNameOfExactlyThirtyChars_.__name__) == 30
    lines = _lines(SagaMermaid(ThirtySaga()).sequence())
    assert lines[2] == "    participant S1 as AStepNameOfExactlyThirtyChars_"


def test_a_local_step_class_shows_no_id_when_the_id_is_its_qualified_name() -> None:
    class Local(SagaStepHandler[OrderContext, None]):
        async def act(self, context: OrderContext) -> SagaStepResult[OrderContext, None]:
            return self._generate_step_result(None)

        async def compensate(self, context: OrderContext) -> None:
            return None

    class LocalSaga(Saga[OrderContext]):
        steps = [Local]

    assert _lines(SagaMermaid(LocalSaga()).sequence())[2] == "    participant S1 as Local"


# --- types read through bases, generic and optional responses, same names ---------------

SHAPES_CLASS_DIAGRAM = f"""\
classDiagram
{SAGA_BLOCK}

    class ChargeAgain {{
{STEP_MEMBERS}
    }}

    class Search {{
{STEP_MEMBERS}
    }}

    class MaybeReserve {{
{STEP_MEMBERS}
    }}

{ORDER_CONTEXT_BLOCK}

{CHARGED_BLOCK}

    class Page_Item["Page[Item]"] {{
        +rows: list[Item]
        +total: int
    }}

{RESERVED_BLOCK}

    %% Saga relationships
    Saga --> ChargeAgain : contains
    Saga --> Search : contains
    Saga --> MaybeReserve : contains

    %% Step to Context relationships
    ChargeAgain ..> OrderContext : uses
    Search ..> OrderContext : uses
    MaybeReserve ..> OrderContext : uses

    %% Step to Response relationships
    ChargeAgain ..> Charged : returns
    Search ..> Page_Item : returns
    MaybeReserve ..> Reserved : returns"""


def test_types_come_through_bases_and_generic_and_optional_responses() -> None:
    # ChargeAgain declares no type arguments; Page[Item] is not a Mermaid name;
    # `Reserved | None` points at Reserved.
    diagram = SagaMermaid(ShapesSaga()).class_diagram()

    assert _lines(diagram) == _lines(SHAPES_CLASS_DIAGRAM)


def test_classes_that_share_a_name_get_distinct_identifiers() -> None:
    diagrams = SagaMermaid(SameNameSaga())
    sequence = _lines(diagrams.sequence())
    classes = _lines(diagrams.class_diagram())

    assert sequence[2:4] == [
        "    participant S1 as Pay",
        "    participant S2 as Pay (_pay_step.<locals>.Pay#35;2)",
    ]
    assert [line for line in classes if line.startswith("    class ")] == [
        "    class Saga {",
        "    class Pay {",
        '    class Pay_2["Pay"] {',
        "    class OrderContext {",
    ]
    assert "    Saga --> Pay_2 : contains" in classes
    assert "    Pay_2 ..> OrderContext : uses" in classes


# --- the text itself, and what SagaMermaid accepts --------------------------------------


@pytest.mark.parametrize("name", list(SAGAS))
def test_output_is_deterministic_newline_joined_and_indented_by_four(name: str) -> None:
    saga = SAGAS[name]
    for render in (SagaMermaid.sequence, SagaMermaid.class_diagram):
        text = render(SagaMermaid(saga))

        assert text == render(SagaMermaid(saga))
        assert not text.endswith("\n")
        assert "\r" not in text
        assert "\t" not in text
        body = text.split("\n")[1:]
        for line in body:
            indent = len(line) - len(line.lstrip(" "))
            assert line == "" or indent in (4, 8), line
            assert line == line.rstrip(), line


def test_the_sequence_reads_the_same_steps_as_the_saga_runs() -> None:
    saga = FallbackSaga()
    diagrams = SagaMermaid(saga)

    assert diagrams.saga is saga
    participants = [line for line in _lines(diagrams.sequence()) if "participant" in line]
    assert len(participants) == 1 + sum(len(spec.ids()) for spec in saga.step_specs)


def test_repr_names_the_saga() -> None:
    assert repr(SagaMermaid(OrderSaga())) == "SagaMermaid(OrderSaga())"


def test_a_saga_class_instead_of_an_instance_is_refused_with_the_fix() -> None:
    with pytest.raises(TypeError, match=r"SagaMermaid\(OrderSaga\(\)\)"):
        SagaMermaid(OrderSaga)  # type: ignore[arg-type]


def test_something_that_is_not_a_saga_is_refused() -> None:
    with pytest.raises(TypeError, match="saga instance"):
        SagaMermaid([Reserve])  # type: ignore[arg-type]
