"""Our mediator against python-cqrs 4.x and 5.x: the same workloads, side by side, one run.

Usage:
    python benchmarks/compare.py                     # full run (~3 min), builds missing venvs
    python benchmarks/compare.py --quick             # small counts, checks that it runs (~15 s)
    python benchmarks/compare.py --models pydantic --cqrs-log-level shipped   # one table
    python benchmarks/compare.py --rounds 9

The workloads (`benchmarks/_pycqrs_compare.py` says exactly what each does):

- send: `send()` through `bootstrap()`, one handler, no events;
- events: `send()` whose handler raises 2 domain events, handled in parallel (limit 4);
- stream: a `stream()` whose handler raises one domain event per item (per item);
- saga: a 3-step saga through the saga mediator, `cqrs.saga.bootstrap.bootstrap` with
  `MemorySagaStorage` (python-cqrs 5.x: `cqrs.bootstrap.saga.bootstrap` and
  `SagaMediator.execute`, its name for `stream`), per saga;
- direct: a handler's `handle()` called directly, the floor, in every process: it shows
  how fast each process runs the same plain code (its ratio should be close to 1.0x);
- and `import cqrs` in a fresh interpreter, from bytecode (as installed packages import).

All three distributions import as `cqrs`, so each runs in its own process: one script,
written against python-cqrs's API (ours is a drop-in for 4.x; where 5.x moved or renamed
something, the script adapts), run by our venv's interpreter, by python-cqrs 4.15.1's
(the last 4.x; `.venv-pycqrs/`, the interop tests' venv, built by `tests/brokers/pycqrs.py`)
and by python-cqrs 5.x's (`.venv-pycqrs5/`: `python-cqrs[pydantic]>=5,<6`, the newest when
the venv was built (delete it to take a newer one), with our versions of pydantic and di,
built here with `python -m venv` and pip). All three use the same Python, and the same
pydantic and di. A full run builds a venv that is missing; `--quick` only uses the venvs
that already exist and says which it skipped.

Two settings change python-cqrs's figures, so by default each table is printed both ways:

- models (`--models`): python-cqrs 5.x made dataclasses the default `Request`,
  `Response` and `DomainEvent` (pydantic is an extra), ours and 4.x default to pydantic
  models. Each table uses the same kind in all three libraries, named explicitly:
  `Pydantic*`, or `DC*` (dataclasses).
- the "cqrs" logger (`--cqrs-log-level`): python-cqrs 4.x and 5.x set it to DEBUG when
  imported, so their default logging middleware builds two debug records per `send()`
  even with logging never configured; ours does not touch it (WARNING, from the root
  logger). "shipped" leaves each library as it sets itself up; "WARNING" sets the "cqrs"
  logger to WARNING in all three after the imports, as an application that configures
  its logging would.

Method: a warm-up, then rounds; each round runs every workload once in every process,
in turn (the order of the processes rotates from round to round), so that a slow spell of
the machine hits them all; the minimum of each over the rounds is kept. The other
processes wait on a pipe while one runs. Ratios are python-cqrs's time over ours (4.2x:
python-cqrs takes 4.2 times as long). Timings are never asserted: these machines are
noisy, so compare ratios. Every round is checked (the event handlers ran, the sagas
completed). The exit status is 1 when our side fails, else 0 (a python-cqrs workload that
fails is printed as n/a, with the reason).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from _pycqrs_venv import child_env, installed_version, pycqrs_python, run_quietly

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SCRIPT = HERE / "_pycqrs_compare.py"
PYCQRS5_VENV = REPO / ".venv-pycqrs5"
PYCQRS5_REQUIREMENT = "python-cqrs[pydantic]>=5,<6"
VENV_TIMEOUT = 180.0
INSTALL_TIMEOUT = 600.0
ANSWER_TIMEOUT = 600.0

OURS, V4, V5 = "ours", "4.x", "5.x"
LIBRARIES = (OURS, V4, V5)

WORKLOADS = {
    "direct": "direct handler call (each process's floor)",
    "send": "send() through bootstrap(), 1 handler, no events",
    "events": "send() raising 2 domain events, parallel, limit 4",
    "stream": "stream, 1 domain event per item (per item)",
    "saga": "3-step saga via the saga mediator, memory (per saga)",
}
FULL_LOOPS = {"direct": 20_000, "send": 20_000, "events": 5_000, "stream": 5_000, "saga": 1_000}
QUICK_LOOPS = {"direct": 1_000, "send": 1_000, "events": 300, "stream": 300, "saga": 100}
MODELS = {
    "pydantic": "pydantic models (PydanticRequest/Response/DomainEvent: ours' and 4.x's default)",
    "dataclass": "dataclass models (DCRequest/Response/DomainEvent: 5.x's default)",
}
IMPORT_CODE = "import time; s = time.perf_counter(); import cqrs; print(time.perf_counter() - s)"


# --- the venvs ----------------------------------------------------------------------------


def pycqrs5_python(*, build: bool) -> tuple[Path | None, str]:
    """python-cqrs 5.x's interpreter, or None and why not (`build`: make the venv)."""
    python = PYCQRS5_VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    # Our versions of pydantic and di, so that the libraries differ and not their floors.
    same = {name: installed_version(name) for name in ("pydantic", "di")}
    pins = [f"{name}=={version}" for name, version in same.items()]
    check = (
        "import importlib.metadata as m, pathlib, sys, pydantic, cqrs\n"
        "v = m.version('python-cqrs')\n"
        "assert v.split('.')[0] == '5', v\n"
        "assert pathlib.Path(sys.prefix) in pathlib.Path(cqrs.__file__).parents, cqrs.__file__\n"
        f"assert {{n: m.version(n) for n in {list(same)!r}}} == {same!r}\n"
    )
    if python.exists() and run_quietly([str(python), "-c", check], 60) is None:
        return python, ""
    if not build:
        return None, f"--quick does not build {PYCQRS5_VENV.name}/ (a full run does)"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    steps = [
        ([sys.executable, "-m", "venv", str(PYCQRS5_VENV)], VENV_TIMEOUT),
        ([*pip, "--no-input", PYCQRS5_REQUIREMENT, *pins], INSTALL_TIMEOUT),
        ([str(python), "-c", check], 60.0),
    ]
    print(f"building {PYCQRS5_VENV.name}/: {PYCQRS5_REQUIREMENT} {' '.join(pins)}", flush=True)
    for command, timeout in steps:
        error = run_quietly(command, timeout)
        if error is not None:
            return None, f"cannot build {PYCQRS5_VENV.name}/: {error}"
    return python, ""


