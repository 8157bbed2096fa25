"""Chain of responsibility: handlers that each handle a request or pass it on."""

from cqrs._composites.chain import HandlerChain
from cqrs._errors import ChainExhaustedError
from cqrs._interfaces.cor import CORRequestHandler, build_chain
from cqrs._public import claim

__all__ = ("CORRequestHandler", "ChainExhaustedError", "HandlerChain", "build_chain")

claim(__name__, globals(), __all__)
