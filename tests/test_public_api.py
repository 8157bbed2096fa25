"""The public surface (SPEC 1, 2; STYLE habits 1, 2): names, modules, floors, errors."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, get_origin

import pytest

import cqrs

SRC = Path(cqrs.__file__).parent

TOP_LEVEL_NAMES = (
    "Request",
    "IRequest",
    "DCRequest",
    "PydanticRequest",
    "Response",
    "IResponse",
    "DCResponse",
    "PydanticResponse",
    "Event",
    "IEvent",
    "DCEvent",
    "PydanticEvent",
    "DomainEvent",
    "IDomainEvent",
    "DCDomainEvent",
    "PydanticDomainEvent",
    "NotificationEvent",
    "INotificationEvent",
    "DCNotificationEvent",
    "PydanticNotificationEvent",
    "RequestHandler",
    "StreamingRequestHandler",
    "EventHandler",
    "RequestMap",
    "EventMap",
    "RequestMediator",
    "StreamingRequestMediator",
    "EventMediator",
    "EventEmitter",
    "Container",
    "DIContainer",
)

MODULE_NAMES: dict[str, tuple[str, ...]] = {
    "cqrs.requests.bootstrap": (
        "bootstrap",
        "bootstrap_streaming",
        "setup_mediator",
        "setup_streaming_mediator",
        "setup_event_emitter",
    ),
    "cqrs.events.bootstrap": ("bootstrap", "setup_mediator"),
    "cqrs.requests.request": ("Request",),
    "cqrs.requests.request_handler": ("RequestHandler", "StreamingRequestHandler"),
    "cqrs.requests.map": ("RequestMap",),
    "cqrs.response": ("Response",),
    "cqrs.events": ("EventMap", "EventEmitter", "EventHandler"),
    "cqrs.events.event": ("Event", "DomainEvent", "NotificationEvent"),
    "cqrs.events.event_handler": ("EventHandler",),
    "cqrs.events.event_processor": ("EventProcessor",),
    "cqrs.message_brokers.protocol": ("MessageBroker", "Message"),
    "cqrs.message_brokers.devnull": ("DevnullMessageBroker", "MESSAGE_BUS"),
    "cqrs.container.protocol": ("Container",),
    "cqrs.container.di": ("DIContainer",),
    "cqrs.middlewares.base": ("Middleware", "MiddlewareChain"),
    "cqrs.middlewares.logging": ("LoggingMiddleware",),
    "cqrs.mediator": ("RequestMediator", "StreamingRequestMediator", "EventMediator"),
    "cqrs.dispatcher.exceptions": ("RequestHandlerDoesNotExist", "RequestHandlerTypeError"),
    "cqrs.dispatcher": (
        "RequestDispatcher",
        "StreamingRequestDispatcher",
        "EventDispatcher",
        "RequestDispatchResult",
    ),
    "cqrs.dispatcher.event": ("EventDispatcher",),
}


def _all_module_names() -> list[str]:
    return ["cqrs"] + [m.name for m in pkgutil.walk_packages(cqrs.__path__, "cqrs.")]


def _is_public(module_name: str) -> bool:
    return not any(part.startswith("_") for part in module_name.split("."))


PUBLIC_MODULES = [name for name in _all_module_names() if _is_public(name)]
ALL_MODULES = _all_module_names()


def _import_all_public() -> list[ModuleType]:
    return [importlib.import_module(name) for name in PUBLIC_MODULES]


def _source_of(module: ModuleType) -> ast.Module:
    assert module.__file__ is not None
    return ast.parse(Path(module.__file__).read_text(encoding="utf-8"))


# --- names and paths ----------------------------------------------------------------


@pytest.mark.parametrize("name", TOP_LEVEL_NAMES)
def test_top_level_name_is_importable_from_cqrs(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from cqrs import {name}", namespace)  # noqa: S102 - the import statement is the test

    assert namespace[name] is getattr(cqrs, name)


@pytest.mark.parametrize("name", TOP_LEVEL_NAMES)
def test_top_level_name_is_in_cqrs_all(name: str) -> None:
    assert name in cqrs.__all__


def test_top_level_aliases_are_the_pydantic_classes() -> None:
    assert cqrs.Request is cqrs.PydanticRequest
    assert cqrs.Response is cqrs.PydanticResponse
    assert cqrs.Event is cqrs.PydanticEvent
    assert cqrs.DomainEvent is cqrs.PydanticDomainEvent
    assert cqrs.NotificationEvent is cqrs.PydanticNotificationEvent


@pytest.mark.parametrize(("module_name", "names"), MODULE_NAMES.items())
def test_documented_module_path_provides_its_names(
    module_name: str, names: tuple[str, ...]
) -> None:
    module = importlib.import_module(module_name)

    missing = [name for name in names if not hasattr(module, name)]

    assert missing == []


@pytest.mark.parametrize(("module_name", "names"), MODULE_NAMES.items())
def test_documented_module_path_re_exports_the_same_objects_as_cqrs(
    module_name: str, names: tuple[str, ...]
) -> None:
    module = importlib.import_module(module_name)

    for name in names:
        if hasattr(cqrs, name):
            assert getattr(module, name) is getattr(cqrs, name), name


def test_events_bootstrap_is_a_different_function_from_requests_bootstrap() -> None:
    from cqrs.events import bootstrap as events_bootstrap
    from cqrs.requests import bootstrap as requests_bootstrap

    events_function: object = events_bootstrap.bootstrap
    requests_function: object = requests_bootstrap.bootstrap
    assert events_function is not requests_function


# --- __all__ of every public module -------------------------------------------------


def test_public_modules_are_found() -> None:
    assert set(MODULE_NAMES) <= set(PUBLIC_MODULES)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_public_module_has_all_as_a_tuple(module_name: str) -> None:
    module = importlib.import_module(module_name)

    assert isinstance(getattr(module, "__all__", None), tuple)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_name_in_all_exists(module_name: str) -> None:
    module = importlib.import_module(module_name)

    missing = [name for name in module.__all__ if not hasattr(module, name)]

    assert missing == []


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_all_has_no_duplicates(module_name: str) -> None:
    module = importlib.import_module(module_name)

    assert len(set(module.__all__)) == len(module.__all__)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_names_imported_from_private_modules_are_in_all(module_name: str) -> None:
    module = importlib.import_module(module_name)
    imported: list[str] = []
    for node in _source_of(module).body:
        if (
            isinstance(node, ast.ImportFrom)
            and node.module is not None
            and node.module.startswith("cqrs._")
            and node.module != "cqrs._public"
        ):
            imported.extend(alias.asname or alias.name for alias in node.names)

    missing = [name for name in imported if not name.startswith("_") and name not in module.__all__]

    assert missing == []


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_public_aliases_assigned_in_a_module_are_in_all(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assigned = [
        target.id
        for node in _source_of(module).body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    ]

    missing = [
        name
        for name in assigned
        if not name.startswith("_") and name != "__all__" and name not in module.__all__
    ]

    assert missing == []


# --- __module__ of re-exported objects ----------------------------------------------


def _reexported_classes_and_functions() -> list[tuple[str, str, Any]]:
    found: list[tuple[str, str, Any]] = []
    for module in _import_all_public():
        for name in module.__all__:
            obj = getattr(module, name)
            # Type aliases such as `Callable[...]` pass `inspect.isclass` on 3.10.
            if get_origin(obj) is not None:
                continue
            if inspect.isclass(obj) or inspect.isfunction(obj):
                found.append((module.__name__, name, obj))
    return found


def test_reexported_objects_report_a_public_module() -> None:
    private = [
        f"{module}.{name} reports {obj.__module__}"
        for module, name, obj in _reexported_classes_and_functions()
        if obj.__module__.startswith("cqrs._")
    ]

    assert private == []


def test_reexported_objects_are_found_where_their_module_says() -> None:
    wrong: list[str] = []
    for module_name, name, obj in _reexported_classes_and_functions():
        reported = importlib.import_module(obj.__module__)
        if getattr(reported, obj.__qualname__, None) is not obj:
            wrong.append(f"{module_name}.{name} -> {obj.__module__}")

    assert wrong == []


def test_top_level_classes_report_the_cqrs_module() -> None:
    for name in ("RequestMap", "EventMap", "RequestMediator", "DIContainer", "RequestHandler"):
        assert getattr(cqrs, name).__module__ == "cqrs", name


# --- floors: nothing inside imports the top-level package ---------------------------


def _package_sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", _package_sources(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_imports_the_top_level_package(path: Path) -> None:
    offending: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            offending.extend(
                f"line {node.lineno}: import {alias.name}"
                for alias in node.names
                if alias.name == "cqrs" or alias.name.startswith("cqrs.")
            )
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "cqrs":
            offending.append(f"line {node.lineno}: from cqrs import ...")

    assert offending == []


@pytest.mark.parametrize("path", _package_sources(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_uses_relative_imports(path: Path) -> None:
    relative = [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]

    assert relative == []


# --- what `import cqrs` pulls in ----------------------------------------------------

ALLOWED_THIRD_PARTY = {
    "cqrs",
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "typing_inspection",
    "typing_extensions",
    "di",
    "graphlib2",
    "anyio",
    "sniffio",
    "idna",
    "exceptiongroup",
}

FORBIDDEN = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "faststream",
    "aiokafka",
    "aio_pika",
    "redis",
    "dependency_injector",
    "dishka",
    "google",
)

_LIST_TOP_LEVEL = (
    "import sys; {stmt}; print('\\n'.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
)


def _top_level_modules_after(stmt: str) -> set[str]:
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", _LIST_TOP_LEVEL.format(stmt=stmt)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(result.stdout.split())


@pytest.fixture(scope="module")
def imported_by_cqrs() -> set[str]:
    return _top_level_modules_after("import cqrs") - _top_level_modules_after("pass")


def test_import_cqrs_does_not_import_integrations(imported_by_cqrs: set[str]) -> None:
    assert imported_by_cqrs.isdisjoint(FORBIDDEN)


def test_import_cqrs_imports_only_its_runtime_dependencies(imported_by_cqrs: set[str]) -> None:
    third_party = {
        name
        for name in imported_by_cqrs
        # _sysconfigdata_* is the interpreter's generated build configuration (stdlib).
        if name not in sys.stdlib_module_names and not name.startswith("_sysconfigdata")
    }

    assert third_party <= ALLOWED_THIRD_PARTY, third_party - ALLOWED_THIRD_PARTY
    # pydantic is loaded with the first message base (`cqrs.Request`, ...), not before.
    assert {"cqrs", "di"} <= third_party


# The modules of the extras: importing a framework or a broker client is their job.
# (purgatory, behind cqrs.adapters.circuit_breaker, imports redis when it is installed.)
EXTRA_MODULES = frozenset(
    {
        "cqrs.adapters.circuit_breaker",
        "cqrs.outbox.sqlalchemy",
        "cqrs.inbox.sqlalchemy",
        "cqrs.outbox.notify",
        "cqrs.saga.storage.sqlalchemy",
        *(
            f"cqrs.{package}.{name}"
            for package in ("adapters", "container")
            for name in ("dependency_injector", "dishka")
        ),
        *(
            f"cqrs.{package}.{name}"
            for package in ("adapters", "message_brokers")
            for name in ("faststream", "kafka", "amqp")
        ),
    }
)


def _imports_an_extra(module_name: str) -> bool:
    return module_name.startswith("cqrs.integrations.") or module_name in EXTRA_MODULES


def test_importing_every_public_module_adds_no_integration() -> None:
    stmt = "; ".join(f"import {name}" for name in PUBLIC_MODULES if not _imports_an_extra(name))

    imported = _top_level_modules_after(stmt)

    assert imported.isdisjoint(FORBIDDEN)


# --- errors -------------------------------------------------------------------------


def _library_exception_classes() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for name in ALL_MODULES:
        module = importlib.import_module(name)
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__.split(".")[0] == "cqrs"
            ):
                found[obj.__qualname__] = obj
    return list(found.values())


def test_the_library_defines_exception_classes() -> None:
    from cqrs.exceptions import CQRSError

    assert CQRSError in _library_exception_classes()
    assert len(_library_exception_classes()) > 1


def test_every_library_exception_derives_from_cqrs_error() -> None:
    from cqrs.exceptions import CQRSError

    stray = [cls for cls in _library_exception_classes() if not issubclass(cls, CQRSError)]

    assert stray == []


def test_every_name_in_cqrs_exceptions_is_a_cqrs_error() -> None:
    import cqrs.exceptions

    for name in cqrs.exceptions.__all__:
        assert issubclass(getattr(cqrs.exceptions, name), cqrs.exceptions.CQRSError), name


def test_cqrs_error_is_reexported_at_top_level() -> None:
    import cqrs.exceptions

    assert cqrs.CQRSError is cqrs.exceptions.CQRSError


def test_dispatcher_exceptions_are_the_library_errors() -> None:
    import cqrs.exceptions
    from cqrs.dispatcher.exceptions import RequestHandlerDoesNotExist, RequestHandlerTypeError

    assert RequestHandlerDoesNotExist is cqrs.exceptions.RequestHandlerDoesNotExist
    assert RequestHandlerTypeError is cqrs.exceptions.RequestHandlerTypeError
    assert issubclass(RequestHandlerTypeError, TypeError)


class Ping(cqrs.Request):
    pass


class Pong(cqrs.Response):
    pass


class Other(cqrs.Request):
    pass


class PingHandler(cqrs.RequestHandler[Ping, Pong]):
    async def handle(self, request: Ping) -> Pong:
        return Pong()


class AnotherPingHandler(cqrs.RequestHandler[Ping, Pong]):
    async def handle(self, request: Ping) -> Pong:
        return Pong()


class Happened(cqrs.DomainEvent, frozen=True):
    pass


class HappenedHandler(cqrs.EventHandler[Happened]):
    async def handle(self, event: Happened) -> None:
        pass


async def test_sending_an_unbound_request_raises_request_handler_does_not_exist() -> None:
    from cqrs.dispatcher.exceptions import RequestHandlerDoesNotExist

    mediator = cqrs.RequestMediator(cqrs.RequestMap(), cqrs.DIContainer())

    with pytest.raises(RequestHandlerDoesNotExist, match="Ping"):
        await mediator.send(Ping())


def test_binding_a_request_twice_is_a_key_error() -> None:
    request_map = cqrs.RequestMap()
    request_map.bind(Ping, PingHandler)

    with pytest.raises(KeyError):
        request_map.bind(Ping, AnotherPingHandler)


def test_binding_an_event_handler_twice_is_a_key_error() -> None:
    event_map = cqrs.EventMap()
    event_map.bind(Happened, HappenedHandler)

    with pytest.raises(KeyError):
        event_map.bind(Happened, HappenedHandler)


def test_binding_a_handler_to_the_wrong_request_is_a_type_error() -> None:
    request_map = cqrs.RequestMap()

    with pytest.raises(TypeError, match="Other"):
        request_map.bind(Other, PingHandler)  # type: ignore[call-overload]


def test_binding_a_non_handler_is_a_type_error() -> None:
    request_map = cqrs.RequestMap()

    with pytest.raises(TypeError):
        request_map.bind(Ping, Pong)  # type: ignore[call-overload]


def test_deleting_from_a_request_map_is_a_type_error() -> None:
    request_map = cqrs.RequestMap()
    request_map.bind(Ping, PingHandler)

    with pytest.raises(TypeError):
        del request_map[Ping]  # type: ignore[attr-defined]


def test_binding_errors_are_cqrs_errors() -> None:
    request_map = cqrs.RequestMap()
    request_map.bind(Ping, PingHandler)

    with pytest.raises(cqrs.CQRSError):
        request_map.bind(Ping, AnotherPingHandler)
    with pytest.raises(cqrs.CQRSError):
        request_map.bind(Other, PingHandler)  # type: ignore[call-overload]


def test_import_cqrs_loads_the_codecs_only_on_first_use() -> None:
    code = (
        "import sys, cqrs; "
        "assert 'cqrs._adapters.codecs' not in sys.modules; "
        "assert 'cqrs._adapters.protobuf_codecs' not in sys.modules; "
        "assert cqrs.JsonEventSerializer.__module__ == 'cqrs'; "
        "from cqrs import ProtobufEventSerializer; "
        "assert 'cqrs._adapters.codecs' in sys.modules; "
        "print('ok')"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed code
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.stdout.strip() == "ok", done.stderr


# --- what `import cqrs` defers to first use -----------------------------------------

# Modules `import cqrs` must not load: creating a pydantic model class (the message
# bases, the broker's `Message`) loads pydantic's fields, annotated_types and its plugin
# loader (importlib.metadata); di's async executor loads anyio.
DEFERRED_MODULES = (
    "cqrs._messages.request_models",
    "cqrs._messages.response_models",
    "cqrs._messages.event_models",
    "cqrs._messages._serialization",
    "cqrs._interfaces.broker",
    "cqrs._diagrams.cor_mermaid",
    "pydantic.fields",
    "pydantic.types",
    "annotated_types",
    "pydantic.plugin._loader",
    "importlib.metadata",
    "di.executors",
    "anyio",
)

LAZY_MESSAGE_NAMES: dict[str, tuple[str, ...]] = {
    "cqrs.requests.request": ("DCRequest", "PydanticRequest", "Request"),
    "cqrs.response": ("DCResponse", "PydanticResponse", "Response"),
    "cqrs.events.event": (
        "DCDomainEvent",
        "DCEvent",
        "DCNotificationEvent",
        "DomainEvent",
        "Event",
        "NotificationEvent",
        "PydanticDomainEvent",
        "PydanticEvent",
        "PydanticNotificationEvent",
    ),
    "cqrs.requests.mermaid": ("CoRMermaid",),
}


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed code
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )


def test_import_cqrs_creates_no_pydantic_model_class() -> None:
    code = (
        "import sys, cqrs; "
        f"print(' '.join(m for m in {DEFERRED_MODULES!r} if m in sys.modules) or 'none')"
    )

    done = _run(code)

    assert done.stdout.strip() == "none", done.stderr


def test_a_first_model_loads_the_message_bases() -> None:
    code = (
        "import sys, cqrs\n"
        "class Ping(cqrs.Request):\n"
        "    n: int\n"
        "assert Ping.from_dict(n='1') == Ping(n=1)\n"
        "assert 'cqrs._messages.request_models' in sys.modules\n"
        "assert 'cqrs._messages.event_models' not in sys.modules\n"
        "print('ok')"
    )

    done = _run(code)

    assert done.stdout.strip() == "ok", done.stderr


@pytest.mark.parametrize(("module_name", "names"), LAZY_MESSAGE_NAMES.items())
def test_lazy_names_are_the_public_modules_objects(
    module_name: str, names: tuple[str, ...]
) -> None:
    module = importlib.import_module(module_name)

    for name in names:
        assert name in cqrs.__all__, name
        assert getattr(cqrs, name) is getattr(module, name), name
        assert getattr(cqrs, name).__module__ == "cqrs", name


@pytest.mark.parametrize(("module_name", "names"), LAZY_MESSAGE_NAMES.items())
def test_lazy_names_report_cqrs_when_a_public_module_loads_them_first(
    module_name: str, names: tuple[str, ...]
) -> None:
    # `__module__` does not depend on which path loads the class first.
    code = (
        f"import {module_name} as public\n"
        f"modules = [getattr(public, name).__module__ for name in {names!r}]\n"
        "import cqrs\n"
        f"same = all(getattr(cqrs, name) is getattr(public, name) for name in {names!r})\n"
        "print(same, set(modules))"
    )

    done = _run(code)

    assert done.stdout.strip() == "True {'cqrs'}", done.stderr


def test_private_message_modules_resolve_the_bases_lazily() -> None:
    from cqrs._messages import event_models, events, request_models, requests, responses

    assert requests.Request is request_models.PydanticRequest is cqrs.Request
    assert responses.Response is cqrs.PydanticResponse
    assert events.NotificationEvent is event_models.PydanticNotificationEvent
    with pytest.raises(AttributeError, match="Missing"):
        _ = requests.Missing


def test_unknown_top_level_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="Missing"):
        _ = cqrs.Missing
