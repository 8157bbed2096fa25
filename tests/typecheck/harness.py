"""Type-level tests: run mypy --strict and pyright strict over `cases/`, per Python version.

Each case file is checked by both checkers, with the project's own configuration
(`pyproject.toml` [tool.mypy]; for pyright `pyrightconfig.json` here, which extends
[tool.pyright]), for every target version in `PYTHON_VERSIONS`.

- `pos_*.py` must type-check clean and pin inferred types with `assert_type`.
- `neg_*.py` mark every line that must fail, mypy's marker first:

      mapper.bind(B, AHandler)  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]

  mypy (`warn_unused_ignores`, part of strict) and pyright
  (`reportUnnecessaryTypeIgnoreComment`, with `enableTypeIgnoreComments = false` so that
  pyright never honours mypy's marker) report a marker whose error is gone, and a marker
  with the wrong code leaves the real error unsuppressed. So the whole contract is: every
  checker run reports nothing at all. Anything it reports fails the case file it is in.

The harness also lints the case files (no file-level escapes such as `# mypy:
ignore-errors` or `# pyright: basic`, no blanket ignores, both markers on every marked
line), checks that each checker really analysed every file, and checks that
`pyright --verifytypes cqrs` reports a complete public API.

Run it standalone (`python tests/typecheck/harness.py --help`) or through pytest
(`tests/test_typecheck.py`). Write a new negative case without markers and run
`python tests/typecheck/harness.py --suggest FILE` to get the markers to paste.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import dataclasses
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tokenize
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CASES_DIR = HERE / "cases"
MYPY_CONFIG = ROOT / "pyproject.toml"
PYRIGHT_CONFIG = HERE / "pyrightconfig.json"

PYTHON_VERSIONS = ("3.10", "3.11", "3.13")
CHECKERS = ("mypy", "pyright")
PACKAGE = "cqrs"

# -- markers and escapes ---------------------------------------------------------------

MYPY_MARKER = re.compile(r"#\s*type:\s*ignore\b(?P<codes>\[[^\]]*\])?")
PYRIGHT_MARKER = re.compile(r"#\s*pyright:\s*ignore\b(?P<rules>\[[^\]]*\])?")
# Comments that change how a whole file (or a block) is checked.
ESCAPES = (
    (re.compile(r"#\s*mypy\s*:"), "a `# mypy:` inline configuration comment"),
    (re.compile(r"#\s*pyright\s*:(?!\s*ignore\b)"), "a `# pyright:` file-level comment"),
    (re.compile(r"#\s*type\s*:\s*ignore(?!\[)"), "a `# type: ignore` without an error code"),
    (re.compile(r"#\s*pyright\s*:\s*ignore(?!\[)"), "a `# pyright: ignore` without a rule"),
)
# Names that switch checking off for what they decorate or guard.
ESCAPE_NAMES = {
    "no_type_check": "`no_type_check` switches type checking off",
    "no_type_check_decorator": "`no_type_check_decorator` switches type checking off",
    "TYPE_CHECKING": "`TYPE_CHECKING` blocks hide code from one side of the check",
}


@dataclasses.dataclass(frozen=True)
class Marker:
    """The expected errors of one line of a negative case."""

    line: int
    mypy_codes: tuple[str, ...]
    pyright_rules: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Problem:
    """One reason for the suite to fail: a checker diagnostic or a lint finding."""

    path: Path | None
    line: int | None
    source: str  # "mypy 3.11", "pyright 3.10", "lint", ...
    message: str

    def render(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"[{self.source}] {where}{self.message}"


_NOT_CODE = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENDMARKER,
}


def _tokens(text: str) -> list[tokenize.TokenInfo]:
    try:
        return list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError) as exc:
        raise SyntaxError(str(exc)) from exc


def _comments(text: str) -> list[tuple[int, int, str]]:
    """(line, column, text) of every comment token; raises SyntaxError on bad source."""
    return [(t.start[0], t.start[1], t.string) for t in _tokens(text) if t.type == tokenize.COMMENT]


def _code_lines(text: str) -> set[int]:
    """The lines that hold code (not only comments or blanks)."""
    return {
        line
        for t in _tokens(text)
        if t.type not in _NOT_CODE
        for line in range(t.start[0], t.end[0] + 1)
    }


def _split_codes(group: str | None) -> tuple[str, ...]:
    if not group:
        return ()
    return tuple(code.strip() for code in group.strip("[]").split(",") if code.strip())


def markers(path: Path) -> list[Marker]:
    """The marked lines of a case file."""
    found: list[Marker] = []
    for line, _, comment in _comments(path.read_text(encoding="utf-8")):
        mypy = MYPY_MARKER.search(comment)
        pyright = PYRIGHT_MARKER.search(comment)
        if mypy or pyright:
            found.append(
                Marker(
                    line,
                    _split_codes(mypy["codes"]) if mypy else (),
                    _split_codes(pyright["rules"]) if pyright else (),
                )
            )
    return found


def lint_case(path: Path) -> list[Problem]:  # noqa: PLR0912 - one flat list of rules
    """Check that a case file can neither pass vacuously nor hide an error."""
    problems: list[Problem] = []

    def fail(message: str, line: int | None = None) -> None:
        problems.append(Problem(path, line, "lint", message))

    kind = path.name.split("_", 1)[0]
    if kind not in {"pos", "neg"} or path.suffix != ".py":
        fail("case files are named pos_*.py (must pass) or neg_*.py (must fail)")
        return problems
    text = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(text, filename=str(path))
        comments = _comments(text)
    except SyntaxError as exc:
        fail(f"does not parse: {exc}")
        return problems

    code_lines = _code_lines(text)
    for line, _, comment in comments:
        for pattern, what in ESCAPES:
            if pattern.search(comment):
                fail(f"{what} is not allowed in a case file: {comment.strip()!r}", line)
        is_marker = MYPY_MARKER.search(comment) or PYRIGHT_MARKER.search(comment)
        if is_marker and line not in code_lines:
            # A `# type: ignore` before the first statement silences mypy for the file.
            fail("an ignore marker must follow code on the same line", line)
    for node in ast.walk(tree):
        name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
        if isinstance(node, ast.alias):
            name = node.asname or node.name
        if name in ESCAPE_NAMES:
            fail(f"{ESCAPE_NAMES[name]}; not allowed in a case file", getattr(node, "lineno", None))

    found = markers(path)
    for marker in found:
        if not marker.mypy_codes or not marker.pyright_rules:
            fail(
                "a marked line needs both markers, mypy's first: "
                "`# type: ignore[code]  # pyright: ignore[rule]`",
                marker.line,
            )
    if kind == "neg" and not found:
        fail("a negative case marks at least one line that must fail")
    if kind == "pos":
        for marker in found:
            fail("a positive case has no ignore markers", marker.line)
        if not _uses_real_assert_type(tree):
            fail("a positive case pins inferred types with assert_type (typing/typing_extensions)")
    return problems


def _uses_real_assert_type(tree: ast.Module) -> bool:
    imported = any(
        isinstance(node, ast.ImportFrom)
        and node.module in {"typing", "typing_extensions"}
        and any(alias.name == "assert_type" and alias.asname is None for alias in node.names)
        for node in tree.body
    )
    shadowed = any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.name == "assert_type"
        for node in ast.walk(tree)
    ) or any(
        isinstance(node, ast.Name) and node.id == "assert_type" and isinstance(node.ctx, ast.Store)
        for node in ast.walk(tree)
    )
    called = any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "assert_type"
        for node in ast.walk(tree)
    )
    return imported and called and not shadowed


# -- running the checkers --------------------------------------------------------------


@dataclasses.dataclass
class Run:
    """One checker over a batch of files for one target Python version."""

    checker: str
    version: str
    files: tuple[Path, ...]
    problems: list[Problem] = dataclasses.field(default_factory=list[Problem])
    seconds: float = 0.0
    command: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.checker} {self.version}"


def _env(package_path: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    # The interpreter running the harness defines the environment checked against.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYRIGHT_PYTHON_IGNORE_WARNINGS"] = "1"  # no "new pyright version" chatter
    env.pop("MYPYPATH", None)
    env.pop("PYTHONPATH", None)
    if package_path is not None:
        # Check against another copy of the package (a scratch copy, a built wheel):
        # mypy searches MYPYPATH first; pyright asks the interpreter for sys.path,
        # where PYTHONPATH comes before site-packages.
        env["MYPYPATH"] = str(package_path)
        env["PYTHONPATH"] = str(package_path)
    return env


def _mypy_command(version: str, files: Sequence[Path], cache_dir: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(MYPY_CONFIG),
        "--python-version",
        version,
        "--python-executable",
        sys.executable,
        "--cache-dir",
        cache_dir,
        "--show-absolute-path",
        "--no-pretty",
        "--no-color-output",
        "--show-error-codes",
        *map(str, files),
    ]


def _pyright_command(version: str, files: Sequence[Path]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pyright",
        "--outputjson",
        "--project",
        str(PYRIGHT_CONFIG),
        "--pythonpath",
        sys.executable,
        "--pythonversion",
        version,
        *map(str, files),
    ]


_MYPY_LINE = re.compile(
    r"^(?P<path>.+?):(?:(?P<line>\d+):)?(?:\d+:)? (?P<severity>error|warning|note): "
    r"(?P<message>.*?)(?:  \[(?P<code>[a-z0-9-]+)\])?$"
)
_MYPY_SUMMARY = re.compile(
    r"^(?:Success: no issues found in (?P<ok>\d+) source files?"
    r"|Found \d+ errors? in \d+ files? \(checked (?P<checked>\d+) source files?\))$"
)


def _parse_mypy(run: Run, proc: subprocess.CompletedProcess[str]) -> None:
    checked: int | None = None
    last_error: tuple[Path, int | None] | None = None
    for raw in proc.stdout.splitlines():
        if not raw.strip():
            continue
        summary = _MYPY_SUMMARY.match(raw)
        if summary:
            checked = int(summary["ok"] or summary["checked"])
            continue
        match = _MYPY_LINE.match(raw)
        if not match:
            run.problems.append(Problem(None, None, run.name, f"unexpected output: {raw}"))
            continue
        path = Path(match["path"]).resolve()
        line = int(match["line"]) if match["line"] else None
        message = match["message"] + (f"  [{match['code']}]" if match["code"] else "")
        if match["severity"] == "note" and last_error == (path, line):
            # Context for the error just reported (overload variants, hints).
            run.problems[-1] = dataclasses.replace(
                run.problems[-1], message=f"{run.problems[-1].message}\n    note: {message}"
            )
            continue
        last_error = (path, line) if match["severity"] == "error" else None
        run.problems.append(Problem(path, line, run.name, f"{match['severity']}: {message}"))
    if proc.stderr.strip():
        run.problems.append(Problem(None, None, run.name, f"stderr: {proc.stderr.strip()}"))
    if proc.returncode not in {0, 1} or (proc.returncode == 1 and not run.problems):
        run.problems.append(Problem(None, None, run.name, f"exit status {proc.returncode}"))
    if checked != len(run.files):
        run.problems.append(
            Problem(
                None,
                None,
                run.name,
                f"checked {checked} source files, expected {len(run.files)}",
            )
        )


def _parse_pyright(run: Run, proc: subprocess.CompletedProcess[str]) -> None:
    try:
        report: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError:
        run.problems.append(
            Problem(
                None,
                None,
                run.name,
                f"no JSON report (exit {proc.returncode}): {proc.stdout}{proc.stderr}",
            )
        )
        return
    for diagnostic in report.get("generalDiagnostics", []):
        severity = diagnostic.get("severity", "error")
        if severity == "information":
            continue
        rule = diagnostic.get("rule")
        path = Path(diagnostic["file"]).resolve() if diagnostic.get("file") else None
        start = diagnostic.get("range", {}).get("start", {})
        line = start.get("line", -1) + 1 or None
        message = diagnostic["message"] + (f"  ({rule})" if rule else "")
        run.problems.append(Problem(path, line, run.name, f"{severity}: {message}"))
    if proc.stderr.strip():
        run.problems.append(Problem(None, None, run.name, f"stderr: {proc.stderr.strip()}"))
    analysed = report.get("summary", {}).get("filesAnalyzed")
    if analysed != len(run.files):
        run.problems.append(
            Problem(None, None, run.name, f"analysed {analysed} files, expected {len(run.files)}")
        )
    if proc.returncode not in {0, 1} or (proc.returncode == 1 and not run.problems):
        run.problems.append(Problem(None, None, run.name, f"exit status {proc.returncode}"))


def run_checker(
    checker: str,
    version: str,
    files: Sequence[Path],
    *,
    package_path: Path | None = None,
) -> Run:
    """Run one checker over `files` (one invocation) and collect every diagnostic."""
    run = Run(checker, version, tuple(Path(f).resolve() for f in files))
    env = _env(package_path)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cqrs-typecheck-") as scratch:
        if checker == "mypy":
            # The project's cache for the cases themselves. Anything else gets a fresh
            # one: mypy's cache is keyed by module name, and a module found at another
            # path with the same content can come back with the old path's errors.
            shared = package_path is None and all(f.is_relative_to(CASES_DIR) for f in run.files)
            cache = str(ROOT / ".mypy_cache") if shared else scratch
            command = _mypy_command(version, run.files, cache)
        elif checker == "pyright":
            command = _pyright_command(version, run.files)
        else:
            msg = f"unknown checker {checker!r}; expected one of {CHECKERS}"
            raise ValueError(msg)
        run.command = tuple(command)
        proc = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
    run.seconds = time.perf_counter() - started
    (_parse_mypy if checker == "mypy" else _parse_pyright)(run, proc)
    return run


def run_all(
    files: Sequence[Path],
    versions: Sequence[str] = PYTHON_VERSIONS,
    checkers: Sequence[str] = CHECKERS,
    *,
    package_path: Path | None = None,
    jobs: int | None = None,
) -> list[Run]:
    """One run per checker and version, each over all `files`, `jobs` at a time."""
    jobs = jobs or max(2, min(4, os.cpu_count() or 2))
    plan = [(checker, version) for version in versions for checker in checkers]
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [
            pool.submit(run_checker, checker, version, files, package_path=package_path)
            for checker, version in plan
        ]
        return [future.result() for future in futures]


def case_files(directory: Path = CASES_DIR) -> list[Path]:
    return sorted(directory.glob("*.py"))


# -- pyright --verifytypes ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Completeness:
    score: float
    incomplete: tuple[str, ...]
    problems: tuple[str, ...]


def verify_types(package: str = PACKAGE, *, package_path: Path | None = None) -> Completeness:
    """`pyright --verifytypes PACKAGE --ignoreexternal`: the public API's completeness."""
    # --verifytypes ignores --pythonpath: it finds the package through the `python`
    # on PATH, which `_env` makes the harness's own interpreter.
    command = [
        sys.executable,
        "-m",
        "pyright",
        "--verifytypes",
        package,
        "--ignoreexternal",
        "--outputjson",
    ]
    proc = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        command, cwd=ROOT, env=_env(package_path), capture_output=True, text=True, check=False
    )
    try:
        report: dict[str, Any] = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return Completeness(0.0, (), (f"no JSON report: {proc.stdout}{proc.stderr}",))
    completeness = report.get("typeCompleteness", {})
    incomplete = tuple(
        f"{symbol['name']}: "
        + "; ".join(d.get("message", "") for d in symbol.get("diagnostics", []))
        for symbol in completeness.get("symbols", [])
        if not symbol.get("isTypeKnown", True) or symbol.get("isTypeAmbiguous", False)
    )
    problems = tuple(
        d.get("message", "")
        for d in report.get("generalDiagnostics", [])
        if d.get("severity") == "error"
    )
    return Completeness(float(completeness.get("completenessScore", 0.0)), incomplete, problems)


