"""`SagaMap`: which saga runs for each context type."""

from __future__ import annotations

import types
from typing import Any, NoReturn

from cqrs.exceptions import HandlerAlreadyBoundError, HandlerBindingTypeError
from cqrs.saga.errors import SagaDoesNotExist
from cqrs.saga.models import ContextT, SagaContext
from cqrs.saga.saga import Saga

__all__ = ("SagaMap",)


def _is_subclass(obj: object, base: type[Any]) -> bool:
    # On 3.10 `list[int]` passes `isinstance(..., type)` yet makes `issubclass` raise.
    if isinstance(obj, types.GenericAlias):
        return False
    return isinstance(obj, type) and issubclass(obj, base)


class SagaMap(dict[type[SagaContext], type[Saga[Any]]]):
    """Context class → saga class, one saga per context class.

    `bind(OrderContext, OrderSaga)` is checked by both type checkers: a saga
    declared for another context is an error on that line. At run time the same
    mistake raises `HandlerBindingTypeError`.
    """

    def bind(self, context_type: type[ContextT], handler_type: type[Saga[ContextT]]) -> None:
        """Run `handler_type` for contexts of class `context_type`.

        Raises:
            HandlerBindingTypeError: `context_type` is not a `SagaContext` subclass,
                `handler_type` not a `Saga` subclass, or the saga is declared for
                another context.
            HandlerAlreadyBoundError: `context_type` already has a saga.
        """
        # Checked again at run time, for code the type checkers do not see.
        if not _is_subclass(context_type, SagaContext):
            msg = f"SagaMap.bind: {context_type!r} is not a SagaContext subclass"
            raise HandlerBindingTypeError(msg)
        if not _is_subclass(handler_type, Saga):
            msg = f"SagaMap.bind: {handler_type!r} is not a Saga subclass"
            raise HandlerBindingTypeError(msg)
        declared = handler_type.context_type()
        if declared is not None and not issubclass(context_type, declared):
            msg = (
                f"SagaMap.bind: {handler_type.__qualname__} is a saga over "
                f"{declared.__qualname__}, not {context_type.__qualname__}"
            )
            raise HandlerBindingTypeError(msg)
        if context_type in self:
            msg = (
                f"{context_type.__qualname__} already runs {self[context_type].__qualname__}; "
                "a context type runs one saga"
            )
            raise HandlerAlreadyBoundError(msg)
        super().__setitem__(context_type, handler_type)

    def saga_for(self, context: SagaContext) -> type[Saga[Any]]:
        """The saga bound to the context's class, or to its nearest base class.

        Raises `SagaDoesNotExist` when none is bound.
        """
        for klass in type(context).__mro__:
            saga = self.get(klass)
            if saga is not None:
                return saga
        msg = (
            f"Saga not found matching SagaContext type {type(context).__qualname__}; "
            "bind one in the sagas mapper"
        )
        raise SagaDoesNotExist(msg)

    def __delitem__(self, key: type[SagaContext]) -> NoReturn:
        msg = "SagaMap has no delete method"
        raise TypeError(msg)