def interpreters(*, build: bool) -> dict[str, tuple[Path | None, str]]:
    """Each library's interpreter, or None and why it is skipped."""
    return {
        OURS: (Path(sys.executable), ""),
        V4: pycqrs_python(build=build),
        V5: pycqrs5_python(build=build),
    }


# --- the child processes ------------------------------------------------------------------


class ChildError(RuntimeError):
    """A child answered with an error, or died."""


class Child:
    """A `_pycqrs_compare.py` process: one JSON command per line in, one JSON answer out."""

    def __init__(self, library: str, python: Path, variant: Variant) -> None:
        self.library = library
        self.python = python
        self.variant = variant
        self._stderr: IO[str] = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in close()
        options = ["--models", variant.models, "--cqrs-log-level", variant.log_level]
        self._process = subprocess.Popen(
            [str(python), str(SCRIPT), *options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=child_env(),
            cwd=HERE,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        hello = self._read()
        self.versions: dict[str, str] = hello["versions"]
        self.cqrs_logger: str = hello["cqrs_logger"]

    def _pump(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line)
        self._lines.put("")

    def _read(self) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=ANSWER_TIMEOUT)
        except queue.Empty:
            self._process.kill()
            raise ChildError(f"{self.library}: no answer in {ANSWER_TIMEOUT:.0f}s") from None
        if not line:
            self._stderr.seek(0)
            tail = self._stderr.read()[-3000:]
            raise ChildError(f"{self.library}: {SCRIPT.name} exited:\n{tail}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise ChildError(f"{self.library}: {answer['error']}")
        return answer

    def ask(self, **command: object) -> dict[str, Any]:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(command) + "\n")
        self._process.stdin.flush()
        return self._read()

    def run(self, workload: str, loops: int) -> float:
        """One round of `workload`: microseconds per operation."""
        return float(self.ask(op="run", workload=workload, loops=loops)["us"])

    def close(self) -> None:
        if self._process.poll() is None:
            with contextlib.suppress(Exception):
                self.ask(op="quit")
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for stream in (self._process.stdin, self._process.stdout, self._stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


# --- measuring ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Variant:
    models: str  # "pydantic", "dataclass"
    log_level: str  # "shipped", or the level the "cqrs" logger is set to


@dataclasses.dataclass
class Table:
    """The best time of each (library, workload) for one variant, in µs."""

    variant: Variant
    loggers: dict[str, str] = dataclasses.field(default_factory=dict)  # library: level
    best: dict[tuple[str, str], float] = dataclasses.field(default_factory=dict)
    failed: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)


def first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def new_tables(children: Sequence[Child]) -> dict[Variant, Table]:
    tables: dict[Variant, Table] = {}
    for child in children:
        table = tables.setdefault(child.variant, Table(child.variant))
        table.loggers[child.library] = child.cqrs_logger
    return tables


def measure(children: Sequence[Child], loops: dict[str, int], rounds: int) -> list[Table]:
    tables = new_tables(children)

    def one(child: Child, workload: str, count: int, *, keep: bool) -> None:
        table = tables[child.variant]
        key = (child.library, workload)
        if key in table.failed:
            return
        try:
            us = child.run(workload, count)
        except ChildError as error:
            table.failed[key] = first_line(error)
            table.best.pop(key, None)
            return
        if keep:
            table.best[key] = min(table.best.get(key, float("inf")), us)

    for workload, count in loops.items():  # warm-up
        for child in children:
            one(child, workload, min(count, 200), keep=False)
    for index in range(rounds):
        turn = index % len(children)
        order = [*children[turn:], *children[:turn]]
        for workload, count in loops.items():
            for child in order:
                one(child, workload, count, keep=True)
    return list(tables.values())


def import_times_ms(pythons: dict[str, Path], repeats: int) -> dict[str, float]:
    """`import cqrs` in fresh interpreters, alternating libraries: the min of each, in ms.

    From bytecode, as an installed package imports: bytecode writing is allowed, and the
    first round (which may write it) is not counted.
    """
    env = {k: v for k, v in child_env().items() if k != "PYTHONDONTWRITEBYTECODE"}
    best = dict.fromkeys(pythons, float("inf"))
    failed: set[str] = set()
    for attempt in range(repeats + 1):
        for library, python in pythons.items():
            if library in failed:
                continue
            done = subprocess.run(
                [str(python), "-c", IMPORT_CODE],
                capture_output=True,
                text=True,
                env=env,
                cwd=HERE,
                timeout=120,
                check=False,
            )
            if done.returncode:
                print(f"  n/a: {library} import cqrs: {(done.stderr or done.stdout)[-500:]}")
                failed.add(library)
            elif attempt:
                best[library] = min(best[library], float(done.stdout.split()[-1]))
    return {library: seconds * 1e3 for library, seconds in best.items() if library not in failed}


# --- printing -----------------------------------------------------------------------------


def machine() -> str:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ""
    with contextlib.suppress(OSError, AttributeError):
        load = ", load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}{load}; "
        f"python {platform.python_version()}, asyncio's default loop"
    )