# -- reporting -----------------------------------------------------------------------------


def lint_all(files: Iterable[Path]) -> list[Problem]:
    return [problem for path in files for problem in lint_case(Path(path))]


def problems_by_file(
    files: Sequence[Path], problems: Iterable[Problem]
) -> dict[Path | None, list[Problem]]:
    """Group problems under their case file; anything else goes under None."""
    resolved = {Path(f).resolve() for f in files}
    grouped: dict[Path | None, list[Problem]] = {f: [] for f in sorted(resolved)}
    grouped[None] = []
    for problem in problems:
        key = problem.path.resolve() if problem.path is not None else None
        if key in resolved:
            grouped[key].append(problem)
        elif key is None:
            grouped[None].append(problem)
        else:
            where = f"{problem.path}:{problem.line}: "
            grouped[None].append(dataclasses.replace(problem, message=where + problem.message))
    return grouped


def _render_merged(problems: Iterable[Problem]) -> list[str]:
    """One line per distinct problem; the same one in several versions is shown once."""
    merged: dict[tuple[int, str, str], list[str]] = {}
    for problem in problems:
        checker, _, version = problem.source.partition(" ")
        merged.setdefault((problem.line or 0, checker, problem.message), []).append(version)
    lines: list[str] = []
    for (line, checker, message), versions in sorted(merged.items()):
        label = f"{checker} {', '.join(v for v in versions if v)}".strip()
        where = f"line {line}: " if line else ""
        lines.append(f"      [{label}] {where}{message}".replace("\n", "\n      "))
    return lines


