"""Optional adapters that implement the library's protocols with third-party packages.

Each submodule needs its own extra and is imported only on demand: `import cqrs` never
imports an adapter. `cqrs.adapters.circuit_breaker` needs
`pip install "cqrs-typed[circuit-breaker]"`.

An adapter sits above the library: it imports only public `cqrs` modules.
"""

__all__ = ()
