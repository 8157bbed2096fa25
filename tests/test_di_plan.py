"""DIContainer's direct-call plans build exactly what di's executor builds.

Graphs of plain constructors skip di's executor after their first resolve. Each test
builds one graph shape twice, through `DIContainer` and through di itself, and checks
that both share and renew the same objects.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Annotated, Any, ParamSpec, TypeVar

import di
import pytest
from di.dependent import Dependent, Marker
from di.executors import AsyncExecutor

from cqrs.container.di import DIContainer

_T = TypeVar("_T")
_P = ParamSpec("_P")


class Leaf:
    pass


class Left:
    def __init__(self, leaf: Leaf) -> None:
        self.leaf = leaf


class Right:
    def __init__(self, leaf: Leaf) -> None:
        self.leaf = leaf


class Diamond:
    def __init__(self, left: Left, right: Right) -> None:
        self.left = left
        self.right = right


class Uncached:
    def __init__(
        self,
        first: Annotated[Leaf, Marker(use_cache=False, scope="request")],
        second: Annotated[Leaf, Marker(use_cache=False, scope="request")],
    ) -> None:
        self.first = first
        self.second = second


class KeywordOnly:
    def __init__(self, *, leaf: Leaf, left: Left) -> None:
        self.leaf = leaf
        self.left = left


class Config:
    pass


class UsesConfig:
    def __init__(self, config: Config, leaf: Leaf) -> None:
        self.config = config
        self.leaf = leaf


class AlsoUsesConfig:
    def __init__(self, config: Config) -> None:
        self.config = config


class Session:
    pass


class UsesSession:
    def __init__(self, session: Session, config: Config) -> None:
        self.session = session
        self.config = config


async def raw_resolve(container: di.Container, type_: type[_T]) -> _T:
    """What di alone builds for `type_`, in a fresh singleton and request scope."""
    solved = container.solve(Dependent(type_, scope="request"), scopes=("singleton", "request"))
    async with (
        di.ScopeState().enter_scope("singleton") as singletons,
        singletons.enter_scope("request") as state,
    ):
        return await solved.execute_async(AsyncExecutor(), state)


def config_as_singleton() -> di.Container:
    container = di.Container()
    container.bind(di.bind_by_type(Dependent(Config, scope="singleton"), Config))
    return container


@pytest.fixture
def executor_calls(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The types di's executor runs, recorded; plans never show up here."""
    calls: list[object] = []
    original = di.SolvedDependent.execute_async

    async def counting(self: di.SolvedDependent[Any], *args: Any, **kwargs: Any) -> Any:
        calls.append(self.dependency.call)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(di.SolvedDependent, "execute_async", counting)
    return calls


async def test_a_dependency_used_twice_in_one_resolve_is_shared_like_di_does() -> None:
    expected = await raw_resolve(di.Container(), Diamond)
    container = DIContainer()

    first = await container.resolve(Diamond)
    second = await container.resolve(Diamond)

    assert expected.left.leaf is expected.right.leaf
    assert first.left.leaf is first.right.leaf
    assert second.left.leaf is second.right.leaf
    assert first.left.leaf is not second.left.leaf


async def test_use_cache_false_builds_one_object_per_use_like_di_does() -> None:
    expected = await raw_resolve(di.Container(), Uncached)
    container = DIContainer()

    for _ in range(3):
        built = await container.resolve(Uncached)
        assert built.first is not built.second
    assert expected.first is not expected.second


async def test_keyword_only_parameters_are_injected() -> None:
    container = DIContainer()

    for _ in range(3):
        built = await container.resolve(KeywordOnly)
        assert isinstance(built.leaf, Leaf)
        assert isinstance(built.left, Left)
        assert built.left.leaf is built.leaf


async def test_plain_constructor_graphs_skip_the_executor_after_the_first_resolve(
    executor_calls: list[object],
) -> None:
    container = DIContainer(config_as_singleton())

    for _ in range(5):
        await container.resolve(Diamond)
        await container.resolve(UsesConfig)

    # The first resolve of a graph with a singleton builds it through di.
    assert executor_calls == [UsesConfig]


async def test_graphs_with_async_dependencies_stay_with_the_executor(
    executor_calls: list[object],
) -> None:
    async def open_session() -> AsyncGenerator[Session, None]:
        yield Session()

    raw = config_as_singleton()
    raw.bind(di.bind_by_type(Dependent(open_session, scope="request"), Session))
    container = DIContainer(raw)

    sessions = [await container.resolve(UsesSession) for _ in range(3)]

    assert executor_calls == [UsesSession] * 3
    assert len({id(built.session) for built in sessions}) == 3


