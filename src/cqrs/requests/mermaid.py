"""Mermaid diagrams of a chain of responsibility bound to a request."""

from cqrs._diagrams.cor_mermaid import CoRMermaid
from cqrs._public import claim

__all__ = ("CoRMermaid",)

claim(__name__, globals(), __all__)
