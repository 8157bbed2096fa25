"""`DependencyInjectorCQRSContainer`: the `Container` protocol over dependency-injector.

Needs the `dependency-injector` extra (`pip install "cqrs-typed[dependency-injector]"`);
`import cqrs` never imports dependency-injector, only this module does. Import it from
`cqrs.container.dependency_injector`, python-cqrs's path, which re-exports it.

Handlers are found in the wrapped container by the type their provider provides
(nested containers included), or, when no provider provides a handler class, built by
calling it with its constructor parameters taken from the providers of their
annotated types. Each handler gets a request scope, kept open while it runs::

    class Services(containers.DeclarativeContainer):
        engine = providers.Singleton(create_engine, "sqlite://")
        session = providers.ContextLocalResource(open_session, engine)  # one per handler
        users = providers.Factory(SqlUsers, session=session)
        register = providers.Factory(RegisterHandler, users=users)

    mediator = bootstrap.bootstrap(
        di_container=DependencyInjectorCQRSContainer(Services()), commands_mapper=...
    )
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import typing
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Mapping,
)
from contextvars import ContextVar
from typing import Any, Protocol, TypeAlias, cast

from typing_extensions import TypeVar, is_protocol

from cqrs.container.protocol import Release
from cqrs.exceptions import DependencyResolutionError, InvalidConfigurationError

try:
    from dependency_injector import containers, errors, providers
except ImportError as _missing:
    _msg = (
        "DependencyInjectorCQRSContainer (cqrs.container.dependency_injector) needs "
        'dependency-injector, which is not installed: pip install "cqrs-typed[dependency-injector]"'
    )
    raise ImportError(_msg, name=_missing.name) from _missing

__all__ = ("DependencyInjectorCQRSContainer",)

_T = TypeVar("_T")

_Provider: TypeAlias = "providers.Provider[Any]"
_ResourceType: TypeAlias = "type[providers.BaseResource[Any]]"

# Providers whose value lives longer than one handler: one of them depending on a
# request-scoped resource would keep that resource past its scope.
_LONG_LIVED = (providers.BaseSingleton, providers.BaseResource)
# Providers of containers: their members are indexed one by one, never copied whole.
_CONTAINERS = (providers.Container, providers.DependenciesContainer)
# Providers that call their `provides` to build what they provide.
_BUILDERS = (providers.Factory, providers.BaseSingleton, providers.Callable, providers.BaseResource)
# What a resource function returns that yields its value: Iterator[Session] -> Session.
_YIELDING = frozenset(
    {
        Iterator,
        Generator,
        AsyncIterator,
        AsyncGenerator,
        contextlib.AbstractContextManager,
        contextlib.AbstractAsyncContextManager,
    }
)


class _Node(Protocol):
    """The members of a provider read here, typed (the stubs leave their providers bare)."""

    @property
    def last_overriding(self) -> _Provider | None: ...
    @property
    def overridden(self) -> tuple[_Provider, ...]: ...
    @property
    def overrides(self) -> tuple[_Provider, ...]: ...
    @property
    def related(self) -> Iterator[_Provider]: ...
    @property
    def provides(self) -> object: ...  # builders and resources only
    @property
    def providers(self) -> Mapping[str, _Provider]: ...  # container providers only


def _node(provider: _Provider) -> _Node:
    return cast("_Node", provider)


def _name(obj: object) -> str:
    return getattr(obj, "__qualname__", None) or repr(obj)


def _return_class(function: object) -> type[Any] | None:
    """The class a function's return annotation names, unwrapping Iterator[X] and kin."""
    function = inspect.unwrap(cast("Callable[..., Any]", function))
    try:
        annotation = typing.get_type_hints(function).get("return")
    except Exception:  # noqa: BLE001 - an annotation we cannot read just indexes nothing
        return None
    if typing.get_origin(annotation) in _YIELDING:
        arguments = typing.get_args(annotation)
        annotation = arguments[0] if arguments else None
    return annotation if isinstance(annotation, type) else None


def _provided_class(provider: _Provider) -> type[Any] | None:
    """The class of the objects `provider` provides, when it can be told without calling it."""
    if isinstance(provider, providers.Dependency):
        instance_of: type[Any] = provider.instance_of
        return None if instance_of is object else instance_of
    if isinstance(provider, _BUILDERS):
        provides = _node(provider).provides
        if isinstance(provides, type):
            # A resource's class (a resources.Resource) does not say what it provides.
            return None if isinstance(provider, providers.BaseResource) else provides
        return _return_class(provides) if callable(provides) else None
    if isinstance(provider, providers.Object) and not isinstance(
        provider, (*_CONTAINERS, providers.Configuration)
    ):
        value: object = provider.provides
        return None if value is None else type(value)
    return None


