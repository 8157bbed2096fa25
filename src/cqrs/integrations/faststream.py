"""Broker messages back into the mediator: FastStream subscribers (extra `faststream`).

`import cqrs` never imports FastStream; this module does. One call subscribes a mediator
to a FastStream subscriber the application declared (queue, topic, subject, stream, with
its broker's own options):

    subscriber = broker.subscriber("orders", ack_policy=AckPolicy.MANUAL)
    subscribe_events(
        subscriber, event_mediator, OrderPlaced, OrderCancelled,
        dead_letter=DeadLetterTopic(FastStreamMessageBroker(broker), "orders.dead-letter"),
    )

What happens to each message:

1. It is decoded (`cqrs.message_brokers.wire`) into the registered class its
   `cqrs-message-name` header names (or its body's `event_name`, or the only class).
   A message that cannot be decoded goes straight to the dead letter, with the reason.
2. The mediator runs it (`EventMediator.send` / `RequestMediator.send`). A failure is
   retried in the consumer, `Retry.attempts` times in all, with exponential backoff and
   jitter (stamina); the message stays unacknowledged meanwhile, so a consumer that dies
   mid-retry leaves it to the broker to deliver again. Wiring errors (no handler bound,
   a dependency the container cannot build) are not retried.
3. Success: the message is **acked**. Attempts exhausted: the message goes to the dead
   letter (an ERROR log names the message, the attempts and the last error) and is then
   acked, or rejected when the dead letter is the broker's own (RabbitMQ's dead-letter
   exchange). A dead letter that cannot be written nacks the message, so it comes back.

Delivery: at-least-once on brokers that redeliver unacknowledged messages (RabbitMQ,
Kafka, NATS JetStream, Redis streams with a group); a retried `EventMediator.send` runs
every handler of the event again, so handlers must be idempotent. Plain NATS subjects
and Redis channels do not redeliver: a consumer that dies loses the message in hand.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import math
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any, Final, Generic, Protocol, TypeVar, cast

import stamina
from faststream import AckPolicy, Context, StreamMessage

from cqrs.events import IEvent
from cqrs.exceptions import (
    DependencyResolutionError,
    HandlerBindingTypeError,
    InvalidConfigurationError,
    MessageDecodeError,
    RequestHandlerDoesNotExist,
    RequestHandlerTypeError,
)
from cqrs.mediator import EventMediator, RequestMediator
from cqrs.message_brokers.faststream import FastStreamMessageBroker
from cqrs.message_brokers.wire import (
    HEADER_MESSAGE_ID,
    HEADER_MESSAGE_NAME,
    EncodedMessage,
    MessageRegistry,
    header_text,
)
from cqrs.requests import IRequest

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

__all__ = (
    "HEADER_ATTEMPTS",
    "HEADER_DEAD_LETTER_REASON",
    "DeadLetter",
    "DeadLetterTopic",
    "Failure",
    "RejectToDeadLetterExchange",
    "Retry",
    "Subscriber",
    "subscribe_events",
    "subscribe_requests",
)

logger: Final = logging.getLogger("cqrs")

HEADER_DEAD_LETTER_REASON: Final = "cqrs-dead-letter-reason"
HEADER_ATTEMPTS: Final = "cqrs-delivery-attempts"

_MessageT = TypeVar("_MessageT", bound="IEvent | IRequest[Any]")

# Retrying cannot fix these: the message goes to the dead letter at once.
_WIRING_ERRORS: Final = (
    RequestHandlerDoesNotExist,
    RequestHandlerTypeError,
    DependencyResolutionError,
    HandlerBindingTypeError,
)


class Subscriber(Protocol):
    """A FastStream subscriber (`broker.subscriber(...)`), created with a manual ack policy."""

    def __call__(self, func: Callable[..., Awaitable[None]], /) -> object:
        """Register `func` as the subscriber's handler."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class Retry:
    """How often a failing message is tried, and how long to wait in between.

    Args:
        attempts: tries in all, the first one included (1: no retry).
        wait_initial: seconds before the first retry; doubled on each retry.
        wait_max: the longest wait between two tries.
        wait_jitter: up to this many random seconds added to each wait.
        on: the exceptions worth a retry (wiring errors never are).
    """

    attempts: int = 3
    wait_initial: float = 0.1
    wait_max: float = 5.0
    wait_jitter: float = 0.5
    on: type[Exception] | tuple[type[Exception], ...] = Exception

    def __post_init__(self) -> None:
        if self.attempts < 1:
            msg = f"Retry.attempts must be at least 1, got {self.attempts!r}"
            raise InvalidConfigurationError(msg)
        for name in ("wait_initial", "wait_max", "wait_jitter"):
            value: float = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                msg = f"Retry.{name} must be a finite number of seconds >= 0, got {value!r}"
                raise InvalidConfigurationError(msg)


@dataclasses.dataclass(frozen=True, slots=True)
class Failure:
    """Why a message goes to the dead letter."""

    reason: str
    attempts: int
    error: BaseException | None
    message_name: str | None


