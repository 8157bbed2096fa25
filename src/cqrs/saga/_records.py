"""What the saga engine keeps about steps: completions, the log's view, results."""

from __future__ import annotations

import dataclasses
import inspect
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from typing_extensions import TypeIs

from cqrs.events import IEvent, INotificationEvent
from cqrs.saga._specs import generic_args
from cqrs.saga.models import ContextT
from cqrs.saga.step import SagaStepHandler, SagaStepResult
from cqrs.saga.storage.enums import SagaStepStatus
from cqrs.saga.storage.models import SagaLogEntry

__all__ = (
    "Completed",
    "History",
    "compensate_takes_response",
    "describe",
    "dump_response",
    "events_of",
    "is_notification",
    "named",
    "rebuild_response",
)

_logger = logging.getLogger("cqrs.saga")


@dataclasses.dataclass
class Completed:
    """A step whose `act` completed: what compensation needs."""

    step_id: str
    handler: type[SagaStepHandler[Any, Any]]
    instance: SagaStepHandler[Any, Any] | None
    response: object


_TAKES_RESPONSE: dict[type[Any], bool] = {}


def compensate_takes_response(handler: type[Any]) -> bool:
    known = _TAKES_RESPONSE.get(handler)
    if known is None:
        parameters = inspect.signature(handler.compensate).parameters
        known = _TAKES_RESPONSE[handler] = "response" in parameters
    return known


def rebuild_response(handler: type[Any], data: dict[str, Any] | None) -> object:
    """What a step's `act` returned, from the result stored in the log."""
    if data is None:
        return None
    args = generic_args(handler, SagaStepHandler)
    response_type = args[1] if args and len(args) > 1 else None
    from_dict = getattr(response_type, "from_dict", None)
    if from_dict is None:
        return None
    try:
        return from_dict(**data)
    except Exception:  # a changed response class: compensation gets None, and says why
        _logger.warning(
            "could not rebuild %s's stored response for its compensation",
            handler.__qualname__,
            exc_info=True,
        )
        return None


def dump_response(response: object) -> dict[str, Any] | None:
    to_dict = getattr(response, "to_dict", None)
    if to_dict is None:
        return None
    data: dict[str, Any] = to_dict()
    return data


class History:
    """What a saga's log says about its steps."""

    def __init__(self, entries: Sequence[SagaLogEntry]) -> None:
        self.acted: dict[str, SagaLogEntry] = {}
        self.compensated: set[str] = set()
        self.attempts: dict[str, int] = {}
        for entry in entries:
            if entry.action == "act":
                if _status(entry) is SagaStepStatus.STARTED:
                    self.attempts[entry.step_name] = self.attempts.get(entry.step_name, 0) + 1
                elif _status(entry) is SagaStepStatus.COMPLETED:
                    self.acted[entry.step_name] = entry
            elif _status(entry) is SagaStepStatus.COMPLETED:
                self.compensated.add(entry.step_name)


def _status(entry: SagaLogEntry) -> SagaStepStatus:
    return SagaStepStatus(entry.status)


def is_notification(event: IEvent) -> TypeIs[INotificationEvent[Any]]:
    return isinstance(event, INotificationEvent)


def named(
    result: SagaStepResult[ContextT, Any],
    saga_id: uuid.UUID,
    step_id: str,
) -> SagaStepResult[ContextT, Any]:
    """A copy of a step's result naming its saga and step (what the stream yields).

    Copied field by field through the instance dict: cheaper than building a frozen
    dataclass again, once per step of every saga.
    """
    named: SagaStepResult[ContextT, Any] = object.__new__(type(result))
    named.__dict__.update(result.__dict__, saga_id=saga_id, step_id=step_id)
    return named


def describe(error: BaseException | None) -> str:
    return "" if error is None else f"{type(error).__qualname__}: {error}"


def events_of(instance: SagaStepHandler[Any, Any]) -> Sequence[IEvent]:
    try:
        return tuple(instance.events)
    except Exception:  # a broken `events` property must not undo a completed step
        _logger.exception("could not read the events of %s", type(instance).__qualname__)
        return ()