def our_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"git {head}{' + uncommitted changes' if dirty else ''}"


def cell(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def ratio(theirs: float | None, ours: float | None) -> str:
    return "n/a" if theirs is None or not ours else f"{theirs / ours:.1f}x"


HEADER = (
    f"{'workload':<54} {'ours µs':>9} {'4.x µs':>9} {'5.x µs':>9} {'4.x/ours':>9} {'5.x/ours':>9}"
)


def print_table(table: Table, loops: dict[str, int], rounds: int) -> None:
    variant = table.variant
    if variant.log_level == "shipped":
        logging = "as each library sets it up"
    else:
        logging = f"set to {variant.log_level} in all"
    loggers = ", ".join(f"{library} {level}" for library, level in table.loggers.items())
    print(
        f"\n{MODELS[variant.models]}; min of {rounds} interleaved rounds\n"
        f'"cqrs" logger {logging}: {loggers}'
    )
    print(HEADER)
    for workload, name in WORKLOADS.items():
        if workload not in loops:
            continue
        ours, v4, v5 = (table.best.get((library, workload)) for library in LIBRARIES)
        print(
            f"{name:<54} {cell(ours):>9} {cell(v4):>9} {cell(v5):>9} "
            f"{ratio(v4, ours):>9} {ratio(v5, ours):>9}"
        )
    for (_, workload), why in table.failed.items():
        print(f"  n/a, {workload}: {why}")


def print_imports(times: dict[str, float], repeats: int) -> None:
    ours, v4, v5 = (times.get(library) for library in LIBRARIES)
    print(f"\nimport, fresh interpreters from bytecode; min of {repeats}, alternating")
    print(HEADER.replace(" µs", " ms"))
    print(
        f"{'import cqrs':<54} {cell(ours, 1):>9} {cell(v4, 1):>9} {cell(v5, 1):>9} "
        f"{ratio(v4, ours):>9} {ratio(v5, ours):>9}"
    )
    print(
        "  all three import pydantic there (python-cqrs 5.x does whenever it is installed); "
        "benchmarks/bench.py puts ours against its floor"
    )


# --- running ------------------------------------------------------------------------------


def start_children(
    pythons: dict[str, Path], variants: Sequence[Variant]
) -> tuple[list[Child], int]:
    """A process per library and variant; the exit status so far."""
    children: list[Child] = []
    status = 0
    for variant in variants:
        for library, python in pythons.items():
            try:
                children.append(Child(library, python, variant))
            except ChildError as error:
                print(f"{library} ({variant}) cannot start: {first_line(error)}")
                if library == OURS:
                    status = 1
    return children, status


def print_versions(children: Sequence[Child], found: dict[str, tuple[Path | None, str]]) -> None:
    shown: set[str] = set()
    for child in children:
        if child.library in shown:
            continue
        shown.add(child.library)
        detail = ", ".join(f"{k} {v}" for k, v in child.versions.items())
        if child.library == OURS:
            detail += f", {our_revision()}"
        else:
            detail += f" ({child.python.parents[1].name}/)"
        print(f"  {child.library:<4} {detail}")
    for library, (python, why) in found.items():
        if python is None:
            print(f"  {library:<4} skipped: {why}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small counts, to check it runs")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (min kept)")
    parser.add_argument(
        "--models", choices=("pydantic", "dataclass", "both"), default="both", help="model kinds"
    )
    parser.add_argument(
        "--cqrs-log-level",
        choices=("shipped", "WARNING", "both"),
        default="both",
        help='the "cqrs" logger\'s level: as each library sets it up (python-cqrs: DEBUG), '
        "WARNING in all, or both",
    )
    args = parser.parse_args()
    rounds = 3 if args.quick else max(1, args.rounds)
    loops = QUICK_LOOPS if args.quick else FULL_LOOPS
    import_repeats = 2 if args.quick else 9
    kinds = ("pydantic", "dataclass") if args.models == "both" else (args.models,)
    levels = ("shipped", "WARNING") if args.cqrs_log_level == "both" else (args.cqrs_log_level,)
    variants = [Variant(models, level) for models in kinds for level in levels]

    found = interpreters(build=not args.quick)
    pythons = {library: python for library, (python, _) in found.items() if python is not None}
    print(f"ours against python-cqrs 4.x and 5.x; {'quick' if args.quick else 'full'} run")
    print(
        f"per round: {', '.join(f'{w} {n:,}' for w, n in loops.items())} "
        "(stream: items of one stream; saga: sagas)"
    )
    print(machine())
    children, status = start_children(pythons, variants)
    try:
        print_versions(children, found)
        for table in measure(children, loops, rounds):
            print_table(table, loops, rounds)
            if any(library == OURS for library, _ in table.failed):
                status = 1
    finally:
        for child in children:
            child.close()
    print_imports(import_times_ms(pythons, import_repeats), import_repeats)
    return status


if __name__ == "__main__":
    sys.exit(main())
