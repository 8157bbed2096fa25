"""`CoRMermaid`: Mermaid sequence and class diagrams of a chain of responsibility.

The diagrams are drawn from the link classes alone: the request and response types
come from the arguments each link gives `CORRequestHandler`, and the fields from the
request and response classes (pydantic models or dataclasses). No link is built.
"""

from __future__ import annotations

import dataclasses
import itertools
import typing
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar, cast, get_args, get_origin

import pydantic
from typing_extensions import TypeIs

from cqrs._diagrams import mermaid_text as mt
from cqrs._errors import ChainExhaustedError, HandlerBindingTypeError
from cqrs._interfaces.cor import CORRequestHandler
from cqrs._introspect import UNKNOWN, is_class, type_arguments, type_name
from cqrs._public import claim

__all__ = ("CoRMermaid",)

_CALLER = "M"
_BASE = CORRequestHandler.__name__
_HOW_TO_CALL = "such as CoRMermaid([FirstLink, SecondLink])"
_BASE_MEMBERS = (
    "<<abstract>>",
    "+events: Sequence[IEvent]",
    # A `*` right after the parentheses is how Mermaid marks a method abstract.
    "+handle(request)* Res | None",
    "+next(request) Res | None",
    f"+set_next(handler) {_BASE}",
)


@dataclasses.dataclass(frozen=True, slots=True)
class _Link:
    """One link class and what it declares."""

    cls: type[CORRequestHandler[Any, Any]]
    name: str
    request: object
    response: object


class CoRMermaid:
    """Mermaid diagrams of a chain of responsibility, drawn from its link classes.

    Give the links in the order they are bound with
    `RequestMap.bind(Request, [Link1, Link2, ...])`. `sequence()` shows how a request
    travels along the chain; `class_diagram()` shows the link classes, the request and
    response classes with their fields, and how they relate. Both return Mermaid text
    to paste into Markdown (a fenced `mermaid` block) or the Mermaid live editor.

    Example:
        A chain bound as ``RequestMap.bind(Pay, [CardLink, WalletLink])``::

            from cqrs.requests.mermaid import CoRMermaid

            diagrams = CoRMermaid([CardLink, WalletLink])
            print(diagrams.sequence())
            print(diagrams.class_diagram())
    """

    __slots__ = ("_links",)

    def __init__(self, handlers: Sequence[type[CORRequestHandler[Any, Any]]]) -> None:
        """Check the link classes and read what each one declares.

        Args:
            handlers: The link classes, in chain order: classes, not instances.

        Raises:
            HandlerBindingTypeError: (a `TypeError`) `handlers` is not a sequence, is
                empty, holds something that is not a subclass of `CORRequestHandler`
                (an instance, another class, the base class itself), or holds a class
                twice.
        """
        self._links = tuple(_describe(link) for link in _checked_links(handlers))

    @property
    def handlers(self) -> tuple[type[CORRequestHandler[Any, Any]], ...]:
        """The link classes, in chain order."""
        return tuple(link.cls for link in self._links)

    def sequence(self) -> str:
        """A `sequenceDiagram` of one request travelling along the chain.

        The mediator asks the first link; each link either returns the response or
        passes the request to the next one, in nested `alt` blocks; when the last link
        passes it on, the mediator raises `ChainExhaustedError`. Participants are `M`
        (the mediator) and `L1` ... `Ln` (the links, in order).
        """
        lines = ["sequenceDiagram", _line(1, f"participant {_CALLER} as Mediator")]
        lines += (
            _line(1, f"participant {_alias(index)} as {mt.text(link.name)}")
            for index, link in enumerate(self._links)
        )
        lines.append(_line(1, f"{_CALLER}->>{_alias(0)}: handle(request)"))
        lines += _alternatives(self._links)
        return mt.joined(lines)

    def class_diagram(self) -> str:
        """A `classDiagram` of the chain.

        It holds `CORRequestHandler` (abstract), one class per link with its `handle`,
        and each distinct request and response class with its fields; edges show that
        every link derives from `CORRequestHandler`, which link is next to which, and
        which types each link handles and returns. Names that are not Mermaid
        identifiers (`Page[Item]`) get an identifier and keep the name as a label.
        """
        ids = mt.Identifiers(reserved=_BASE)
        link_ids = [ids.of(link.cls) for link in self._links]
        lines = ["classDiagram", *_class_block(_BASE, _BASE, _BASE_MEMBERS)]
        for link, ident in zip(self._links, link_ids, strict=True):
            lines += _class_block(ident, link.name, [_handle_member(link.response)])
        for tp in _distinct(_declared_types(self._links)):
            lines += _class_block(ids.of(tp), mt.readable(tp), _field_members(tp))
        lines += _relations(self._links, link_ids, ids)
        return mt.joined(lines)

    def __repr__(self) -> str:
        return f"CoRMermaid([{', '.join(link.name for link in self._links)}])"