async def test_a_singleton_is_shared_by_planned_and_executor_run_graphs() -> None:
    def open_session() -> Generator[Session, None, None]:
        yield Session()

    raw = config_as_singleton()
    raw.bind(di.bind_by_type(Dependent(open_session, scope="request"), Session))
    container = DIContainer(raw)

    planned = [await container.resolve(UsesConfig) for _ in range(3)]
    executed = await container.resolve(UsesSession)
    also_planned = await container.resolve(AlsoUsesConfig)

    configs = {id(built.config) for built in [*planned, also_planned]} | {id(executed.config)}
    assert len(configs) == 1
    assert len({id(built.leaf) for built in planned}) == 3


async def test_after_aclose_singletons_are_built_again() -> None:
    container = DIContainer(config_as_singleton())
    before = [await container.resolve(UsesConfig) for _ in range(2)]

    await container.aclose()
    after = [await container.resolve(UsesConfig) for _ in range(2)]

    assert before[0].config is before[1].config
    assert after[0].config is after[1].config
    assert before[0].config is not after[0].config


async def test_a_function_provider_is_called_once_per_resolve() -> None:
    made: list[Leaf] = []

    def make_leaf() -> Leaf:
        leaf = Leaf()
        made.append(leaf)
        return leaf

    raw = di.Container()
    raw.bind(di.bind_by_type(Dependent(make_leaf, scope="request"), Leaf))
    container = DIContainer(raw)

    built = [await container.resolve(Diamond) for _ in range(4)]

    assert [diamond.left.leaf for diamond in built] == made
    assert all(diamond.right.leaf is diamond.left.leaf for diamond in built)


# --- what a plan must leave to di (found in review) ---------------------------------------


class Client:
    def __init__(self, origin: str = "constructor") -> None:
        self.origin = origin


class UsesClient:
    def __init__(self, client: Client) -> None:
        self.client = client


def traced(function: Callable[_P, _T]) -> Callable[_P, _T]:
    """A decorator like tracing or logging ones: it hides what the function is."""

    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        return function(*args, **kwargs)

    return wrapper


@traced
async def decorated_async_client() -> Client:
    return Client("decorated async factory")


@traced
def decorated_generator_client() -> Generator[Client, None, None]:
    LOG.append("open")
    yield Client("decorated generator")
    LOG.append("close")


class AsyncClientFactory:
    async def __call__(self) -> Client:
        return Client("async callable object")


LOG: list[str] = []


@pytest.mark.parametrize(
    ("provider", "origin"),
    [
        (decorated_async_client, "decorated async factory"),
        (AsyncClientFactory(), "async callable object"),
        (functools.partial(decorated_async_client), "decorated async factory"),
    ],
    ids=["decorated-coroutine", "async-call-object", "partial"],
)
async def test_providers_only_di_can_see_through_are_left_to_di(
    provider: object, origin: str
) -> None:
    raw = di.Container()
    raw.bind(di.bind_by_type(Dependent(provider, scope="request"), Client))
    container = DIContainer(raw)

    for _ in range(2):
        built = await container.resolve(UsesClient)
        assert isinstance(built.client, Client)
        assert built.client.origin == origin


async def test_a_decorated_generator_provider_is_torn_down() -> None:
    LOG.clear()
    raw = di.Container()
    raw.bind(di.bind_by_type(Dependent(decorated_generator_client, scope="request"), Client))
    container = DIContainer(raw)

    built, release = await container.resolve_scoped(UsesClient)

    assert built.client.origin == "decorated generator"
    assert release is not None
    await release(None)
    assert LOG == ["open", "close"]


class Pool:
    pass


async def open_pool() -> Pool:
    return Pool()


class UsesPool:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool


async def test_an_async_singleton_does_not_keep_its_dependents_from_a_plan(
    executor_calls: list[object],
) -> None:
    raw = di.Container()
    raw.bind(di.bind_by_type(Dependent(open_pool, scope="singleton"), Pool))
    container = DIContainer(raw)

    built = [await container.resolve(UsesPool) for _ in range(4)]

    assert len({id(item.pool) for item in built}) == 1
    assert len({id(item) for item in built}) == len(built)
    assert executor_calls == [UsesPool]  # only the first resolve, which builds the pool


class SharedConfig:
    pass


class WantsSingletonConfig:
    def __init__(self, config: Annotated[SharedConfig, Marker(scope="singleton")]) -> None:
        self.config = config


class WantsConfig:
    def __init__(self, config: SharedConfig) -> None:
        self.config = config


async def test_a_value_cached_as_a_singleton_is_reused_like_di_does() -> None:
    container = DIContainer()

    first = await container.resolve(WantsSingletonConfig)
    later = [await container.resolve(WantsConfig) for _ in range(2)]

    # di looks a key up in the outer scopes first: the singleton already built wins.
    assert all(item.config is first.config for item in later)