def _index(
    container: containers.Container,
) -> tuple[dict[type[Any], list[_Provider]], dict[int, str]]:
    """Each provided class with its providers, and each provider's path in the container."""
    by_class: dict[type[Any], list[_Provider]] = {}
    paths: dict[int, str] = {}

    def visit(members: Mapping[str, _Provider], prefix: str) -> None:
        for name, provider in members.items():
            if id(provider) in paths:
                continue
            paths[id(provider)] = path = prefix + name
            if isinstance(provider, _CONTAINERS):
                visit(_node(provider).providers, path + ".")
                continue
            provided = _provided_class(provider)
            if provided is not None:
                by_class.setdefault(provided, []).append(provider)

    visit(container.providers, "")
    return by_class, paths


def _literals(provider: _Provider) -> Iterator[object]:
    """The injected values of `provider` that are not providers (kept as they are)."""
    for attribute in ("args", "kwargs", "attributes"):
        values: object = getattr(provider, attribute, ())
        if isinstance(values, Mapping):
            values = cast("Mapping[str, object]", values).values()
        for value in cast("Iterable[object]", values):
            if not providers.is_provider(value):
                yield value


class _Scope:
    """The request-scoped resources of one handler: opened on first use, closed together."""

    __slots__ = ("_opened", "_pending", "_stack")

    def __init__(self) -> None:
        self._stack = contextlib.AsyncExitStack()
        self._opened: dict[int, object] = {}
        self._pending: list[asyncio.Future[object]] = []

    def provide(self, key: int, opener: _Provider) -> object:
        """The value of resource `key` in this scope, opened by `opener` on first use.

        The value, or a future of it when opening it is asynchronous: dependency-injector
        awaits the futures its injections return.
        """
        if key in self._opened:
            return self._opened[key]
        raw: object = opener()  # what the resource's `provides` returned, injections given
        value: object
        if inspect.isawaitable(raw) or (
            _is_async_context_manager(raw) and not _is_sync_context_manager(raw)
        ):
            value = future = asyncio.ensure_future(self._enter_async(raw))
            self._pending.append(future)
        elif _is_sync_context_manager(raw):
            context = cast("contextlib.AbstractContextManager[object]", raw)
            value = self._stack.enter_context(context)
        else:
            value = raw  # a plain value: nothing to close
        self._opened[key] = value
        return value

    async def _enter_async(self, raw: object) -> object:
        opened = await cast("Awaitable[object]", raw) if inspect.isawaitable(raw) else raw
        if _is_async_context_manager(opened):
            context = cast("contextlib.AbstractAsyncContextManager[object]", opened)
            return await self._stack.enter_async_context(context)
        if _is_sync_context_manager(opened):
            return self._stack.enter_context(
                cast("contextlib.AbstractContextManager[object]", opened)
            )
        return opened

    async def close(self, error: BaseException | None) -> None:
        """Close what was opened, last first; context managers see `error`."""
        pending, self._pending = self._pending, []
        for future in pending:
            if not future.done():
                future.cancel()
        if pending:
            # Wait for openings still running, so that nothing opens after the close.
            await asyncio.gather(*pending, return_exceptions=True)
        if error is None:
            await self._stack.aclose()
        else:
            await self._stack.__aexit__(type(error), error, error.__traceback__)


_CURRENT: ContextVar[_Scope | None] = ContextVar("cqrs_dependency_injector_scope", default=None)
"""The scope of the handler being built, read by the request-scoped resources' stand-ins."""


def _scoped_value(key: int, openers: Mapping[int, _Provider]) -> object:
    scope = _CURRENT.get()
    if scope is None:
        msg = (
            "a request-scoped resource was called outside the building of a handler "
            "(injected as a provider and called later?); inject its value instead"
        )
        raise DependencyResolutionError(msg)
    return scope.provide(key, openers[key])


def _is_sync_context_manager(obj: object) -> bool:
    return hasattr(obj, "__enter__") and hasattr(obj, "__exit__")


def _is_async_context_manager(obj: object) -> bool:
    return hasattr(obj, "__aenter__") and hasattr(obj, "__aexit__")


