"""`JsonDeserializer`: JSON text or bytes into a typed event, bad input as a value."""

from cqrs._adapters.codecs import Deserializable, DeserializeJsonError, JsonDeserializer
from cqrs._public import claim

__all__ = ("Deserializable", "DeserializeJsonError", "JsonDeserializer")

claim(__name__, globals(), __all__)
