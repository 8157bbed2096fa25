"""Sagas: steps run in order, completed steps compensated in reverse when one fails.

The modules follow python-cqrs 4.x's paths (`cqrs.saga.saga`, `cqrs.saga.step`,
`cqrs.saga.models`, `cqrs.saga.fallback`, `cqrs.saga.storage.*`, `cqrs.saga.recovery`,
`cqrs.saga.bootstrap`, `cqrs.saga.mermaid`). `import cqrs` does not import them.
"""

__all__ = ()
