"""Griffe extension: read two conventions of the source's docstrings as Markdown.

- `Example:` (singular, as in Google's style guide and Sphinx's napoleon) is read as
  Google's `Examples:` section; Griffe only knows the plural, and would render the
  section as an admonition whose doctest lines (`>>> ...`) are read as Markdown text.
- A paragraph ending in reStructuredText's `::` introduces the indented block after it
  as code. In Markdown the indented block is already code; only the `::` is reST, so
  it becomes `:`.
"""

# ruff: noqa: INP001 - loaded by mkdocstrings from its path, not imported as a package

from __future__ import annotations

import re
from typing import Any

import griffe

_SINGULAR = re.compile(r"^(\s*)Example:[ \t]*$", re.MULTILINE)
_LITERAL_BLOCK = re.compile(r"(?<=\S)::[ \t]*\n(?=[ \t]*\n[ \t]+\S)")


class SourceDocstrings(griffe.Extension):
    """Rewrite each docstring as it is loaded, before it is parsed."""

    def on_instance(self, *, obj: griffe.Object, **_: Any) -> None:  # noqa: ANN401
        """Rename `Example:` sections and turn reST `::` into `:`."""
        docstring = obj.docstring
        if docstring is None:
            return
        value = _SINGULAR.sub(r"\1Examples:", docstring.value)
        docstring.value = _LITERAL_BLOCK.sub(":\n", value)
