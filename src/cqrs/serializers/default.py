"""`default_serializer`: the JSON bytes of an event's `to_dict()` (python-cqrs's path)."""

from cqrs._adapters.codecs import default_serializer
from cqrs._public import claim

__all__ = ("default_serializer",)

claim(__name__, globals(), __all__)