def format_report(
    files: Sequence[Path],
    runs: Sequence[Run],
    lint: Sequence[Problem] = (),
) -> str:
    """A per-case-file report: `ok` with what was checked, or every problem found."""
    grouped = problems_by_file(files, [*lint, *(p for run in runs for p in run.problems)])
    versions = sorted({run.version for run in runs}, key=lambda v: tuple(map(int, v.split("."))))
    checkers = sorted({run.checker for run in runs})
    where = f"{' and '.join(checkers)} x Python {', '.join(versions)}" if runs else "lint only"
    out: list[str] = []
    for path, problems in grouped.items():
        if path is None:
            continue
        expected = len(markers(path)) if path.exists() else 0
        what = f"{expected} expected error lines" if expected else "clean"
        try:
            shown: Path = path.relative_to(ROOT)
        except ValueError:
            shown = path
        if problems:
            out.append(f"FAIL  {shown}  ({what}; {len(problems)} problems)")
            out.extend(_render_merged(problems))
        else:
            out.append(f"ok    {shown}  ({what}; {where})")
    if grouped[None]:
        out.append("FAIL  (outside the case files)")
        out.extend(_render_merged(grouped[None]))
    out.extend(
        f"      {run.name:<12} {len(run.files)} files in {run.seconds:5.1f}s"
        f"{'' if not run.problems else f'  {len(run.problems)} problems'}"
        for run in runs
    )
    return "\n".join(out)


