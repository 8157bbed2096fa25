"""`import cqrs` refuses a package whose files are mixed with python-cqrs's; `__version__`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cqrs

ROOT = Path(__file__).resolve().parents[1]


def test_a_package_mixed_with_python_cqrs_files_is_refused_on_import(tmp_path: Path) -> None:
    package = tmp_path / "cqrs"
    shutil.copytree(ROOT / "src" / "cqrs", package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "generic_utils.py").write_text("# left by python-cqrs\n")

    done = subprocess.run(
        [sys.executable, "-c", "import cqrs"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
    )

    assert done.returncode == 1
    assert "ImportError: python-cqrs and cqrs-typed are both installed" in done.stderr
    assert "pip uninstall -y python-cqrs cqrs-typed" in done.stderr


def test_our_own_package_imports() -> None:
    from cqrs._install import refuse_mixed_install

    refuse_mixed_install()  # no python-cqrs files here


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is 3.11+")
def test_the_version_is_the_distributions() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert cqrs.__version__ == project["version"]
