"""`SagaMermaid`: Mermaid sequence and class diagrams of a saga.

The diagrams are drawn from the saga's step classes alone: the context and response
types come from the arguments each step gives `SagaStepHandler`, and the fields from
the context and response classes (dataclasses or pydantic models). No step is built
and nothing is run.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable, Sequence
from typing import Any, get_args, get_origin

import pydantic
from typing_extensions import TypeIs

from cqrs._diagrams import mermaid_text as _mt
from cqrs.saga._specs import StepSpec, generic_args
from cqrs.saga.saga import Saga
from cqrs.saga.step import SagaStepHandler

__all__ = ("SagaMermaid",)

_SAGA = "Saga"
_SAGA_ALIAS = "S"
_NO_STEPS = "No steps configured"
_LONGEST_LABEL = 30
_CUT_LABEL = 27
_SAGA_MEMBERS = (
    "+steps: List[SagaStepHandler]",
    "+transaction(context) SagaTransaction",
)
_STEP_MEMBERS = (
    "+act(context) SagaStepResult",
    "+compensate(context) void",
    "+events: List[Event]",
)


@dataclasses.dataclass(frozen=True, slots=True)
class _Step:
    """One step class as the saga runs it: its id, label and declared types."""

    handler: type[SagaStepHandler[Any, Any]]
    step_id: str
    context: object
    response: object

    @property
    def name(self) -> str:
        return self.handler.__name__

    @property
    def label(self) -> str:
        """The participant label: the class name, and the step id when it differs."""
        label = _shortened(self.name)
        if self.step_id != self.handler.__qualname__:
            label += f" ({_shortened(self.step_id)})"
        return label


@dataclasses.dataclass(frozen=True, slots=True)
class _Entry:
    """One entry of the saga's `steps`: a step, or a step and its fallback."""

    number: int
    primary: _Step
    fallback: _Step | None

    @property
    def alias(self) -> str:
        return f"S{self.number}"

    @property
    def fallback_alias(self) -> str:
        return f"F{self.number}"