# -- writing new negative cases ------------------------------------------------------------


def strip_markers(text: str) -> str:
    """The source without `# type: ignore[...]` / `# pyright: ignore[...]` markers."""
    lines = text.splitlines(keepends=True)
    for line, column, comment in reversed(_comments(text)):
        kept = PYRIGHT_MARKER.sub("", MYPY_MARKER.sub("", comment)).strip()
        original = lines[line - 1]
        rest = original[column + len(comment) :]
        head = original[:column].rstrip()
        lines[line - 1] = head + (f"  {kept}" if kept not in {"", "#"} else "") + rest
    return "".join(lines)


def suggest(files: Sequence[Path], version: str = "3.11") -> str:
    """Run both checkers over marker-free copies; print the markers each line needs."""
    out: list[str] = []
    with tempfile.TemporaryDirectory(prefix="cqrs-suggest-") as scratch:
        copies: dict[Path, Path] = {}
        for path in files:
            copy = Path(scratch) / Path(path).name
            copy.write_text(strip_markers(Path(path).read_text(encoding="utf-8")), "utf-8")
            copies[copy.resolve()] = Path(path)
        runs = run_all(list(copies), [version])
        codes: dict[tuple[Path, int], dict[str, set[str]]] = {}
        for run in runs:
            for problem in run.problems:
                if problem.path is None or problem.line is None:
                    continue
                if run.checker == "mypy" and not problem.message.startswith("error:"):
                    continue
                found = re.search(r"  (?:\[([a-z0-9-]+)\]|\((\w+)\))\n?", problem.message)
                code = (found[1] or found[2]) if found else "?"
                entry = codes.setdefault((problem.path, problem.line), {c: set() for c in CHECKERS})
                entry[run.checker].add(code)
        for (copy, line), entry in sorted(codes.items()):
            source = copy.read_text(encoding="utf-8").splitlines()[line - 1].rstrip()
            mypy, pyright = sorted(entry["mypy"]), sorted(entry["pyright"])
            note = "" if mypy and pyright else "   <- only one checker rejects this line"
            out.append(
                f"{copies[copy].name}:{line}: {source}"
                f"  # type: ignore[{', '.join(mypy)}]  # pyright: ignore[{', '.join(pyright)}]"
                f"{note}"
            )
    return "\n".join(out) or "no errors in either checker"


