"""Every ```python block of README.md and docs/ runs as written, or is a fragment.

A fragment is a block whose previous line is `<!-- fragment: needs ... -->`: it needs
definitions from elsewhere, a running server, or shows a type error on purpose. A
fragment must still compile, and every module it imports, every name it imports from a
module and every attribute it reads from a module or a class (`di.bind_by_type`,
`OutboxRelay.for_sqlalchemy`) must exist. Every other block runs in a fresh interpreter
from the repository root and must exit with code 0. The site's pages (docs/, but not
the design notes in docs/notes/) follow the same rule; a block that embeds a file with
`--8<--` is written ```py, not ```python, and is tested with that file.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCUMENTS = [
    README,
    *sorted(p for p in (ROOT / "docs").rglob("*.md") if "notes" not in p.relative_to(ROOT).parts),
]
FRAGMENT_MARK = "<!-- fragment:"
FENCE = "```"
TIMEOUT = 30
# Names a fragment may use without importing them: checked like imported modules.
PRELUDE = ("cqrs", "di")


@dataclass(frozen=True)
class Block:
    path: str  # the document, relative to the repository root
    line: int  # the line of the opening fence, 1-based
    code: str
    marker: str  # the line before the fence

    @property
    def fragment(self) -> bool:
        return self.marker.startswith(FRAGMENT_MARK)


def python_blocks(document: Path) -> list[Block]:
    path = document.relative_to(ROOT).as_posix()
    lines = document.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = lines[index].strip()
        if not opening.startswith(FENCE):
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != FENCE:
            end += 1
        assert end < len(lines), f"{path}:{index + 1}: fence never closed"
        if opening == f"{FENCE}python":
            marker = lines[index - 1].strip() if index else ""
            code = "\n".join(lines[index + 1 : end]) + "\n"
            blocks.append(Block(path=path, line=index + 1, code=code, marker=marker))
        index = end + 1
    return blocks


BLOCKS = [block for document in DOCUMENTS for block in python_blocks(document)]
RUNNABLE = [block for block in BLOCKS if not block.fragment]
FRAGMENTS = [block for block in BLOCKS if block.fragment]


def block_id(block: Block) -> str:
    return f"{block.path}:{block.line}"


def test_the_readme_has_runnable_blocks_and_fragments() -> None:
    assert any(block.path == "README.md" for block in RUNNABLE)
    assert any(block.path == "README.md" for block in FRAGMENTS)


@pytest.mark.parametrize("block", FRAGMENTS, ids=block_id)
def test_a_fragment_says_what_it_needs(block: Block) -> None:
    reason = block.marker.removeprefix(FRAGMENT_MARK).removesuffix("-->").strip()
    assert block.marker.endswith("-->")
    assert reason, f"{block_id(block)}: say what the fragment needs"


@pytest.mark.parametrize("block", RUNNABLE, ids=block_id)
def test_a_runnable_block_runs_as_written(block: Block) -> None:
    result = subprocess.run(  # noqa: S603 - our own interpreter, the README's own code
        [sys.executable, "-c", block.code],
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT,
        cwd=ROOT,
    )
    assert result.returncode == 0, (
        f"{block_id(block)} failed (mark it <!-- fragment: needs ... --> if it "
        f"cannot run on its own):\n{result.stderr}"
    )


@pytest.mark.parametrize("block", FRAGMENTS, ids=block_id)
def test_a_fragment_compiles(block: Block) -> None:
    # A fragment may `await` at top level: it stands for the body of an async function.
    compile(block.code, block_id(block), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


class _Unknown:
    """What a name the fragment defines, or expects defined elsewhere, resolves to."""


UNKNOWN = _Unknown()


def _attribute(owner: object, name: str) -> object:
    """`owner.name`, importing a submodule when `owner` is a package; raise if missing."""
    if hasattr(owner, name):
        return getattr(owner, name)
    if isinstance(owner, types.ModuleType):
        return importlib.import_module(f"{owner.__name__}.{name}")
    raise AttributeError(name)


def _imported_names(tree: ast.Module) -> dict[str, object]:
    namespace: dict[str, object] = {name: importlib.import_module(name) for name in PRELUDE}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                module = importlib.import_module(alias.name)
                if alias.asname:
                    namespace[alias.asname] = module
                else:
                    top = alias.name.partition(".")[0]
                    namespace[top] = importlib.import_module(top)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "README imports are absolute"
            assert node.module is not None
            module = importlib.import_module(node.module)
            for alias in node.names:
                namespace[alias.asname or alias.name] = _attribute(module, alias.name)
    return namespace


def _missing_attributes(tree: ast.Module, namespace: dict[str, object]) -> list[str]:
    missing: list[str] = []

    def resolve(node: ast.expr) -> object:
        if isinstance(node, ast.Name):
            return namespace.get(node.id, UNKNOWN)
        if isinstance(node, ast.Attribute):
            owner = resolve(node.value)
            if isinstance(owner, (types.ModuleType, type)):
                try:
                    return _attribute(owner, node.attr)
                except (AttributeError, ImportError):
                    missing.append(f"line {node.lineno}: {ast.unparse(node)}")
        return UNKNOWN

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            resolve(node)
    return sorted(set(missing))


@pytest.mark.parametrize("block", FRAGMENTS, ids=block_id)
def test_the_names_a_fragment_uses_from_the_library_exist(block: Block) -> None:
    tree = ast.parse(block.code)
    namespace = _imported_names(tree)
    assert _missing_attributes(tree, namespace) == [], block_id(block)
