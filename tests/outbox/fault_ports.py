"""A free loopback port for a server the fault tests stop and start again (not a test module).

A port from `bind(("127.0.0.1", 0))` lies in the kernel's ephemeral range, which it also
hands to outgoing connections: while the proxy or the PostgreSQL server is down, a client
connection could take that port as its local one, and the server could not bind it again.
`spare_port()` picks a free port below the ephemeral range instead.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 10_000


def _ephemeral_start() -> int:
    try:
        return int(_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def spare_port() -> int:
    """A port nothing listens on, outside the ephemeral range when there is room for one."""
    start = _ephemeral_start()
    if start - _LOWEST > 1000:
        for port in random.sample(range(_LOWEST, start), 50):
            if _bindable(port):
                return port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        found: int = probe.getsockname()[1]
    return found
