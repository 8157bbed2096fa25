"""`JsonEventSerializer`: the JSON codec of notification events (python-cqrs's path)."""

from cqrs._adapters.codecs import JsonEventSerializer
from cqrs._public import claim

__all__ = ("JsonEventSerializer",)

claim(__name__, globals(), __all__)
