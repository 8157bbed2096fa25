"""Test what we ship: the built wheel holds the package and py.typed, and the runtime
tests and the type-level cases pass against the wheel's copy of the package."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


# Runtime suites that exercise the whole public API; run against the unpacked wheel.
SHIPPED_SUITES = (
    "tests/test_request_mediator.py",
    "tests/test_streaming_mediator.py",
    "tests/test_event_processing.py",
    "tests/test_map_binding.py",
    "tests/test_fallback.py",
    "tests/test_cor_chain.py",
    "tests/test_public_api.py",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def unpacked(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def _env_with(path: Path) -> dict[str, str]:
    # PYTHONPATH comes before the editable install of the checkout in sys.path.
    return {**os.environ, "PYTHONPATH": str(path)}


def test_wheel_contains_the_package_and_py_typed(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "cqrs/py.typed" in names
    assert "cqrs/__init__.py" in names
    assert "cqrs/requests/bootstrap.py" in names
    assert "cqrs/adapters/circuit_breaker.py" in names
    # Nothing from the repository's tests, examples or tooling leaks into the wheel.
    assert not any(name.startswith(("tests/", "examples/", "benchmarks/")) for name in names)


def test_the_runtime_tests_pass_against_the_wheel(unpacked: Path) -> None:
    env = _env_with(unpacked)
    where = subprocess.run(
        [sys.executable, "-c", "import cqrs; print(cqrs.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    assert Path(where.stdout.strip()).is_relative_to(unpacked)
    done = subprocess.run(  # noqa: S603 - as above
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SHIPPED_SUITES],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_the_type_cases_pass_against_the_wheel(unpacked: Path) -> None:
    done = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [
            sys.executable,
            str(ROOT / "tests" / "typecheck" / "harness.py"),
            "--python-version",
            "3.11",
            "--package-path",
            str(unpacked),
        ],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
