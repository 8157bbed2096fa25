"""The circuit-breaker protocol used by handler fallbacks."""

from cqrs._interfaces.circuit_breaker import CircuitIdentifier, ICircuitBreaker
from cqrs._public import claim

__all__ = ("CircuitIdentifier", "ICircuitBreaker")

claim(__name__, globals(), __all__)
