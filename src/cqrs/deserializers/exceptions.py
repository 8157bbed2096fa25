"""The values the deserializers return for bad input (python-cqrs's module path)."""

from cqrs._adapters.codecs import DeserializeJsonError, DeserializeProtobufError
from cqrs._public import claim

__all__ = ("DeserializeJsonError", "DeserializeProtobufError")

claim(__name__, globals(), __all__)
