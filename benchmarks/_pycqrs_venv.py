"""python-cqrs's venv for the comparisons: its interpreter, an environment that does not
leak ours into it, and installing a database driver there. Imported by the benchmarks.

The venv is the interop tests' (`tests/brokers/pycqrs.py` builds it once, under a file
lock, and reuses it): both distributions import as `cqrs`, so python-cqrs always runs
in its own process.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYCQRS_HARNESS = HERE.parent / "tests" / "brokers" / "pycqrs.py"
INSTALL_TIMEOUT = 300.0


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Our environment minus what would leak this venv (or our `cqrs`) into the child."""
    leaks = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "__PYVENV_LAUNCHER__"}
    env = {key: value for key, value in os.environ.items() if key not in leaks}
    env.update(
        PYTHONNOUSERSITE="1",
        PYTHONDONTWRITEBYTECODE="1",
        CQRS_SUPPRESS_V4_EOL_WARNING="1",  # python-cqrs 4.x logs an end-of-life notice
    )
    env.pop("PIP_REQUIRE_VIRTUALENV", None)
    env.update(extra or {})
    return env


def run_quietly(command: list[str], timeout: float) -> str | None:
    """Run `command`; an error description, or None when it succeeded."""
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=child_env(), check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{' '.join(command)!r}: {error}"
    if done.returncode:
        tail = (done.stderr or done.stdout).strip()[-1500:]
        return f"{' '.join(command)!r} exited {done.returncode}: {tail}"
    return None


def pycqrs_python(*, build: bool) -> tuple[Path | None, str]:
    """python-cqrs 4.15.1's interpreter, or None and why not (`build`: make the venv)."""
    spec = importlib.util.spec_from_file_location("pycqrs_harness", PYCQRS_HARNESS)
    if spec is None or spec.loader is None:
        return None, f"cannot load {PYCQRS_HARNESS}"
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    venv: Path = harness.VENV_DIR
    if not build and not (venv / "bin" / "python").exists():
        return None, f"--quick does not build {venv} (a full run does)"
    python = harness.pycqrs_python()
    if python is None:
        return None, harness.unavailable_reason()
    return python, ""


def install(python: Path, requirements: list[str], check: str, *, build: bool) -> str | None:
    """Install `requirements` into python-cqrs's venv unless `check` already passes there.

    None when the check passes (after installing, if needed); otherwise why not.
    `build` False (a --quick run) never installs.
    """
    if run_quietly([str(python), "-c", check], 60) is None:
        return None
    venv = python.parent.parent
    if not build:
        return f"--quick does not install {' '.join(requirements)} into {venv} (a full run does)"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    error = run_quietly([*pip, "--no-input", *requirements], INSTALL_TIMEOUT)
    if error is None:
        error = run_quietly([str(python), "-c", check], 60)
    if error is None:
        return None
    return f"cannot install {' '.join(requirements)} into {venv}: {error}"


def installed_version(name: str) -> str:
    """The version of `name` in our venv (what the child should get too)."""
    return importlib.metadata.version(name)