class SagaMermaid:
    """Mermaid diagrams of a saga, drawn from its step classes.

    `sequence()` shows the saga running every step, then a run whose last step
    fails and whose completed steps are compensated in reverse order;
    `class_diagram()` shows the step classes, the context and response classes with
    their fields, and how they relate. Both return Mermaid text to paste into
    Markdown (a fenced `mermaid` block) or the Mermaid live editor.

    Example:
        ```python
        from cqrs.saga.mermaid import SagaMermaid

        diagrams = SagaMermaid(OrderSaga())
        print(diagrams.sequence())
        print(diagrams.class_diagram())
        ```
    """

    __slots__ = ("_entries", "_saga")

    def __init__(self, saga: Saga[Any]) -> None:
        """Read the saga's steps and the types each one declares.

        Args:
            saga: The saga, an instance (`SagaMermaid(OrderSaga())`).

        Raises:
            TypeError: `saga` is not a `Saga` instance (a saga class, say).
        """
        self._saga = _checked_saga(saga)
        self._entries = tuple(
            _entry(number, spec) for number, spec in enumerate(saga.step_specs, start=1)
        )

    @property
    def saga(self) -> Saga[Any]:
        """The saga the diagrams are drawn from."""
        return self._saga

    def sequence(self) -> str:
        """A `sequenceDiagram` of the saga's runs.

        Participants are `S` (the saga), `S1` ... `Sn` (its steps, in order) and
        `F<i>` for the fallback of step `i`. The successful flow runs each step's
        `act`; the failure flow fails the last step (a `Fallback`'s step and then its
        fallback) and compensates the steps before it in reverse order.
        """
        lines = ["sequenceDiagram", _line(f"participant {_SAGA_ALIAS} as {_SAGA}")]
        if not self._entries:
            lines.append(_note(_NO_STEPS))
            return _joined(lines)
        for entry in self._entries:
            lines.append(_line(f"participant {entry.alias} as {_mt.text(entry.primary.label)}"))
            if entry.fallback is not None:
                label = _mt.text(f"{entry.fallback.label} (fallback)")
                lines.append(_line(f"participant {entry.fallback_alias} as {label}"))
        lines += ["", *self._success_flow(), "", *self._failure_flow()]
        return _joined(lines)

    def class_diagram(self) -> str:
        """A `classDiagram` of the saga.

        It holds `Saga`, one class per step class (a `Fallback`'s step and fallback
        both) and each distinct context and response class with its fields; edges
        show which steps the saga contains and which context each step uses and
        which response it returns. Names that are not Mermaid identifiers
        (`Page[Item]`) get an identifier and keep the name as a label.
        """
        if not self._entries:
            return _joined(["classDiagram", _line(f"class {_SAGA}"), _saga_note(_NO_STEPS)])
        ids = _mt.Identifiers(reserved=_SAGA)
        steps = _distinct_steps(self._entries)
        lines = ["classDiagram", *_class_block(_SAGA, _SAGA, _SAGA_MEMBERS)]
        for step in steps:
            lines += _class_block(ids.of(step.handler), step.name, _STEP_MEMBERS)
        for tp in _declared_types(steps):
            lines += _class_block(ids.of(tp), _mt.readable(tp), _field_members(tp))
        lines.append(_line("%% Saga relationships"))
        lines += (_line(f"{_SAGA} --> {ids.of(step.handler)} : contains") for step in steps)
        lines += ["", _line("%% Step to Context relationships")]
        lines += _dependencies(((step, step.context) for step in steps), "uses", ids)
        lines += ["", _line("%% Step to Response relationships")]
        lines += _dependencies(((step, step.response) for step in steps), "returns", ids)
        return _joined(lines)

    def __repr__(self) -> str:
        return f"SagaMermaid({type(self._saga).__qualname__}())"

    def _success_flow(self) -> list[str]:
        lines = [_note("Successful Execution Flow")]
        for entry in self._entries:
            lines += _call(entry.alias, "act()", "success")
        lines.append(_note("Saga Completed"))
        return lines

    def _failure_flow(self) -> list[str]:
        *completed, failing = self._entries
        lines = [_note("Failure & Compensation Flow")]
        for entry in completed:
            lines += _call(entry.alias, "act()", "success")
        lines += _call(failing.alias, "act()", "error")
        if failing.fallback is not None:
            # The saga fails only when the fallback fails too.
            lines.append(_note("Fallback triggered"))
            lines += _call(failing.fallback_alias, "act()", "error")
        if completed:
            lines += ["", _note("Compensation (reverse order)")]
            for entry in reversed(completed):
                lines += _call(entry.alias, "compensate()", "success")
        else:
            lines.append(_note("No compensation needed (step failed before completion)"))
        lines.append(_note("Saga Failed"))
        return lines


# --- reading the saga ---------------------------------------------------------------


def _checked_saga(saga: object) -> Saga[Any]:
    if _is_saga(saga):
        return saga
    if isinstance(saga, type) and issubclass(saga, Saga):
        name = saga.__qualname__
        msg = f"SagaMermaid() takes a saga instance, not the class: SagaMermaid({name}())"
        raise TypeError(msg)
    msg = f"SagaMermaid() takes a saga instance, such as SagaMermaid(OrderSaga()); got {saga!r}"
    raise TypeError(msg)


def _is_saga(obj: object) -> TypeIs[Saga[Any]]:
    return isinstance(obj, Saga)


def _entry(number: int, spec: StepSpec) -> _Entry:
    fallback = None if spec.fallback is None else _step(spec.fallback)
    return _Entry(number=number, primary=_step(spec), fallback=fallback)


def _step(spec: StepSpec) -> _Step:
    args = generic_args(spec.handler, SagaStepHandler) or ()
    context, response = (*args, None, None)[:2]
    return _Step(handler=spec.handler, step_id=spec.step_id, context=context, response=response)


