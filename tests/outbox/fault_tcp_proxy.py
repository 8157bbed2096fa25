"""A loopback TCP forwarder the outbox fault tests kill and restart (not a test module).

    python fault_tcp_proxy.py LISTEN_PORT TARGET_HOST TARGET_PORT

Listens on 127.0.0.1:LISTEN_PORT (0: a free port) and forwards every connection to
TARGET_HOST:TARGET_PORT, both ways, until either side closes. Once it listens it prints
`listening PORT` on stdout (the test waits for that line and reads the port from it).
SIGKILL is the fault: the kernel then closes every socket it held, as a broker host that
dies does, and a restart on the same port (SO_REUSEADDR) is the broker coming back.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

CHUNK = 65536


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy `reader` to `writer` until end of file or an error, then close `writer`."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


async def main(listen_port: int, target_host: str, target_port: int) -> None:
    async def forward(client_reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream = await asyncio.open_connection(target_host, target_port)
        except OSError:
            client.close()
            return
        await asyncio.gather(pipe(client_reader, upstream), pipe(upstream_reader, client))

    server = await asyncio.start_server(forward, "127.0.0.1", listen_port, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    print(f"listening {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
