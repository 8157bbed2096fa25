"""A saga's steps as the engine runs them: checked, with stable ids."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Sequence
from typing import Any, TypeGuard

from cqrs.saga.errors import SagaStepTypeError
from cqrs.saga.fallback import Fallback
from cqrs.saga.step import SagaStepHandler

__all__ = ("StepSpec", "build_specs", "generic_args", "type_label")


@dataclasses.dataclass(frozen=True)
class StepSpec:
    """One entry of `steps`: its handler class and id, and its fallback if any."""

    step_id: str
    handler: type[SagaStepHandler[Any, Any]]
    fallback: StepSpec | None = None
    entry: Fallback[Any, Any] | None = None

    def ids(self) -> tuple[str, ...]:
        return (self.step_id,) if self.fallback is None else (self.step_id, self.fallback.step_id)


def type_label(tp: object) -> str:
    return tp.__qualname__ if isinstance(tp, type) else repr(tp)


def generic_args(cls: type, origin: type) -> tuple[object, ...] | None:
    """The arguments `cls` gave `origin` (`Saga[Ctx]` -> (Ctx,)), searching its bases."""
    for klass in cls.__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            if typing.get_origin(base) is origin:
                return typing.get_args(base)
    return None


def _is_step_class(cls: type[Any]) -> bool:
    return issubclass(cls, SagaStepHandler)


def _is_fallback(item: object) -> TypeGuard[Fallback[Any, Any]]:
    return isinstance(item, Fallback)


def _check_handler(saga: type, where: str, item: object, context: object) -> type[Any]:
    if not isinstance(item, type):
        msg = f"{saga.__qualname__} {where} must be a step class or a Fallback, got {item!r}"
        raise SagaStepTypeError(msg)
    handler: type[Any] = item
    if not _is_step_class(handler):
        msg = (
            f"{saga.__qualname__} {where} ({item.__qualname__}) must be a subclass of "
            "SagaStepHandler"
        )
        raise SagaStepTypeError(msg)
    if inspect.isabstract(handler):
        missing = ", ".join(sorted(getattr(handler, "__abstractmethods__", ())))
        msg = f"{saga.__qualname__} {where} ({item.__qualname__}) does not implement {missing}"
        raise SagaStepTypeError(msg)
    args = generic_args(handler, SagaStepHandler)
    step_context = args[0] if args else None
    if (
        isinstance(context, type)
        and isinstance(step_context, type)
        and not issubclass(context, step_context)
    ):
        msg = (
            f"{saga.__qualname__} {where} ({item.__qualname__}) expects context type "
            f"{step_context.__qualname__}, but the saga's context is {context.__qualname__}: "
            "a step must take the saga's context type or a base class of it"
        )
        raise SagaStepTypeError(msg)
    return handler


def _response_of(handler: type[Any]) -> object:
    args = generic_args(handler, SagaStepHandler)
    return args[1] if args and len(args) > 1 else None


def _check_responses(saga: type, where: str, primary: type[Any], fallback: type[Any]) -> None:
    expected, actual = _response_of(primary), _response_of(fallback)
    if expected is not None and actual is not None and expected != actual:
        msg = (
            f"{saga.__qualname__} {where}: the fallback {fallback.__qualname__} returns "
            f"{type_label(actual)}, but the step {primary.__qualname__} returns "
            f"{type_label(expected)}; a fallback must return the same response type"
        )
        raise SagaStepTypeError(msg)


class _Ids:
    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def next(self, handler: type[Any]) -> str:
        declared = getattr(handler, "step_id", None)
        base = declared if isinstance(declared, str) and declared else handler.__qualname__
        count = self._seen[base] = self._seen.get(base, 0) + 1
        # The same step twice in one saga: the second is "<id>#2", so the log tells
        # them apart and recovery resumes at the right one.
        return base if count == 1 else f"{base}#{count}"


def build_specs(saga: type, steps: object, context: object) -> tuple[StepSpec, ...]:
    """Check `steps` against the saga's context and give each step its id.

    Raises `SagaStepTypeError` naming the saga, the step's position and class, and
    both context types.
    """
    if isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence):
        msg = (
            f"{saga.__qualname__}.steps must be a list of step classes, "
            f"got {type(steps).__qualname__}"
        )
        raise SagaStepTypeError(msg)
    ids = _Ids()
    specs: list[StepSpec] = []
    for index, item in enumerate(typing.cast("Sequence[object]", steps)):
        where = f"steps[{index}]"
        if _is_fallback(item):
            entry = item
            primary = _check_handler(saga, f"{where}.step", entry.step, context)
            replacement = _check_handler(saga, f"{where}.fallback", entry.fallback, context)
            _check_responses(saga, where, primary, replacement)
            primary_id = ids.next(primary)
            specs.append(
                StepSpec(
                    primary_id,
                    primary,
                    StepSpec(ids.next(replacement), replacement),
                    entry,
                ),
            )
        else:
            handler = _check_handler(saga, where, item, context)
            specs.append(StepSpec(ids.next(handler), handler))
    return tuple(specs)
