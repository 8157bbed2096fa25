"""Make re-exported objects report the public module they are documented under."""

from __future__ import annotations

__all__ = ("claim",)


def claim(module: str, namespace: dict[str, object], names: tuple[str, ...]) -> None:
    """Set `__module__` of each named object that still reports a private module.

    `cqrs/__init__.py` claims first (the package is imported before any submodule),
    so top-level names report `cqrs`; the rest report their first public module.
    """
    for name in names:
        obj = namespace[name]
        current = getattr(obj, "__module__", None)
        if isinstance(current, str) and current.startswith("cqrs._"):
            try:
                obj.__module__ = module
            except (AttributeError, TypeError):  # objects that do not allow it
                continue
