"""Load a messages module's concrete bases on first use (PEP 562)."""

from __future__ import annotations

import importlib

__all__ = ("load",)


def load(namespace: dict[str, object], source: str, names: frozenset[str], name: str) -> object:
    """Return `name` from the module `source`, and keep it in `namespace` for next time.

    For a module `__getattr__`: a name outside `names` is an `AttributeError`.
    """
    if name not in names:
        msg = f"module {namespace['__name__']!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value: object = getattr(importlib.import_module(source), name)
    namespace[name] = value
    return value
