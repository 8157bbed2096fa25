"""The built wheel ships what type checkers need: the package and its py.typed marker."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_the_package_and_py_typed(tmp_path: Path) -> None:
    subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "cqrs/py.typed" in names
    assert "cqrs/__init__.py" in names
    assert "cqrs/requests/bootstrap.py" in names
    # Nothing from the repository's tests, examples or tooling leaks into the wheel.
    assert not any(name.startswith(("tests/", "examples/", "benchmarks/")) for name in names)
