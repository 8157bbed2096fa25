"""Optional integrations with other frameworks.

Each submodule needs its own extra and is imported only on demand: `import cqrs` never
imports a framework. `cqrs.integrations.fastapi` needs `pip install "cqrs-typed[fastapi]"`.

An integration sits above the library: it imports only public `cqrs` modules.
"""

__all__ = ()
