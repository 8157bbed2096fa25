"""Consume messages from an existing RabbitMQ queue and decode them as python-cqrs 4.15.1 would.

Runs inside the python-cqrs venv built by `tests/brokers/pycqrs.py`. Usage::

    consume.py --url amqp://guest:guest@127.0.0.1:5672/ --queue Q --count N --timeout S
               [--payload order|any] [--mode aio-pika|pycqrs]

Each body is decoded twice, the ways python-cqrs users do it:
`cqrs.NotificationEvent[OrderPayload].model_validate(json.loads(body))` and python-cqrs's
`cqrs.deserializers.JsonDeserializer(cqrs.NotificationEvent[OrderPayload])(body)`; both must
succeed and agree. The event is then sent through a python-cqrs `EventMediator` whose
`EventHandler[NotificationEvent[OrderPayload]]` must receive it. Then the message is acked.
`--payload any` decodes as `NotificationEvent[dict]` instead.

`--mode aio-pika` (default) opens the queue passively (it must exist, any declaration) and
consumes with prefetch 1, like python-cqrs's `AMQPConsumer`. `--mode pycqrs` uses python-cqrs's
own `amqp_consumer_factory(url).consume(handler, queue)`, which re-declares the queue with
aio-pika's defaults (non-durable...), so it fails on a queue declared differently.

One JSON line per message on stdout: {"event": model_dump(mode="json"), "headers",
"properties", "routing_key", "exchange", "redelivered", "body", "handled"}.
Exit status: 0 all N decoded and handled, 2 a decode/handling failure (that message is left
unacked, so it is requeued), 3 timeout before N messages.

python-cqrs is imported inside the functions so that importing this file elsewhere (pytest's
doctest collection runs in the project venv) has no side effects.
"""

import argparse
import asyncio
import base64
import contextlib
import datetime
import decimal
import json
import os
import sys
from typing import Any

EXIT_DECODE_FAILURE = 2
EXIT_TIMEOUT = 3


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="amqp://user:password@host:port/vhost")
    parser.add_argument("--queue", required=True, help="an existing queue")
    parser.add_argument("--count", type=int, default=1, help="how many messages to consume")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds for all of them")
    parser.add_argument("--payload", choices=("order", "any"), default="order")
    parser.add_argument("--mode", choices=("aio-pika", "pycqrs"), default="aio-pika")
    return parser.parse_args(argv)


def jsonable(value: Any) -> Any:
    """AMQP field-table values (bytes, datetimes, decimals, nested tables) -> JSON values."""
    result: Any
    if isinstance(value, dict):
        result = {str(k): jsonable(v) for k, v in value.items()}
    elif isinstance(value, (list, tuple)):
        result = [jsonable(v) for v in value]
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        try:
            result = raw.decode()
        except UnicodeDecodeError:
            result = {"base64": base64.b64encode(raw).decode("ascii")}
    elif isinstance(value, (datetime.datetime, datetime.date)):
        result = value.isoformat()
    elif isinstance(value, decimal.Decimal):
        result = str(value)
    elif value is None or isinstance(value, (str, int, float, bool)):
        result = value
    else:
        result = repr(value)
    return result


def properties(message: Any) -> dict[str, Any]:
    names = (
        "content_type",
        "content_encoding",
        "delivery_mode",
        "priority",
        "correlation_id",
        "reply_to",
        "expiration",
        "message_id",
        "timestamp",
        "type",
        "user_id",
        "app_id",
    )
    props = {name: getattr(message, name, None) for name in names}
    if props["delivery_mode"] is not None:
        props["delivery_mode"] = int(props["delivery_mode"])
    return jsonable(props)


