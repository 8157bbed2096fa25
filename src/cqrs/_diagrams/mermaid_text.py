"""What the Mermaid diagrams share: readable type names, identifiers, escaped text."""

from __future__ import annotations

import enum
import re
import types
import typing
from collections.abc import Iterable
from typing import ForwardRef, TypeVar, cast, get_args, get_origin

from cqrs._introspect import type_name

__all__ = (
    "INDENT",
    "LABEL_SPECIAL",
    "SEQUENCE_SPECIAL",
    "Identifiers",
    "entities",
    "identifier",
    "is_none",
    "joined",
    "readable",
    "text",
    "union_members",
)

INDENT = "    "
_NOT_IN_IDENTIFIER = re.compile(r"[^0-9A-Za-z_]+")
# Local classes report `outer_function.<locals>.Name`; readers only need `Name`.
_LOCALS_PREFIX = re.compile(r"[\w.]*<locals>\.")
# Characters that end a message in a sequence diagram: written as the entity codes
# `#<code>;`, which Mermaid turns back into the characters.
SEQUENCE_SPECIAL = "#;"
# The only character a quoted class label cannot hold.
LABEL_SPECIAL = '"'


class Identifiers:
    """Mermaid identifiers for the classes of one diagram: valid, unique, one per type."""

    __slots__ = ("_by_type", "_taken")

    def __init__(self, *, reserved: str) -> None:
        self._taken = {reserved}
        self._by_type: dict[object, str] = {}

    def of(self, tp: object) -> str:
        """The identifier of `tp`, made on first use."""
        found = self._by_type.get(tp)
        if found is None:
            found = self._fresh(identifier(readable(tp)))
            self._by_type[tp] = found
        return found

    def _fresh(self, wanted: str) -> str:
        # Two classes may share a name (same name, different modules).
        candidate, number = wanted, 1
        while candidate in self._taken:
            number += 1
            candidate = f"{wanted}_{number}"
        self._taken.add(candidate)
        return candidate


def identifier(name: str) -> str:
    """`name` as a Mermaid class identifier."""
    ident = _NOT_IN_IDENTIFIER.sub("_", name).strip("_")
    if not ident or ident[0].isdigit():
        ident = f"T{ident}"
    # Mermaid reads some lower-case words as keywords, not names (class, link, note,
    # style, namespace, the aggregation arrow `o`); none of them starts upper-case.
    return ident[0].upper() + ident[1:]


def readable(tp: object) -> str:
    """A short name for a type as a reader writes it: `list[Item] | None`, not module paths."""
    plain = _plain_name(tp)
    return plain if plain is not None else _compound_name(tp)


def _plain_name(tp: object) -> str | None:
    if isinstance(tp, str):  # an annotation that was never evaluated
        return tp
    if isinstance(tp, ForwardRef):
        return tp.__forward_arg__
    if tp is Ellipsis:
        return "..."
    if isinstance(tp, TypeVar):  # its repr `~T` would open a generic in Mermaid
        return tp.__name__
    # `list[int]` passes isinstance(..., type) on some versions; its arguments tell it apart.
    if isinstance(tp, type) and not is_none(tp) and not get_args(tp):
        return _LOCALS_PREFIX.sub("", tp.__qualname__)
    return None


def _compound_name(tp: object) -> str:
    if isinstance(tp, list):  # the parameter list of a Callable
        return f"[{', '.join(map(readable, cast('list[object]', tp)))}]"
    members = union_members(tp)
    if members is not None:
        return " | ".join(map(readable, members))
    origin, args = get_origin(tp), get_args(tp)
    if origin is None or not args:
        return type_name(tp)
    if origin is typing.Annotated:  # the metadata is for validators, not for readers
        return readable(args[0])
    shown = map(_literal_value if origin is typing.Literal else readable, args)
    return f"{readable(origin)}[{', '.join(shown)}]"


def _literal_value(value: object) -> str:
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    return repr(value)


def union_members(tp: object) -> tuple[object, ...] | None:
    """The members of a union type; None when `tp` is not one."""
    origin = get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return get_args(tp)
    return None


def is_none(tp: object) -> bool:
    """Whether `tp` is None as a type."""
    return tp is None or tp is type(None)


def joined(lines: Iterable[str]) -> str:
    """The diagram's lines as one text, without trailing spaces."""
    return "\n".join(line.rstrip() for line in lines)


def text(message: str) -> str:
    """`message` escaped for a sequence diagram."""
    return entities(message, SEQUENCE_SPECIAL)


def entities(message: str, special: str) -> str:
    """`message` with each character of `special` written as its Mermaid entity code."""
    return "".join(f"#{ord(char)};" if char in special else char for char in message)
