"""A script of ours in a subprocess, for the fault tests (not a test module).

The fault tests start relays, saga runners, proxies and database servers as child
processes, read their stdout line by line, kill them with SIGKILL and reap them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import pytest

WAIT = 30.0  # seconds one short step may take (a process starting, a line arriving)


class Child:
    """A script of ours in a subprocess; stdout is read line by line, stderr goes to a file."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path, wait: float) -> None:
        self.process = process
        self.log = log
        self.wait = wait

    @classmethod
    async def start(cls, script: Path, *args: str, log: Path, wait: float = WAIT) -> Child:
        """Start `python script *args`; stderr appended to `log`; waits bounded by `wait`."""
        with log.open("ab") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(script),
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            )
        return cls(process, log, wait)

    async def line(self, prefix: str) -> str:
        """The next stdout line (within `self.wait` seconds), which must start with `prefix`."""
        assert self.process.stdout is not None
        try:
            raw = await asyncio.wait_for(self.process.stdout.readline(), self.wait)
        except (TimeoutError, asyncio.TimeoutError):  # asyncio's own on Python 3.10
            pytest.fail(f"{self.describe()} printed no {prefix!r} line within {self.wait} s")
        text = raw.decode().strip()
        if not text.startswith(prefix):
            pytest.fail(f"{self.describe()} printed {text!r}, not {prefix!r}...")
        return text

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()

    async def stop(self) -> str:
        """SIGTERM; the rest of its stdout once it exited (it must exit 0)."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        assert self.process.stdout is not None
        output = await asyncio.wait_for(self.process.stdout.read(), self.wait)
        code = await asyncio.wait_for(self.process.wait(), self.wait)
        assert code == 0, f"{self.describe()} exited with {code}"
        return output.decode()

    async def reap(self) -> None:
        """Kill it if it still runs, and wait for it (cleanup)."""
        self.kill()
        with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
            await asyncio.wait_for(self.process.wait(), self.wait)

    def describe(self) -> str:
        tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        return f"process {self.process.pid} (exit {self.process.returncode}; stderr: {tail!r})"
