"""Run python-cqrs 4.15.1 next to our package, in a throwaway virtualenv, for interop tests.

python-cqrs and this project are both imported as `cqrs`, so they can never live in the same
environment. This module builds (once) a separate venv under `<repo>/.venv-pycqrs/` holding
`python-cqrs[rabbit]==4.15.1` (which pins the aio-pika it supports) and runs the scripts in
`pycqrs_scripts/` with that interpreter. We only *run* python-cqrs; none of its code is copied.

Use it from a test::

    from tests.brokers import pycqrs   # or load this file by path, see test_pycqrs_harness

    python = pycqrs.pycqrs_python()              # None when the venv cannot be built
    if python is None:
        pycqrs.skip_or_fail(pycqrs.unavailable_reason())
    done = pycqrs.run_pycqrs("publish", "--url", pycqrs.RABBITMQ_URL, "--exchange", ex,
                             "--topic", topic, "--count", "3")
    events = pycqrs.json_lines(done)             # raises with stderr when the script failed

The scripts print one JSON object per line on stdout; see their docstrings for the arguments.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PYCQRS_VERSION = "4.15.1"
PYCQRS_REQUIREMENT = f"python-cqrs[rabbit]=={PYCQRS_VERSION}"

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_DIR = REPO_ROOT / ".venv-pycqrs"
SCRIPTS_DIR = Path(__file__).resolve().parent / "pycqrs_scripts"

RABBITMQ_HOST = "127.0.0.1"
RABBITMQ_PORT = 5672
RABBITMQ_URL = f"amqp://guest:guest@{RABBITMQ_HOST}:{RABBITMQ_PORT}/"

VENV_TIMEOUT = 180.0  # `python -m venv` (runs ensurepip)
INSTALL_TIMEOUT = 600.0  # `pip install python-cqrs[rabbit]`
CHECK_TIMEOUT = 60.0  # importing python-cqrs once to see the venv is usable
LOCK_TIMEOUT = INSTALL_TIMEOUT + VENV_TIMEOUT + 60.0  # waiting for another process's build

_LOCK_FILE = ".pycqrs-build.lock"
_last_error: str | None = None


def services_required() -> bool:
    """`CQRS_REQUIRE_SERVICES=1` (CI) turns a missing service into a failure, not a skip."""
    return os.environ.get("CQRS_REQUIRE_SERVICES", "") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip the calling test, or fail it when services are required."""
    if services_required():
        pytest.fail(f"{reason} (CQRS_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def rabbitmq_reachable(
    host: str = RABBITMQ_HOST, port: int = RABBITMQ_PORT, timeout: float = 2.0
) -> bool:
    """Is something accepting TCP connections on the RabbitMQ port?"""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _venv_python(venv: Path) -> Path:
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def _child_env() -> dict[str, str]:
    """Our environment minus what would leak this venv (or our `cqrs`) into the child."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "__PYVENV_LAUNCHER__"}
    }
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    env["CQRS_SUPPRESS_V4_EOL_WARNING"] = "1"  # python-cqrs 4.x logs an end-of-life notice
    env.pop("PIP_REQUIRE_VIRTUALENV", None)
    return env


_CHECK_CODE = (
    "import importlib.metadata as m, pathlib, sys\n"
    "import aio_pika, cqrs, cqrs.message_brokers.amqp, cqrs.adapters.amqp\n"
    "v = m.version('python-cqrs')\n"
    f"assert v == {PYCQRS_VERSION!r}, v\n"
    "assert pathlib.Path(sys.prefix) in pathlib.Path(cqrs.__file__).parents, cqrs.__file__\n"
)


def _usable(python: Path) -> bool:
    if not python.exists():
        return False
    try:
        done = subprocess.run(  # noqa: S603 - argv from our own paths, no shell
            [str(python), "-c", _CHECK_CODE],
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT,
            env=_child_env(),
            cwd=SCRIPTS_DIR,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@contextlib.contextmanager
def _build_lock(directory: Path) -> Iterator[None]:
    """An exclusive flock on a file inside the venv directory (POSIX; no-op elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with (directory / _LOCK_FILE).open("a+") as handle:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    msg = f"timed out waiting for {directory / _LOCK_FILE}"
                    raise TimeoutError(msg) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _run_step(command: list[str], timeout: float) -> str | None:
    """Run one build step; return an error description, or None when it succeeded."""
    try:
        done = subprocess.run(  # noqa: S603 - argv from our own paths, no shell
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_child_env(),
            cwd=SCRIPTS_DIR,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"{' '.join(command)!r} timed out after {timeout:.0f}s"
    except OSError as exc:
        return f"{' '.join(command)!r} could not start: {exc}"
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-2000:]
        return f"{' '.join(command)!r} exited {done.returncode}: {tail}"
    return None


def _build(venv: Path) -> str | None:
    python = _venv_python(venv)
    # No --clear: the lock file lives in this directory. Re-running venv over a half-built
    # one repairs it, and pip install is idempotent.
    error = _run_step([sys.executable, "-m", "venv", str(venv)], VENV_TIMEOUT)
    if error is not None:
        return error
    error = _run_step(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            PYCQRS_REQUIREMENT,
        ],
        INSTALL_TIMEOUT,
    )
    if error is not None:
        return error
    if not _usable(python):
        return f"{python} was built but cannot import python-cqrs {PYCQRS_VERSION} and aio-pika"
    return None