def _distinct_steps(entries: Iterable[_Entry]) -> list[_Step]:
    """Each step class once, in the order the saga first uses it."""
    steps: dict[type[Any], _Step] = {}
    for entry in entries:
        for step in (entry.primary, entry.fallback):
            if step is not None:
                steps.setdefault(step.handler, step)
    return list(steps.values())


# --- the sequence diagram -----------------------------------------------------------


def _shortened(name: str) -> str:
    return name if len(name) <= _LONGEST_LABEL else f"{name[:_CUT_LABEL]}..."


def _call(alias: str, method: str, outcome: str) -> list[str]:
    return [
        _line(f"{_SAGA_ALIAS}->>{alias}: {method}"),
        _line(f"{alias}-->>{_SAGA_ALIAS}: {outcome}"),
    ]


def _note(text: str) -> str:
    return _line(f"Note over {_SAGA_ALIAS}: {text}")


# --- the class diagram --------------------------------------------------------------


def _class_block(ident: str, label: str, members: Sequence[str]) -> list[str]:
    head = f"class {ident}"
    if label != ident:
        head += f'["{_mt.entities(label, _mt.LABEL_SPECIAL)}"]'
    return [_line(f"{head} {{"), *(_line(member, depth=2) for member in members), _line("}"), ""]


def _saga_note(text: str) -> str:
    return _line(f'note for {_SAGA} "{_mt.entities(text, _mt.LABEL_SPECIAL)}"')


def _declared_types(steps: Iterable[_Step]) -> list[type[Any]]:
    """The context classes, then the other response classes, each sorted by name."""
    contexts = _distinct(node for step in steps for node in _type_nodes(step.context))
    responses = _distinct(node for step in steps for node in _type_nodes(step.response))
    return [
        *sorted(contexts, key=_mt.readable),
        *sorted((tp for tp in responses if tp not in contexts), key=_mt.readable),
    ]


def _type_nodes(tp: object) -> tuple[type[Any], ...]:
    """The classes a declared type stands for: each class in a union, None left out."""
    if get_origin(tp) is typing.Annotated:
        return _type_nodes(get_args(tp)[0])
    members = _mt.union_members(tp) or (tp,)
    return tuple(member for member in members if _is_class(member))


def _is_class(tp: object) -> typing.TypeGuard[type[Any]]:
    # `list[int]` passes isinstance(..., type) on some versions; its arguments tell it apart.
    return isinstance(tp, type) and not _mt.is_none(tp) and not get_args(tp)


def _distinct(items: Iterable[type[Any]]) -> list[type[Any]]:
    return list(dict.fromkeys(items))


def _field_members(tp: type[Any]) -> list[str]:
    return [f"+{name}: {kind}" for name, kind in _fields(tp)]


def _fields(cls: type[Any]) -> list[tuple[str, str]]:
    """(name, type) of each field of a dataclass or a pydantic model; none otherwise."""
    if dataclasses.is_dataclass(cls):
        # With postponed annotations `field.type` is the source text, already readable.
        return [(field.name, _mt.readable(field.type)) for field in dataclasses.fields(cls)]
    if issubclass(cls, pydantic.BaseModel):
        return [(name, _mt.readable(info.annotation)) for name, info in cls.model_fields.items()]
    return []


def _dependencies(
    declared: Iterable[tuple[_Step, object]],
    label: str,
    ids: _mt.Identifiers,
) -> list[str]:
    """One edge from each step to each class its declared type stands for."""
    return [
        _line(f"{ids.of(step.handler)} ..> {ids.of(node)} : {label}")
        for step, tp in declared
        for node in _type_nodes(tp)
    ]


# --- readable names -----------------------------------------------------------------


# --- text ---------------------------------------------------------------------------


def _line(text: str, *, depth: int = 1) -> str:
    return f"{_mt.INDENT * depth}{text}"


def _joined(lines: Iterable[str]) -> str:
    return "\n".join(line.rstrip() for line in lines).rstrip("\n")
