"""The example's browser client (examples/static/sse_client.html) in a real headless Chromium.

The example app runs under uvicorn on an ephemeral loopback port; Chromium loads its
page with `--dump-dom` and prints the DOM once the page's scripts have run, and the test
reads what both clients (EventSource on GET, fetch on POST) wrote into it.

Chromium is Debian's `chromium`: installed with apt-get if it is missing (bounded in
time); where that is impossible the tests skip with the reason, or fail under
CQRS_REQUIRE_SERVICES=1 (CI). `CQRS_CHROMIUM=/path/to/chrome` picks another binary.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import html.parser
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "fastapi_sse.py"

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_TIMEOUT = 600.0  # apt-get install chromium (downloads ~100 MB on a first run)
APT_LOCK_TIMEOUT = 120  # seconds apt-get waits for another apt/dpkg to finish
PAGE_TIMEOUT = 30.0  # one headless page load, until Chromium prints the DOM
VIRTUAL_TIME_BUDGET_MS = 10_000  # page timers; virtual time waits for pending fetches


# --- Chromium ------------------------------------------------------------------------


def services_required() -> bool:
    """`CQRS_REQUIRE_SERVICES=1` (CI) turns a missing browser into a failure, not a skip."""
    return os.environ.get("CQRS_REQUIRE_SERVICES", "") == "1"


def find_chromium() -> str | None:
    chosen = os.environ.get("CQRS_CHROMIUM")
    if chosen:
        return shutil.which(chosen)
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


def _apt_get(*args: str, deadline: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "-o", f"DPkg::Lock::Timeout={APT_LOCK_TIMEOUT}", "-y", *args]
    return subprocess.run(  # noqa: S603 - apt-get with fixed arguments
        command,
        env=env,
        capture_output=True,
        text=True,
        timeout=max(1.0, deadline - time.monotonic()),
        check=False,
    )


def install_chromium() -> str:
    """Install Debian's `chromium`; return the binary, or raise RuntimeError saying why not."""
    if not sys.platform.startswith("linux") or shutil.which("apt-get") is None:
        msg = "Chromium is not installed and this machine has no apt-get to install it"
        raise RuntimeError(msg)
    if os.geteuid() != 0:
        msg = "Chromium is not installed; installing it needs root (apt-get install chromium)"
        raise RuntimeError(msg)
    deadline = time.monotonic() + INSTALL_TIMEOUT
    try:
        result = _apt_get("install", "--no-install-recommends", "chromium", deadline=deadline)
        if result.returncode != 0:  # maybe stale package lists: refresh them once
            _apt_get("update", deadline=deadline)
            result = _apt_get("install", "--no-install-recommends", "chromium", deadline=deadline)
    except subprocess.TimeoutExpired:
        msg = f"apt-get install chromium did not finish within {INSTALL_TIMEOUT:.0f} s"
        raise RuntimeError(msg) from None
    found = find_chromium()
    if result.returncode != 0 or found is None:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-5:])
        msg = f"apt-get install chromium failed (exit {result.returncode}):\n{tail}"
        raise RuntimeError(msg)
    return found


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium binary, installed on first use; skips (or fails in CI) without one."""
    found = find_chromium()
    if found is None:
        try:
            if os.environ.get("CQRS_CHROMIUM"):
                msg = f"CQRS_CHROMIUM={os.environ['CQRS_CHROMIUM']} is not an executable"
                raise RuntimeError(msg)
            found = install_chromium()
        except RuntimeError as error:
            if services_required():
                pytest.fail(f"{error} (CQRS_REQUIRE_SERVICES=1)", pytrace=False)
            pytest.skip(str(error))
    return found


def dump_dom(chromium: str, url: str) -> str:
    """Load `url` in headless Chromium and return the DOM after the page's scripts ran."""
    with tempfile.TemporaryDirectory(
        prefix="cqrs-chromium-", ignore_cleanup_errors=True
    ) as profile:
        result = subprocess.run(  # noqa: S603 - the browser with fixed arguments
            [
                chromium,
                "--headless=new",
                "--no-sandbox",  # we run as root in tests and CI
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-extensions",
                f"--user-data-dir={profile}",
                f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=PAGE_TIMEOUT,  # a page whose stream never ends fails here, bounded
            check=False,
        )
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- what the page shows -------------------------------------------------------------


@dataclasses.dataclass
class Client:
    """What one client of the page received: (event, data) per frame, and how it ended."""

    frames: list[tuple[str, Any]] = dataclasses.field(default_factory=list)
    state: str | None = None

    @property
    def events(self) -> list[str]:
        return [event for event, _ in self.frames]

    @property
    def progress(self) -> list[Any]:
        return [data for event, data in self.frames if event == "progress"]


class PageReader(html.parser.HTMLParser):
    """Collects the page's `#get-log` / `#post-log` items and `#*-status` states."""

    def __init__(self) -> None:
        super().__init__()
        self.clients = {"get": Client(), "post": Client()}
        self._list: str | None = None
        self._item: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        element_id = attributes.get("id") or ""
        client, _, kind = element_id.partition("-")
        if client in self.clients and kind == "status":
            self.clients[client].state = attributes.get("data-state")
        elif client in self.clients and kind == "log":
            self._list = client
        elif tag == "li" and self._list is not None:
            self._item = (attributes.get("data-event") or "", [])

    def handle_data(self, data: str) -> None:
        if self._item is not None:
            self._item[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "li" and self._item is not None and self._list is not None:
            event, text = self._item
            prefix = f"{event}: "
            body = "".join(text)
            assert body.startswith(prefix), body
            self.clients[self._list].frames.append((event, json.loads(body[len(prefix) :])))
            self._item = None
        elif tag == "ol":
            self._list = None


def read_page(dom: str) -> dict[str, Client]:
    reader = PageReader()
    reader.feed(dom)
    reader.close()
    return reader.clients


# --- the example app -------------------------------------------------------------------


@contextlib.contextmanager
def load_example(name: str) -> Iterator[ModuleType]:
    """A private copy of the example: its own app, broker and mediator."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic and FastAPI resolve annotations through it
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]


@pytest.fixture(scope="module")
def example() -> Iterator[ModuleType]:
    with load_example("_browser_example") as module:
        yield module


@pytest.fixture(scope="module")
def broken_example() -> Iterator[ModuleType]:
    """The example whose file storage fails on `broken.csv`."""
    with load_example("_browser_example_broken") as module:
        read_lines = module.InMemoryFileStorage.read_lines
        module.reads = collections.Counter[str]()

        async def read_or_fail(self: object, file_name: str) -> list[str]:
            module.reads[file_name] += 1
            if file_name == "broken.csv":
                msg = "disk on fire at /srv/secret"
                raise OSError(msg)
            lines: list[str] = await read_lines(self, file_name)
            return lines

        module.InMemoryFileStorage.read_lines = read_or_fail  # this copy's class only
        yield module


def page_url(server: Any, files: list[str]) -> str:
    query = urllib.parse.urlencode([("files", name) for name in files])
    return f"{server.base_url}/?{query}"


# --- the tests ------------------------------------------------------------------------------


def test_both_clients_receive_every_progress_frame_in_order_then_complete(
    chromium: str, serve: Callable[[Any], Any], example: ModuleType
) -> None:
    server = serve(example.app)
    # Names that a query string and a JSON body must both carry intact.
    files = ["orders.csv", "q1 & q2.csv", "prix-été.csv", "a=b?#.csv"]

    clients = read_page(dump_dom(chromium, page_url(server, files)))

    for name, client in clients.items():
        assert client.events == ["start", *["progress"] * len(files), "complete"], (name, client)
        assert client.frames[0][1] == {"message": "Processing..."}, name
        assert [item["file_name"] for item in client.progress] == files, name
        assert [item["lines"] for item in client.progress] == [len(f) for f in files], name
        assert client.frames[-1][1] == {"message": "Done"}, name
        assert client.state == "complete", name
    # Each client ran the command once: the EventSource was closed, it did not reconnect.
    assert [message.message_name for message in example.broker.messages] == ["FilesImported"] * 2


def test_both_clients_show_the_error_frame_and_stop(
    chromium: str, serve: Callable[[Any], Any], broken_example: ModuleType
) -> None:
    server = serve(broken_example.app)

    clients = read_page(dump_dom(chromium, page_url(server, ["a.csv", "broken.csv", "c.csv"])))

    for name, client in clients.items():
        assert client.events == ["start", "progress", "error"], (name, client)
        assert client.progress[0]["file_name"] == "a.csv", name
        assert client.frames[-1][1] == {"detail": "Internal Server Error"}, name
        assert client.state == "error", name
    assert "disk on fire" not in repr(clients)  # the error is logged, not sent
    # Each client ran the command once: the EventSource was closed, it did not reconnect.
    assert broken_example.reads == {"a.csv": 2, "broken.csv": 2}
    assert broken_example.broker.messages == []
