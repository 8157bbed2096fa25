"""`events` on the handler bases: a read-only property to type checkers, assignable at
run time.

python-cqrs handlers often write `self.events: list[Event] = []` in `__init__`; both
checkers accept that over a read-only property, so the run time must too (a plain
property has no setter and raises `AttributeError`). A subclass that overrides `events`
with its own property is unaffected.
"""

from collections.abc import Sequence
from typing import Any

__all__ = ("assignable_events",)

_NO_EVENTS: tuple[Any, ...] = ()


def _get(self: object) -> Sequence[Any]:
    # Read on every request: a dict lookup, no exception on the common path.
    try:
        namespace: dict[str, Any] = self.__dict__
    except AttributeError:  # a handler with __slots__
        return _NO_EVENTS
    found: Sequence[Any] = namespace.get("events", _NO_EVENTS)
    return found


def _set(self: object, events: Sequence[Any]) -> None:
    self.__dict__["events"] = events


def assignable_events(declared: property) -> property:
    """`declared` (which returns no events) with a setter that stores what is assigned."""
    return property(_get, _set, doc=declared.__doc__)