# --- checking and reading the links -------------------------------------------------


def _checked_links(handlers: object) -> tuple[type[CORRequestHandler[Any, Any]], ...]:
    links = tuple(_checked_link(index, item) for index, item in enumerate(_items(handlers)))
    _reject_repeats(links)
    return links


def _items(handlers: object) -> tuple[object, ...]:
    # Callers that are not type-checked can pass a lone class, a string, or nothing.
    if _is_link_class(handlers):
        name = type_name(handlers)
        msg = f"CoRMermaid() got the class {name} alone; wrap it in a list: CoRMermaid([{name}])"
        raise HandlerBindingTypeError(msg)
    if isinstance(handlers, (str, bytes)) or not isinstance(handlers, Sequence):
        msg = (
            f"CoRMermaid() expects a sequence of chain link classes, {_HOW_TO_CALL}; "
            f"got {handlers!r}"
        )
        raise HandlerBindingTypeError(msg)
    items = tuple(cast("Sequence[object]", handlers))
    if not items:
        msg = f"CoRMermaid() needs at least one chain link class, {_HOW_TO_CALL}"
        raise HandlerBindingTypeError(msg)
    return items


def _is_link_class(obj: object) -> TypeIs[type[CORRequestHandler[Any, Any]]]:
    return is_class(obj) and issubclass(obj, CORRequestHandler)


def _checked_link(index: int, item: object) -> type[CORRequestHandler[Any, Any]]:
    if _is_link_class(item) and item is not CORRequestHandler:
        return item
    msg = f"CoRMermaid() got handlers[{index}] = {_not_a_link(item)}"
    raise HandlerBindingTypeError(msg)


def _not_a_link(item: object) -> str:
    if item is CORRequestHandler:
        return "CORRequestHandler itself; pass the link classes that derive from it"
    item_class = type(item)  # read before isinstance narrows `item` to a generic class
    if isinstance(item, CORRequestHandler):
        name = type_name(item_class)
        return f"an instance of {name}; pass the class {name} itself"
    shown = f"the class {type_name(item)}" if isinstance(item, type) else repr(item)
    return (
        f"{shown}, which is not a chain link; pass subclasses of "
        "CORRequestHandler[Request, Response], in chain order"
    )


def _reject_repeats(links: tuple[type[CORRequestHandler[Any, Any]], ...]) -> None:
    for index, link in enumerate(links):
        first = links.index(link)
        if first != index:
            msg = (
                f"CoRMermaid() got {type_name(link)} twice (handlers[{first}] and "
                f"handlers[{index}]); a chain asks each link at most once, so list it once"
            )
            raise HandlerBindingTypeError(msg)


def _describe(cls: type[CORRequestHandler[Any, Any]]) -> _Link:
    request, response = type_arguments(cls, CORRequestHandler) or (UNKNOWN, UNKNOWN)
    return _Link(cls=cls, name=mt.readable(cls), request=request, response=response)


# --- the sequence diagram -----------------------------------------------------------


def _alias(index: int) -> str:
    return f"L{index + 1}"


