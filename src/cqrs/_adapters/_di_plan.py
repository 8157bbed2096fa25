"""Run a solved `di` graph of plain constructors without di's executor.

di's executor is general (scopes, caching, context managers, async); for the common
handler graph (classes and plain functions, built fresh per resolve, maybe with some
singletons) its bookkeeping costs more than the constructor calls. `compile_plan`
turns such a graph into a list of calls in dependency order; any other graph returns
None and stays with di.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import di
from di.api.dependencies import CacheKey, DependencyParameter, DependentBase

__all__ = ("MISSING", "Plan", "compile_plan")

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_KEYWORD = (inspect.Parameter.KEYWORD_ONLY,)
_PER_RESOLVE_SCOPES = ("request", None)


MISSING: Final = object()
"""What `Plan.run` returns when a singleton it needs is not built yet."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Step:
    key: CacheKey
    call: Callable[..., Any]
    args: tuple[CacheKey, ...]
    kwargs: tuple[tuple[str, CacheKey], ...]
    singleton: bool  # built once by di in its singleton scope, then read from there


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """The calls that build one type, each argument the result of an earlier call."""

    singletons: tuple[CacheKey, ...]  # read from di's cache; di builds them
    steps: tuple[_Step, ...]  # called in this order, once per resolve
    root: CacheKey
    # A lone constructor with nothing to inject (most handlers): just call it.
    lone: Callable[[], object] | None = None

    def run(self, cached: Mapping[CacheKey, Any]) -> object:
        """Build the root, with di's cache of singletons; MISSING if one is not built yet."""
        lone = self.lone
        if lone is not None:
            # Like di, a value cached under the same key in an outer scope is reused.
            found = cached.get(self.root, MISSING)
            return lone() if found is MISSING else found
        values: dict[CacheKey, object] = {}
        for key in self.singletons:  # all of them first: build nothing if one is missing
            value = cached.get(key, MISSING)
            if value is MISSING:
                return MISSING
            values[key] = value
        for step in self.steps:
            value = cached.get(step.key, MISSING)
            if value is MISSING:
                args = [values[key] for key in step.args]
                kwargs = {name: values[key] for name, key in step.kwargs}
                value = step.call(*args, **kwargs)
            values[step.key] = value
        return values[self.root]


def compile_plan(solved: di.SolvedDependent[Any]) -> Plan | None:
    """A plan equivalent to executing `solved` in a fresh request scope, or None."""
    params = _params_by_key(solved.dag)
    steps: list[_Step] = []
    if not _visit(solved.dependency, params, steps, set()):
        return None
    singletons = tuple(step.key for step in steps if step.singleton)
    built = tuple(step for step in steps if not step.singleton)
    (first, *rest) = steps
    lone = first.call if not (rest or first.singleton or first.args or first.kwargs) else None
    return Plan(singletons, built, solved.dependency.cache_key, lone)


def _params_by_key(
    dag: Mapping[DependentBase[Any], Sequence[DependencyParameter] | Any],
) -> dict[CacheKey, tuple[DependentBase[Any], list[DependencyParameter]]]:
    # di deduplicates dependents by cache key; a duplicate may be listed with no params.
    by_key: dict[CacheKey, tuple[DependentBase[Any], list[DependencyParameter]]] = {}
    for dependent, dependent_params in dag.items():
        listed = list(dependent_params)
        if dependent.cache_key not in by_key or listed:
            by_key[dependent.cache_key] = (dependent, listed)
    return by_key


def _visit(
    dependent: DependentBase[Any],
    params: Mapping[CacheKey, tuple[DependentBase[Any], list[DependencyParameter]]],
    steps: list[_Step],
    done: set[CacheKey],
) -> bool:
    """Append the steps that build `dependent`; False if the graph needs di's executor."""
    key = dependent.cache_key
    if key in done:
        return True
    canonical, dependent_params = params.get(key, (dependent, []))
    call = canonical.call
    if call is None or not _plannable(canonical):
        return False
    args: list[CacheKey] = []
    kwargs: list[tuple[str, CacheKey]] = []
    if canonical.scope != "singleton":
        for param in dependent_params:
            parameter, dependency = param.parameter, param.dependency
            if parameter is None or parameter.kind not in _POSITIONAL + _KEYWORD:
                return False
            if not _visit(dependency, params, steps, done):
                return False
            if parameter.kind in _POSITIONAL:
                args.append(dependency.cache_key)
            else:
                kwargs.append((parameter.name, dependency.cache_key))
    steps.append(
        _Step(key, call, tuple(args), tuple(kwargs), singleton=canonical.scope == "singleton")
    )
    done.add(key)
    return True


def _plannable(dependent: DependentBase[Any]) -> bool:
    # Without the cache di builds a dependency once per use, not once per resolve.
    if not dependent.use_cache:
        return False
    if dependent.scope == "singleton":
        return True  # di builds it (sync or async) once; the plan only reads its cache
    return dependent.scope in _PER_RESOLVE_SCOPES and _plain_call(dependent.call)


def _plain_call(call: object) -> bool:
    """Whether `call` is certainly a plain synchronous constructor or function.

    Anything else is left to di, which sees through partials, decorated functions
    (`__wrapped__`) and callable objects with an async `__call__`: a plan would call
    them and inject the coroutine or generator they return.
    """
    if isinstance(call, type):
        return True
    return (
        inspect.isfunction(call)
        and not hasattr(call, "__wrapped__")
        and not inspect.iscoroutinefunction(call)
        and not inspect.isasyncgenfunction(call)
        and not inspect.isgeneratorfunction(call)
    )