async def consume(args: argparse.Namespace) -> int:
    os.environ.setdefault("CQRS_SUPPRESS_V4_EOL_WARNING", "1")
    import aio_pika
    import di
    import pydantic

    import cqrs
    from cqrs.deserializers import DeserializeJsonError, JsonDeserializer
    from cqrs.events import bootstrap as events_bootstrap

    class OrderPayload(pydantic.BaseModel):
        order_id: str
        amount: int

    event_type: Any = (
        cqrs.NotificationEvent[OrderPayload]
        if args.payload == "order"
        else cqrs.NotificationEvent[dict]
    )
    deserializer = JsonDeserializer(event_type)
    handled: list[Any] = []

    class RecordingHandler(cqrs.EventHandler[event_type]):
        async def handle(self, event: Any) -> None:
            handled.append(event)

    def events_mapper(mapper: Any) -> None:
        mapper.bind(event_type, RecordingHandler)

    mediator = events_bootstrap.bootstrap(di_container=di.Container(), events_mapper=events_mapper)

    results: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
    accepted = 0

    async def on_message(message: Any) -> None:
        nonlocal accepted
        if accepted >= args.count:  # one past N may arrive before we cancel: give it back
            await message.nack(requeue=True)
            return
        body = bytes(message.body)
        text = body.decode("utf-8", errors="replace")
        line: dict[str, Any] = {
            "headers": jsonable(dict(message.headers or {})),
            "properties": properties(message),
            "routing_key": message.routing_key,
            "exchange": message.exchange,
            "redelivered": bool(message.redelivered),
            "body": text,
        }
        try:
            validated = event_type.model_validate(json.loads(body))
            deserialized = deserializer(body)
            if isinstance(deserialized, DeserializeJsonError) or deserialized is None:
                msg = f"JsonDeserializer failed: {deserialized!r}"
                raise ValueError(msg)
            if deserialized != validated:
                msg = f"JsonDeserializer and model_validate disagree: {deserialized!r} != {validated!r}"
                raise ValueError(msg)
            before = len(handled)
            await mediator.send(validated)
            if len(handled) != before + 1 or handled[-1] is not validated:
                msg = "the python-cqrs EventHandler did not receive the event"
                raise ValueError(msg)
        except Exception as exc:  # reported below; the script then exits non-zero
            line["error"] = f"{type(exc).__name__}: {exc}"
            accepted += 1
            await results.put(("error", line))
            return
        accepted += 1
        await message.ack()
        line["event"] = validated.model_dump(mode="json")
        line["handled"] = True
        await results.put(("ok", line))

    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.timeout

    async def drain() -> int:
        for _ in range(args.count):
            remaining = deadline - loop.time()
            try:
                status, line = await asyncio.wait_for(results.get(), timeout=max(remaining, 0))
            except asyncio.TimeoutError:
                print(
                    f"timed out after {args.timeout}s waiting for {args.count} messages",
                    file=sys.stderr,
                )
                return EXIT_TIMEOUT
            print(json.dumps(line), flush=True)
            if status != "ok":
                print(f"decode failure: {line['error']}", file=sys.stderr)
                return EXIT_DECODE_FAILURE
        return 0

    if args.mode == "pycqrs":
        from cqrs.adapters.amqp import amqp_consumer_factory

        consumer = amqp_consumer_factory(url=args.url)
        task = asyncio.create_task(consumer.consume(on_message, args.queue))
        drained = asyncio.create_task(drain())
        done, _ = await asyncio.wait({task, drained}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:  # consume() only returns by raising (e.g. queue declare refused)
            drained.cancel()
            task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        pool = consumer.channel_pool
        constructor = getattr(pool, "_Pool__constructor", None)
        for each in (pool, getattr(constructor, "keywords", {}).get("connection_pool")):
            if each is not None:
                with contextlib.suppress(Exception):
                    await each.close()
        return await drained

    connection = await aio_pika.connect(args.url, timeout=max(args.timeout, 1.0))
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=1)
        queue = await channel.get_queue(args.queue, ensure=True)  # passive: must exist
        tag = await queue.consume(on_message)
        try:
            return await drain()
        finally:
            with contextlib.suppress(Exception):
                await queue.cancel(tag)


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(consume(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