def _alternatives(links: Sequence[_Link]) -> list[str]:
    """One `alt` block per link, each nested in the `else` branch of the one before."""
    lines: list[str] = []
    for index, link in enumerate(links):
        depth, alias, name = index + 1, _alias(index), mt.text(link.name)
        lines += [
            _line(depth, f"alt {name} handles it"),
            _line(depth + 1, f"{alias}-->>{_CALLER}: {mt.text(_response_label(link.response))}"),
            _line(depth, f"else {name} passes it on"),
        ]
        if index + 1 < len(links):
            lines.append(_line(depth + 1, f"{alias}->>{_alias(index + 1)}: next(request)"))
    innermost = len(links) + 1
    lines += [
        _line(innermost, f"{_alias(len(links) - 1)}-->>{_CALLER}: None (no next link)"),
        _line(innermost, f"Note over {_CALLER}: raise {ChainExhaustedError.__name__}"),
    ]
    lines += (_line(depth, "end") for depth in range(len(links), 0, -1))
    return lines


def _response_label(response: object) -> str:
    return "response" if response is UNKNOWN else mt.readable(response)


# --- the class diagram --------------------------------------------------------------


def _class_block(ident: str, label: str, members: Sequence[str]) -> list[str]:
    head = f"class {ident}"
    if label != ident:
        head += f'["{mt.entities(label, mt.LABEL_SPECIAL)}"]'
    if not members:
        return [_line(1, head)]
    return [_line(1, f"{head} {{"), *(_line(2, member) for member in members), _line(1, "}")]


def _handle_member(response: object) -> str:
    return f"+handle(request) {_optional_name(response)}"


def _optional_name(tp: object) -> str:
    if tp is UNKNOWN:
        return "Any"
    if any(mt.is_none(member) for member in mt.union_members(tp) or (tp,)):
        return mt.readable(tp)
    return f"{mt.readable(tp)} | None"


def _declared_types(links: Iterable[_Link]) -> Iterable[object]:
    for link in links:
        yield from _type_nodes(link.request)
        yield from _type_nodes(link.response)


def _type_nodes(tp: object) -> tuple[object, ...]:
    """The classes a declared type stands for: each member of a union, None left out."""
    if get_origin(tp) is typing.Annotated:
        return _type_nodes(get_args(tp)[0])
    members = mt.union_members(tp) or (tp,)
    return tuple(member for member in members if not _is_nothing(member))


def _is_nothing(tp: object) -> bool:
    return mt.is_none(tp) or tp is UNKNOWN or tp is Any or isinstance(tp, TypeVar)


def _distinct(items: Iterable[object]) -> list[object]:
    return list(dict.fromkeys(items))


def _field_members(tp: object) -> list[str]:
    return [f"{'-' if name.startswith('_') else '+'}{name}: {kind}" for name, kind in _fields(tp)]


def _fields(tp: object) -> list[tuple[str, str]]:
    """(name, type) of each field of a pydantic model or a dataclass; none otherwise."""
    if not isinstance(tp, type) or get_args(tp):
        return []
    cls = cast("type[object]", tp)
    if issubclass(cls, pydantic.BaseModel):
        return [(name, mt.readable(info.annotation)) for name, info in cls.model_fields.items()]
    if dataclasses.is_dataclass(cls):
        # With postponed annotations `field.type` is the source text, already readable.
        return [(field.name, mt.readable(field.type)) for field in dataclasses.fields(cls)]
    return []


def _relations(links: Sequence[_Link], link_ids: Sequence[str], ids: mt.Identifiers) -> list[str]:
    lines = [_line(1, f"{_BASE} <|-- {ident}") for ident in link_ids]
    lines += (_line(1, f"{a} --> {b} : next") for a, b in itertools.pairwise(link_ids))
    for link, ident in zip(links, link_ids, strict=True):
        lines += _dependencies(ident, link.request, "handles", ids)
        lines += _dependencies(ident, link.response, "returns", ids)
    return lines


def _dependencies(ident: str, tp: object, label: str, ids: mt.Identifiers) -> list[str]:
    return [_line(1, f"{ident} ..> {ids.of(node)} : {label}") for node in _type_nodes(tp)]


# --- readable names -----------------------------------------------------------------


# --- text ---------------------------------------------------------------------------


def _line(depth: int, text: str) -> str:
    return f"{mt.INDENT * depth}{text}"


# A top-level name of `cqrs`, which loads this module on first use (PEP 562): it reports
# `cqrs` whichever module loads it first (`cqrs.requests.mermaid` too).
claim("cqrs", globals(), __all__)
