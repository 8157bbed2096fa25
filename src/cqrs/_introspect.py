"""Read generic type arguments back from classes, for the run-time pairing checks.

`class GetUser(cqrs.Request[UserDTO])` and
`class H(cqrs.RequestHandler[GetUser, UserDTO])` record their arguments in
`__orig_bases__` (or, for pydantic generic models, in
`__pydantic_generic_metadata__`); intermediate generic classes are followed and their
type variables substituted.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any, TypeVar, get_args, get_origin

from typing_extensions import TypeIs

__all__ = (
    "UNKNOWN",
    "every_type_arguments",
    "is_class",
    "is_compatible",
    "type_arguments",
    "type_name",
    "unparameterized",
)


class _Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Any = _Unknown()
"""A type argument that was never given (a bare generic base, or `Any`)."""


def _pydantic_metadata(cls: type) -> dict[str, Any] | None:
    metadata: dict[str, Any] | None = cls.__dict__.get("__pydantic_generic_metadata__")
    return metadata


def _parameters(cls: type) -> tuple[object, ...]:
    metadata = _pydantic_metadata(cls)
    if metadata is not None and metadata.get("origin") is None and metadata.get("parameters"):
        return tuple(metadata["parameters"])
    params: tuple[object, ...] = getattr(cls, "__parameters__", ())
    return params


def _bases(cls: type) -> list[tuple[type, tuple[object, ...]]]:
    metadata = _pydantic_metadata(cls)
    if metadata is not None and metadata.get("origin") is not None:
        # `Request[UserDTO]` is a real class made by pydantic; its origin holds the generics.
        return [(metadata["origin"], tuple(metadata["args"]))]
    bases: list[tuple[type, tuple[object, ...]]] = []
    for base in cls.__dict__.get("__orig_bases__", cls.__bases__):
        origin = get_origin(base)
        if origin is None:
            if isinstance(base, type):
                bases.append((base, ()))
        elif isinstance(origin, type):
            bases.append((origin, get_args(base)))
    return bases


def is_class(obj: object) -> TypeIs[type]:
    """Whether `obj` is a class `issubclass` accepts (on 3.10, `list[int]` passes
    `isinstance(..., type)` yet makes `issubclass` raise)."""
    if isinstance(obj, types.GenericAlias):
        return False
    return isinstance(obj, type)


def unparameterized(tp: object) -> object:
    """The class of a parameterized generic class (`Handler[A, B]` -> `Handler`), else `tp`."""
    origin = get_origin(tp)
    if isinstance(origin, type) and not isinstance(tp, type):
        return origin
    return tp


def type_arguments(cls: object, origin: type) -> tuple[object, ...] | None:
    """The arguments with which `cls` specialises the generic class `origin`.

    `cls` is a class or a parameterized generic class (`Forwarding[GetUser, UserDTO]`,
    whose arguments fill its class's type variables). Returns None when `cls` does not
    derive from `origin`; an argument left open (a bare generic base) comes back as
    `UNKNOWN`.
    """
    alias_of = get_origin(cls)
    if isinstance(alias_of, type) and not isinstance(cls, type):
        given = dict(zip(_parameters(alias_of), get_args(cls), strict=False))
        for found in _search(alias_of, origin):
            return _known(tuple(given.get(arg, arg) for arg in found))
        return None
    if isinstance(cls, type):
        for found in _search(cls, origin):
            return _known(found)
    return None


def every_type_arguments(cls: type, origin: type) -> list[tuple[object, ...]]:
    """`type_arguments` along each path from `cls` to `origin`, in MRO-like order.

    A class with two bases deriving from `origin` (`class C(A[int], B[str])`) has two
    entries; `type_arguments` reads the first.
    """
    return [_known(found) for found in _search(cls, origin)]


def _known(found: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(UNKNOWN if isinstance(arg, TypeVar) or arg is Any else arg for arg in found)


def _search(cls: type, origin: type) -> Iterator[tuple[object, ...]]:
    if cls is origin:
        yield _parameters(origin)
        return
    for base, args in _bases(cls):
        if base in (typing.Generic, typing.Protocol, object):
            continue
        substitution = dict(zip(_parameters(base), args, strict=False))
        for found in _search(base, origin):
            yield tuple(
                substitution.get(arg, arg) if isinstance(arg, TypeVar) else arg for arg in found
            )


def _normalise(tp: object) -> object:
    return type(None) if tp is None else tp


def is_compatible(actual: object, expected: object) -> bool:  # noqa: PLR0911 - one exit per rule
    """Whether a value of type `actual` may stand where `expected` is declared.

    Only what can be decided from classes is decided; any other form passes, since
    the type checkers own the exact rules.
    """
    if actual is UNKNOWN or expected is UNKNOWN:
        return True
    actual, expected = _normalise(actual), _normalise(expected)
    if actual == expected:
        return True
    expected_members = _union_members(expected)
    if expected_members is not None:
        return any(is_compatible(actual, member) for member in expected_members)
    actual_members = _union_members(actual)
    if actual_members is not None:
        return all(is_compatible(member, expected) for member in actual_members)
    actual_cls = get_origin(actual) or actual
    expected_cls = get_origin(expected) or expected
    if isinstance(actual_cls, type) and isinstance(expected_cls, type):
        try:
            return issubclass(actual_cls, expected_cls)
        except TypeError:  # protocols that are not runtime-checkable, and the like
            return True
    return True


def _union_members(tp: object) -> tuple[object, ...] | None:
    origin = get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return tuple(_normalise(arg) for arg in get_args(tp))
    return None


def type_name(tp: object) -> str:
    """A short readable name for a type, as used in error messages."""
    if tp is UNKNOWN:
        return "Any"
    if tp is None or tp is type(None):
        return "None"
    if isinstance(tp, type) and not get_args(tp):
        return tp.__qualname__
    generic = unparameterized(tp)
    if generic is not tp and isinstance(generic, type):  # `Forwarding[GetUser, UserDTO]`
        return f"{generic.__qualname__}[{', '.join(type_name(arg) for arg in get_args(tp))}]"
    return repr(tp).replace("typing.", "")