@functools.cache
def pycqrs_python() -> Path | None:
    """The interpreter of a venv holding python-cqrs 4.15.1 and aio-pika, or None.

    The venv is built at most once (per checkout) under `.venv-pycqrs/`, under a file lock so
    that concurrent pytest processes do not build it at the same time, and reused when it
    already imports python-cqrs 4.15.1. Every step has a timeout. When it cannot be built
    (no package index, ...) this returns None and `unavailable_reason()` says why.
    """
    global _last_error  # noqa: PLW0603 - one cached answer per process
    python = _venv_python(VENV_DIR)
    if _usable(python):
        return python
    try:
        VENV_DIR.mkdir(exist_ok=True)
        with _build_lock(VENV_DIR):
            if _usable(python):  # another process built it while we waited
                return python
            error = _build(VENV_DIR)
    except (OSError, TimeoutError) as exc:
        error = f"could not build {VENV_DIR}: {exc}"
    if error is not None:
        _last_error = f"python-cqrs {PYCQRS_VERSION} venv unavailable: {error}"
        print(_last_error, file=sys.stderr)
        return None
    return python


def unavailable_reason() -> str:
    """Why `pycqrs_python()` returned None (empty before it was called or when it worked)."""
    return _last_error or ""


def script_path(script: str) -> Path:
    """`publish`, `publish.py` or a path -> the script file."""
    path = Path(script)
    if not path.is_absolute():
        path = SCRIPTS_DIR / (script if script.endswith(".py") else f"{script}.py")
    if not path.is_file():
        msg = f"no python-cqrs script {path}"
        raise FileNotFoundError(msg)
    return path


def run_pycqrs(script: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a `pycqrs_scripts/` script with the python-cqrs interpreter; capture its output.

    Does not raise on a non-zero exit (look at `returncode`, or use `json_lines`). Raises
    `RuntimeError` when the venv is unavailable and `subprocess.TimeoutExpired` (after killing
    the child) when it runs longer than `timeout` seconds.
    """
    python = pycqrs_python()
    if python is None:
        raise RuntimeError(unavailable_reason())
    return subprocess.run(  # noqa: S603 - argv from our own paths, no shell
        [str(python), str(script_path(script)), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_child_env(),
        cwd=SCRIPTS_DIR,
        check=False,
    )


def json_lines(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """The JSON objects a script printed; AssertionError with its output when it failed."""
    if done.returncode != 0:
        msg = (
            f"{' '.join(map(str, done.args))} exited {done.returncode}\n"
            f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}"
        )
        raise AssertionError(msg)
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