class DependencyInjectorCQRSContainer:
    """Builds handlers with a dependency-injector container, one request scope each.

    Finding a handler: the provider whose provided class is the handler class (a
    `Factory`, `Singleton` or `Callable` of it; a provider of a function whose return
    annotation names it, `Iterator[X]` for a resource's generator; an `Object` of an
    instance of it; a `Dependency(instance_of=...)`), anywhere in the container, nested
    containers included; failing that, the provider of a subclass of it (protocols are
    found by their own name only). When none provides it,
    the handler class itself is called, each constructor parameter given by the
    provider of its annotated type (the same search), or left to its default. Two
    providers of one class make the search ambiguous: that is an error, not a pick.

    What "scope" means here. dependency-injector has no scopes, only providers with
    their own lifetimes, which this adapter keeps: a `Factory` builds anew on each
    call, a `Singleton` or a plain `Resource` lives as long as the container (close
    resources with `container.shutdown_resources()`). On top of them, each resolve is
    a request scope of its own: the providers of the request-scoped resource types
    (`providers.ContextLocalResource` unless `request_scoped` names others) that the
    handler's providers depend on are opened once for that handler, on first use,
    shared by everything in its graph, kept open while the mediator runs it (a
    stream: until it ends or the consumer stops) and then closed, last opened first,
    by the release. Their generators and context managers see the handler's
    exception (a generator resource gets it thrown in at its `yield`), which
    dependency-injector's own `shutdown()` cannot do. Concurrent handlers never share
    them. The resource providers themselves are not called: this adapter opens their
    `provides` with their injections, so the same providers still behave as
    dependency-injector defines outside handlers. A long-lived provider (a singleton
    or plain resource) that depends on a request-scoped one is refused.

    To do that, the first resolve of a handler copies (with `providers.deepcopy`) the
    providers between the handler and its request-scoped resources, with stand-ins for
    the resources that give the current scope's values; everything else in the graph,
    and every value injected as is, is shared with the original, not copied. A handler
    graph without request-scoped resources is called as it is. The plan is made again
    when an override in the graph changes, so `provider.override(...)` in tests works;
    after adding or replacing providers in the container, attach it again.
    """

    __slots__ = ("_by_class", "_container", "_paths", "_plans", "_request_scoped")

    def __init__(
        self,
        external_container: containers.Container | None = None,
        /,
        *,
        request_scoped: tuple[_ResourceType, ...] = (providers.ContextLocalResource,),
    ) -> None:
        """Wrap `external_container` (or attach one later, as python-cqrs code does).

        Args:
            external_container: the dependency-injector container to build handlers with.
            request_scoped: the resource provider types opened once per handler; by
                default dependency-injector's per-context `ContextLocalResource`. A
                `providers.Resource` subclass of your own works as a marker too.
        """
        self._request_scoped = request_scoped
        self._container: containers.Container | None = None
        self._by_class: dict[type[Any], list[_Provider]] = {}
        self._paths: dict[int, str] = {}
        self._plans: dict[type[Any], _Plan] = {}
        if external_container is not None:
            self.attach_external_container(external_container)

    @property
    def external_container(self) -> containers.Container:
        """The wrapped dependency-injector container.

        Raises:
            InvalidConfigurationError: no container is attached yet.
        """
        if self._container is None:
            msg = (
                "no dependency-injector container is attached: pass one to "
                "DependencyInjectorCQRSContainer(container) or call attach_external_container"
            )
            raise InvalidConfigurationError(msg)
        return self._container

    def attach_external_container(self, container: containers.Container, /) -> None:
        """Wrap `container` instead, indexing its providers (nested containers included)."""
        self._container = container
        self._by_class, self._paths = _index(container)
        self._plans.clear()

    def prepare(self, types: Iterable[type[Any]]) -> None:
        """Find or plan the providers of `types` now, so that wiring errors surface early.

        Raises:
            DependencyResolutionError: a type, or one of its constructor parameters, has
                no provider (or several), or a long-lived provider in its graph depends
                on a request-scoped resource.
        """
        for type_ in types:
            self._plan(type_)

    async def resolve(self, type_: type[_T], /) -> _T:
        """Build `type_`; its request-scoped resources are closed before this returns.

        Mediators use `resolve_scoped` instead, to keep them open while the handler runs.
        """
        instance, release = await self.resolve_scoped(type_)
        if release is not None:
            await release(None)
        return instance

    async def resolve_scoped(self, type_: type[_T], /) -> tuple[_T, Release | None]:
        """Build `type_` in a new request scope, left open for the caller.

        Returns the instance and the release that closes the scope's resources (their
        teardown sees the exception passed to it), or None when the handler's graph
        has no request-scoped resource.
        """
        plan = self._plan(type_)
        if not plan.scoped:
            return cast("_T", await self._build(type_, plan.call)), None
        scope = _Scope()
        token = _CURRENT.set(scope)
        try:
            built = await self._build(type_, plan.call)
        except BaseException as error:
            _CURRENT.reset(token)
            await scope.close(error)
            raise
        _CURRENT.reset(token)
        return cast("_T", built), scope.close

    async def _build(self, type_: type[Any], provider: _Provider) -> object:
        try:
            built: object = provider()
            while inspect.isawaitable(built):  # an async graph gives a future of the value
                built = await built
        except errors.Error as exc:  # dependency-injector's wiring errors (undefined Dependency)
            msg = f"the container cannot build {_name(type_)}: {exc}"
            raise DependencyResolutionError(msg) from exc
        return built

    def _plan(self, type_: type[Any]) -> _Plan:
        plan = self._plans.get(type_)
        if plan is None or not plan.is_current():
            if self._container is None:
                self.external_container  # noqa: B018 - raises the error that says what to do
            found = self._find(type_, type_)
            root = found if found is not None else self._constructor_of(type_)
            plan = _Plan(type_, root, self._request_scoped, self._describe)
            self._plans[type_] = plan
        return plan

    def _find(self, wanted: type[Any], handler: type[Any]) -> _Provider | None:
        """The provider of `wanted` (exactly, else of one subclass); None when none is."""
        exact = self._by_class.get(wanted, [])
        if not exact and not is_protocol(wanted):  # a protocol is found by its own name only
            exact = [
                provider
                for provided, found in self._by_class.items()
                if provided is not wanted and issubclass(provided, wanted)
                for provider in found
            ]
        if len(exact) > 1:
            names = ", ".join(self._describe(provider) for provider in exact)
            msg = (
                f"the container cannot build {_name(handler)}: several providers provide "
                f"{_name(wanted)} ({names}); keep one, or give {_name(handler)} a provider "
                "that injects the one it needs"
            )
            raise DependencyResolutionError(msg)
        return exact[0] if exact else None

    def _constructor_of(self, type_: type[Any]) -> _Provider:
        """A `Factory` of `type_` injecting its constructor parameters by annotated type."""
        if is_protocol(type_) or inspect.isabstract(type_):
            kind = "protocol" if is_protocol(type_) else "abstract class"
            msg = (
                f"the container cannot build {_name(type_)}: no provider provides this "
                f"{kind}; declare one, e.g. providers.Factory(Impl) or a factory function "
                f"annotated '-> {_name(type_)}'"
            )
            raise DependencyResolutionError(msg)
        try:
            hints = typing.get_type_hints(type_.__init__)
        except NameError as exc:
            msg = (
                f"the container cannot build {_name(type_)}: reading the annotations of its "
                f"constructor failed ({exc}); declare a provider of it in the container"
            )
            raise DependencyResolutionError(msg) from exc
        except TypeError:  # object.__init__ and other built-in constructors
            hints = {}
        args: list[object] = []
        kwargs: dict[str, object] = {}
        for name, parameter in inspect.signature(type_).parameters.items():
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            annotation = hints.get(name)
            provider = self._find(annotation, type_) if isinstance(annotation, type) else None
            if provider is None:
                if parameter.default is parameter.empty:
                    wanted = "no annotation" if annotation is None else _name(annotation)
                    msg = (
                        f"the container cannot build {_name(type_)}: no provider provides "
                        f"its parameter {name!r} ({wanted}); declare one in the container, "
                        f"or a provider of {_name(type_)} that injects it"
                    )
                    raise DependencyResolutionError(msg)
                if parameter.kind is parameter.POSITIONAL_ONLY:
                    args.append(parameter.default)
                continue
            if parameter.kind is parameter.POSITIONAL_ONLY:
                args.append(provider)
            else:
                kwargs[name] = provider
        return providers.Factory(type_, *args, **kwargs)

    def _describe(self, provider: _Provider) -> str:
        path = self._paths.get(id(provider))
        return repr(path) if path is not None else str(provider)


