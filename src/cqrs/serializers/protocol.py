"""The codec protocols: `EventSerializer` (write) and `EventCodec` (write and read)."""

from cqrs._adapters.codecs import EventCodec, EventSerializer
from cqrs._public import claim

__all__ = ("EventCodec", "EventSerializer")

claim(__name__, globals(), __all__)
