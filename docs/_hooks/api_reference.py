"""MkDocs hook: each public object is documented once, under the module it reports.

Many public modules re-export the same objects (`cqrs.RequestHandler` is also
`cqrs.requests.RequestHandler` and `cqrs.requests.request_handler.RequestHandler`, the
python-cqrs paths). Rendered everywhere, the reference would repeat each docstring up
to four times. So a reference page writes a bare mkdocstrings line per module:

    ::: cqrs.requests.bootstrap

and this hook expands it into the module's docstring, a line linking every name the
module re-exports to where it is documented, and one block per object the module owns.
(A `:::` line followed by indented options is left as written.)

An object's home is the public module it reports as `__module__` (`cqrs._public.claim`
sets it: top-level names report `cqrs`, the others their first public module). Values
without a usable `__module__` (constants, type aliases) live where they are defined if
that module is public, else in the shortest public module exporting them. A class
exported under two names by its home (`Request = PydanticRequest`) is documented under
the name it was defined with, and the other name gets an anchor next to it.

The hook also warns (which fails `mkdocs build --strict`) when a public module has no
`:::` line on any page, or when a page names a module that is not public.
"""

# ruff: noqa: INP001 - loaded by MkDocs from its path, not imported as a package

from __future__ import annotations

import importlib
import logging
import pkgutil
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import griffe

PACKAGE = "cqrs"
SRC = Path(__file__).resolve().parents[2] / "src"
_DIRECTIVE = re.compile(r"^::: (?P<module>cqrs(?:\.\w+)*)[ \t]*$")
_log = logging.getLogger("mkdocs.hooks.api_reference")


@dataclass(frozen=True)
class _Export:
    name: str  # the name in the exporting module's __all__
    target: str  # griffe's path of the object it finally stands for
    value: object  # the object at run time


@dataclass
class _Module:
    owned: list[str] = field(default_factory=list)  # documented here, in __all__ order
    synonyms: dict[str, str] = field(default_factory=dict)  # other name -> owned name
    reexported: dict[str, str] = field(default_factory=dict)  # name -> its home's path


@dataclass
class _State:
    modules: dict[str, _Module] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)


_state = _State()


def _public_modules() -> list[str]:
    package = importlib.import_module(PACKAGE)
    # Resolve the package's lazy names first, so that they report `cqrs` as they do in
    # a program that imports them from `cqrs`, whatever the submodules import later.
    for name in getattr(package, "__all__", ()):
        getattr(package, name)
    walked = pkgutil.walk_packages(package.__path__, f"{PACKAGE}.")
    return [PACKAGE] + [
        info.name
        for info in walked
        if not any(part.startswith("_") for part in info.name.split("."))
    ]


def _exports(public: list[str]) -> dict[str, list[_Export]]:
    tree = griffe.load(PACKAGE, search_paths=[SRC], resolve_aliases=True)
    exports: dict[str, list[_Export]] = {}
    for module_name in public:
        runtime = importlib.import_module(module_name)
        static = tree if module_name == PACKAGE else tree[module_name.partition(".")[2]]
        rows = []
        for name in getattr(runtime, "__all__", ()):
            member = static[name]
            target = str(member.final_target.path if member.is_alias else member.path)
            rows.append(_Export(name, target, getattr(runtime, name)))
        exports[module_name] = rows
    return exports


def _is_named(value: object) -> bool:
    """Classes and functions: they carry a `__module__` and a `__name__` of their own."""
    return isinstance(value, type) or callable(value)


def _homes(exports: dict[str, list[_Export]]) -> dict[str, str]:
    """Where each exported object (by griffe target path) is documented."""
    exporters: dict[str, list[str]] = {}
    reported: dict[str, object] = {}
    for module_name, rows in exports.items():
        for row in rows:
            exporters.setdefault(row.target, []).append(module_name)
            if _is_named(row.value):
                reported[row.target] = getattr(row.value, "__module__", None)
    homes: dict[str, str] = {}
    for target, modules in exporters.items():
        module = reported.get(target)
        defined_in = target.rpartition(".")[0]
        if isinstance(module, str) and module in exports:
            homes[target] = module
        elif defined_in in exports:
            homes[target] = defined_in
        else:
            homes[target] = min(modules, key=lambda name: (name.count("."), name))
    return homes


def _module(module_name: str, rows: list[_Export], homes: dict[str, str]) -> _Module:
    entry = _Module()
    names_of: dict[object, list[str]] = {}  # one object -> its names in this module
    defined_as: dict[object, str] = {}
    for row in rows:
        home = homes[row.target]
        if home != module_name:
            entry.reexported[row.name] = f"{home}.{row.name}"
            continue
        key: object = id(row.value) if _is_named(row.value) else row.target
        names_of.setdefault(key, []).append(row.name)
        defined_as[key] = str(getattr(row.value, "__name__", row.name))
    for key, names in names_of.items():
        primary = defined_as[key] if defined_as[key] in names else names[0]
        entry.owned.append(primary)
        entry.synonyms.update({name: primary for name in names if name != primary})
    return entry


def on_pre_build(config: Any) -> None:  # noqa: ANN401, ARG001 - MkDocs' hook signature
    exports = _exports(_public_modules())
    homes = _homes(exports)
    _state.modules = {name: _module(name, rows, homes) for name, rows in exports.items()}
    _state.seen = set()


def _expand(module_name: str) -> str:
    entry = _state.modules[module_name]
    lines = [f"::: {module_name}", "    options:", "      members: false", ""]
    if entry.reexported:
        links = ", ".join(f"[`{name}`][{path}]" for name, path in sorted(entry.reexported.items()))
        lines += [f"Also importable from `{module_name}`: {links}.", ""]
    for name in entry.owned:
        others = sorted(other for other, primary in entry.synonyms.items() if primary == name)
        if others:
            # An anchor per other name, so that `[...][cqrs.Request]` finds the class.
            anchors = " ".join(f"[](){{#{module_name}.{other}}}" for other in others)
            names = ", ".join(f"`{other}`" for other in others)
            lines += [f"{anchors} {names}: another name for `{name}`, below.", ""]
        lines += [
            f"::: {module_name}.{name}",
            "    options:",
            "      heading_level: 3",
            "      show_root_full_path: false",
            "",
        ]
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:  # noqa: ANN401
    out: list[str] = []
    lines = markdown.splitlines()
    for index, line in enumerate(lines):
        match = _DIRECTIVE.match(line)
        if match is None:
            out.append(line)
            continue
        module_name = match["module"]
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if module_name not in _state.modules:
            _log.warning("%s: %s is not a public module", page.file.src_path, module_name)
            out.append(line)
        elif following.startswith(" "):  # options given on the page: left as written
            _state.seen.add(module_name)
            out.append(line)
        else:
            _state.seen.add(module_name)
            out.append(_expand(module_name))
    return "\n".join(out) + "\n"


def on_post_build(config: Any) -> None:  # noqa: ANN401, ARG001 - MkDocs' hook signature
    missing = sorted(set(_state.modules) - _state.seen)
    if missing:
        _log.warning("public modules with no ::: line in docs/reference: %s", ", ".join(missing))