# -- command line --------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("files", nargs="*", type=Path, help="case files (default: cases/*.py)")
    parser.add_argument(
        "--python-version",
        action="append",
        dest="versions",
        choices=PYTHON_VERSIONS,
        help="target version (repeatable; default: all of %(choices)s)",
    )
    parser.add_argument(
        "--checker", action="append", dest="checkers", choices=CHECKERS, help="(repeatable)"
    )
    parser.add_argument(
        "--package-path",
        type=Path,
        help=f"check against the `{PACKAGE}` package in this directory instead of the "
        "installed one (a scratch copy, an unpacked wheel)",
    )
    parser.add_argument("-j", "--jobs", type=int, help="checker runs at once")
    parser.add_argument("--no-verifytypes", action="store_true", help="skip pyright --verifytypes")
    parser.add_argument(
        "--suggest",
        action="store_true",
        help="print the markers each erroring line of FILES needs (markers ignored)",
    )
    args = parser.parse_args(argv)
    files = [f.resolve() for f in args.files] or case_files()
    if args.suggest:
        print(suggest(files))
        return 0
    if not files:
        print(f"no case files in {CASES_DIR}")
        return 1
    started = time.perf_counter()
    lint = lint_all(files)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        completeness = (
            None
            if args.no_verifytypes
            else pool.submit(verify_types, package_path=args.package_path)
        )
        runs = run_all(
            files,
            args.versions or PYTHON_VERSIONS,
            args.checkers or CHECKERS,
            package_path=args.package_path,
            jobs=args.jobs,
        )
        result = completeness.result() if completeness is not None else None
    print(format_report(files, runs, lint))
    failed = bool(lint) or any(run.problems for run in runs)
    if result is not None:
        verdict = "ok  " if result.score == 1.0 and not result.problems else "FAIL"
        failed |= verdict == "FAIL"
        print(f"{verdict}  pyright --verifytypes {PACKAGE}: completeness {result.score:.1%}")
        for line in (*result.problems, *result.incomplete):
            print(f"      {line}")
    total = time.perf_counter() - started
    print(f"{'FAILED' if failed else 'passed'}: {len(files)} case files in {total:.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