class DeadLetter(Protocol):
    """Where a message goes when it cannot be decoded or its attempts are exhausted.

    It returns once the message is safely stored elsewhere (then the message is acked),
    or raises (then the message is nacked and comes back).
    """

    async def __call__(self, message: StreamMessage[Any], failure: Failure, /) -> None:
        """Move `message` to the dead letter."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class DeadLetterTopic:
    """Publish dead letters to a topic (queue, subject, channel) of a broker.

    The original body and headers are kept; `cqrs-dead-letter-reason` and
    `cqrs-delivery-attempts` are added.
    """

    broker: FastStreamMessageBroker
    topic: str

    async def __call__(self, message: StreamMessage[Any], failure: Failure, /) -> None:
        """Publish `message` to the dead-letter topic."""
        headers = header_text(message.headers)
        headers[HEADER_DEAD_LETTER_REASON] = failure.reason
        headers[HEADER_ATTEMPTS] = str(failure.attempts)
        message_id = headers.get(HEADER_MESSAGE_ID, message.message_id)
        body = message.body
        await self.broker.send_encoded(
            EncodedMessage(
                topic=self.topic,
                body=body if isinstance(body, bytes) else bytes(body),
                headers=headers,
                message_id=message_id,
                message_name=failure.message_name or "undecodable message",
                timestamp=datetime.datetime.now(datetime.timezone.utc),
                content_type=message.content_type or "application/octet-stream",
            )
        )


@dataclasses.dataclass(frozen=True, slots=True)
class RejectToDeadLetterExchange:
    """RabbitMQ: reject the message, so the queue's dead-letter exchange takes it.

    Declare the queue with `arguments={"x-dead-letter-exchange": ...}` (see the README):
    RabbitMQ drops a rejected message from a queue without one. The reason is in the
    ERROR log; RabbitMQ records `x-death` headers on the dead letter.
    """

    async def __call__(self, message: StreamMessage[Any], failure: Failure, /) -> None:
        """Reject `message` without requeueing it."""
        del failure  # the consumer has logged it
        await message.reject()


def subscribe_events(
    subscriber: Subscriber,
    mediator: EventMediator,
    /,
    *event_types: type[IEvent],
    dead_letter: DeadLetter,
    retry: Retry | None = None,
    registry: MessageRegistry[IEvent] | None = None,
) -> MessageRegistry[IEvent]:
    """Handle the events `subscriber` receives with `mediator`.

    Args:
        subscriber: a FastStream subscriber created with `ack_policy=AckPolicy.MANUAL`.
        mediator: runs every handler bound to the decoded event's class.
        event_types: the event classes this subscriber receives (each must have a
            handler bound in the mediator's map).
        dead_letter: where undecodable and exhausted messages go.
        retry: attempts and backoff for failing messages (default: `Retry()`).
        registry: a registry to use instead of (or besides) `event_types`, for
            custom names (`register(E, name=..., event_name=...)`).

    Returns:
        The registry the subscriber decodes with.

    Raises:
        InvalidConfigurationError: the subscriber does not ack manually, no event class
            is given, or one has no handler bound in the mediator's map.
    """
    decoder = _registry(registry, event_types)
    unhandled = [t.__qualname__ for t in decoder if not mediator.event_map.get(t)]
    if unhandled:
        msg = (
            f"subscribe_events: no handler is bound to {', '.join(unhandled)} in the "
            "EventMediator's map; bind one, or do not subscribe to it"
        )
        raise InvalidConfigurationError(msg)
    _Consumer(subscriber, decoder, mediator.send, retry or Retry(), dead_letter).register()
    return decoder


def subscribe_requests(
    subscriber: Subscriber,
    mediator: RequestMediator,
    /,
    *request_types: type[IRequest[Any]],
    dead_letter: DeadLetter,
    retry: Retry | None = None,
    registry: MessageRegistry[IRequest[Any]] | None = None,
) -> MessageRegistry[IRequest[Any]]:
    """Handle the commands `subscriber` receives with `mediator` (responses are dropped).

    Same arguments and rules as `subscribe_events`, for requests bound in the
    `RequestMediator`'s map.
    """
    decoder = _registry(registry, request_types)
    unbound = [t.__qualname__ for t in decoder if t not in mediator.request_map]
    if unbound:
        msg = (
            f"subscribe_requests: no handler is bound to {', '.join(unbound)} in the "
            "RequestMediator's map; bind one, or do not subscribe to it"
        )
        raise InvalidConfigurationError(msg)

    async def send(request: IRequest[Any]) -> None:
        await mediator.send(request)

    _Consumer(subscriber, decoder, send, retry or Retry(), dead_letter).register()
    return decoder


def _registry(
    registry: MessageRegistry[_MessageT] | None, types: Sequence[type[_MessageT]]
) -> MessageRegistry[_MessageT]:
    decoder = registry if registry is not None else MessageRegistry[_MessageT]()
    for message_type in types:
        if message_type not in decoder:
            decoder.register(message_type)
    if not len(decoder):
        msg = "subscribe: give the message classes this subscriber receives"
        raise InvalidConfigurationError(msg)
    return decoder


def _message_id(message: StreamMessage[Any]) -> str:
    # The event id (`cqrs-message-id`), the same on every broker; FastStream's own
    # message_id is broker-made on Kafka ("<offset>-<timestamp>") and Redis.
    return header_text(message.headers).get(HEADER_MESSAGE_ID) or message.message_id


def _is_wiring_error(error: BaseException) -> bool:
    # Several handlers failed: one wiring error among them fails every retry again.
    if isinstance(error, BaseExceptionGroup):
        group = cast("BaseExceptionGroup[BaseException]", error)  # isinstance leaves it Unknown
        return any(_is_wiring_error(inner) for inner in group.exceptions)
    return isinstance(error, _WIRING_ERRORS)


def _is_rabbit(subscriber: object) -> bool:
    return type(subscriber).__module__.startswith("faststream.rabbit.")


def _ack_policy(subscriber: object) -> object:
    return getattr(subscriber, "ack_policy", None)


class _Consumer(Generic[_MessageT]):
    """The handler registered on a subscriber: decode, run with retries, settle."""

    __slots__ = ("_dead_letter", "_handle", "_registry", "_retry", "_subscriber")

    def __init__(
        self,
        subscriber: Subscriber,
        registry: MessageRegistry[_MessageT],
        handle: Callable[[_MessageT], Awaitable[object]],
        retry: Retry,
        dead_letter: DeadLetter,
    ) -> None:
        policy = _ack_policy(subscriber)
        if policy is not AckPolicy.MANUAL:
            msg = (
                "subscribe: create the subscriber with ack_policy=AckPolicy.MANUAL (it has "
                f"{policy!r}): the consumer acks after the mediator succeeded, and must not "
                "ack or reject a message FastStream's own policy already settled"
            )
            raise InvalidConfigurationError(msg)
        if isinstance(dead_letter, RejectToDeadLetterExchange) and not _is_rabbit(subscriber):
            msg = (
                "subscribe: RejectToDeadLetterExchange is RabbitMQ's dead-letter exchange; "
                f"{type(subscriber).__qualname__} is not a RabbitMQ subscriber (a rejected "
                "message would be lost or stay pending): use DeadLetterTopic"
            )
            raise InvalidConfigurationError(msg)
        self._subscriber = subscriber
        self._registry = registry
        self._handle = handle
        self._retry = retry
        self._dead_letter = dead_letter

    def register(self) -> None:
        consume = self.consume

        async def handler(message: Annotated[StreamMessage[Any], Context("message")]) -> None:
            await consume(message)

        self._subscriber(handler)

    async def consume(self, message: StreamMessage[Any]) -> None:
        """Decode `message`, run it, and ack it, dead-letter it, or nack it."""
        headers: Mapping[str, str] = header_text(message.headers)
        try:
            decoded = self._registry.decode(message.body, headers)
        except MessageDecodeError as error:
            logger.error(  # noqa: TRY400 - the reason is the message; no traceback to add
                "Message %s cannot be decoded, sent to the dead letter: %s",
                _message_id(message),
                error,
            )
            await self._settle_dead(message, Failure(str(error), 0, error, None))
            return
        try:
            await self._handle(decoded)
        except Exception as first:
            attempts, last = await self._retry_after(decoded, first)
            if last is not None:
                name = headers.get(HEADER_MESSAGE_NAME) or type(decoded).__name__
                logger.exception(  # the last error's traceback, not the first's
                    "%s %s failed %d time(s), sent to the dead letter",
                    name,
                    _message_id(message),
                    attempts,
                    exc_info=last,
                )
                reason = f"{type(last).__name__}: {last}"
                await self._settle_dead(message, Failure(reason, attempts, last, name))
                return
        await message.ack()

    async def _retry_after(
        self, decoded: _MessageT, first: Exception
    ) -> tuple[int, Exception | None]:
        """Retry after a failed first attempt; return the attempts made and the last error."""
        # The first attempt runs outside stamina (its set-up costs more than a trivial
        # handler); stamina replays that failure as its own attempt 1, so its backoff,
        # its attempt count and its `on` check apply from there.
        attempts = 1
        try:
            async for attempt in stamina.retry_context(
                on=self._retryable,
                attempts=self._retry.attempts,
                timeout=None,
                wait_initial=self._retry.wait_initial,
                wait_max=self._retry.wait_max,
                wait_jitter=self._retry.wait_jitter,
            ):
                with attempt:
                    attempts = attempt.num
                    if attempts == 1:
                        raise first
                    await self._handle(decoded)
        except Exception as error:  # noqa: BLE001 - reported by the caller
            return attempts, error
        return attempts, None

    def _retryable(self, error: Exception) -> bool:
        return isinstance(error, self._retry.on) and not _is_wiring_error(error)

    async def _settle_dead(self, message: StreamMessage[Any], failure: Failure) -> None:
        try:
            await self._dead_letter(message, failure)
        except Exception:
            logger.exception(
                "The dead letter refused message %s; nacked, it will come back",
                _message_id(message),
            )
            await message.nack()
            return
        await message.ack()  # a no-op when the dead letter rejected it already