class _Plan:
    """A handler's provider, analysed: the providers it calls, which are request-scoped.

    `call` is the provider to call for each resolve: the handler's own provider when no
    request-scoped resource is in its graph, else a copy of it (made once) in which
    each such resource is a stand-in giving the current scope's value.
    """

    __slots__ = ("_nodes", "_overridings", "call", "scoped")

    def __init__(
        self,
        handler: type[Any],
        root: _Provider,
        request_scoped: tuple[_ResourceType, ...],
        describe: Callable[[_Provider], str],
    ) -> None:
        nodes: dict[int, _Provider] = {}
        children_of: dict[int, list[_Provider]] = {}
        request: list[int] = []
        stack = [root]
        while stack:
            provider = stack.pop()
            key = id(provider)
            if key in nodes:
                continue
            nodes[key] = provider
            overriding = _node(provider).last_overriding
            children: list[_Provider]
            if isinstance(provider, _CONTAINERS):
                children = []
            elif overriding is not None:  # calls go to the last overriding provider only
                children = [overriding]
            else:
                children = list(_node(provider).related)
                if isinstance(provider, request_scoped):
                    request.append(key)
            children_of[key] = children
            stack.extend(children)
        self._nodes = tuple(nodes.values())
        # The graph changes when an override in it does: the plan is made again then.
        self._overridings = tuple(_node(provider).last_overriding for provider in self._nodes)
        self.scoped = bool(request)
        self.call = root
        if request:
            reaching = _reaching(request, children_of)
            _refuse_long_lived(handler, nodes, reaching, set(request), describe)
            self.call = _stand_in_copy(root, nodes, reaching, request)

    def is_current(self) -> bool:
        """Whether no override in the graph changed since the plan was made."""
        return all(
            _node(provider).last_overriding is overriding
            for provider, overriding in zip(self._nodes, self._overridings, strict=True)
        )


def _reaching(request: list[int], children_of: Mapping[int, list[_Provider]]) -> set[int]:
    """The providers from which a request-scoped resource is reached (them included)."""
    parents: dict[int, list[int]] = {}
    for key, children in children_of.items():
        for child in children:
            parents.setdefault(id(child), []).append(key)
    reaching: set[int] = set()
    pending = list(request)
    while pending:
        key = pending.pop()
        if key not in reaching:
            reaching.add(key)
            pending.extend(parents.get(key, ()))
    return reaching


def _refuse_long_lived(
    handler: type[Any],
    nodes: Mapping[int, _Provider],
    reaching: set[int],
    request: set[int],
    describe: Callable[[_Provider], str],
) -> None:
    for key in reaching - request:
        provider = nodes[key]
        if _node(provider).last_overriding is None and isinstance(provider, _LONG_LIVED):
            msg = (
                f"the container cannot build {_name(handler)}: {describe(provider)} lives "
                "as long as the container, but depends on a request-scoped resource, which "
                "closes after each handler; make it a Factory, or the resource long-lived"
            )
            raise DependencyResolutionError(msg)


def _stand_in_copy(
    root: _Provider, nodes: Mapping[int, _Provider], reaching: set[int], request: list[int]
) -> _Provider:
    """A copy of `root` whose request-scoped resources give the current scope's values.

    Only the providers that reach a resource are copied (stateless ones: long-lived
    ones are refused before); the rest of the graph, and injected values that are not
    providers, are shared with the original.
    """
    memo = _shared(nodes, reaching)
    openers: dict[int, _Provider] = {}
    for key in request:
        memo[key] = providers.Callable(functools.partial(_scoped_value, key, openers))
    for key in request:
        # The resource's `provides` with its injections (request-scoped ones stand-ins).
        resource = cast("providers.BaseResource[Any]", nodes[key])
        provides: object = resource.provides
        if providers.is_provider(provides):
            provides = providers.deepcopy(provides, memo)
        args: tuple[object, ...] = providers.deepcopy(resource.args, memo)
        kwargs: dict[str, object] = providers.deepcopy(resource.kwargs, memo)
        openers[key] = providers.Callable(cast("Callable[..., object]", provides), *args, **kwargs)
    return cast("_Provider", providers.deepcopy(root, memo))


def _shared(nodes: Mapping[int, _Provider], reaching: set[int]) -> dict[int, Any]:
    """A deepcopy memo that keeps all but the providers in `reaching` as they are."""
    memo: dict[int, Any] = {key: node for key, node in nodes.items() if key not in reaching}
    for key in reaching:
        provider = nodes[key]
        kept: list[object] = list(_literals(provider))
        kept.extend(_node(provider).overridden)
        kept.extend(_node(provider).overrides)
        kept.append(getattr(provider, "parent", None))  # a Dependency's container
        for value in kept:
            if value is not None and id(value) not in reaching:
                memo.setdefault(id(value), value)
    return memo
