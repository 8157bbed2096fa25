"""A throwaway PostgreSQL cluster a fault test owns, to restart it under a running relay.

Not a test module. `PostgresCluster.prepare()` finds the server binaries and makes a
fresh directory (under /tmp when running as root, else the temporary directory);
`initialize()` runs `initdb` into it (as the `postgres` user when the tests run as root:
initdb refuses root) and starts the server (`pg_ctl start -w`) on a spare loopback port
(below the ephemeral range, so that a restart can bind it again), its unix socket in
that directory; `url` is its SQLAlchemy URL. `restart()` is `pg_ctl restart -m
immediate -w` (a crash: no checkpoint, every connection cut, WAL recovery on start);
`destroy()` stops the server and removes the directory. Without the binaries (or, as
root, without the `postgres` user), `prepare()` raises `PostgresUnavailableError` saying
why: the test skips, or fails under CQRS_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.outbox.fault_ports import spare_port

PG_BIN_ENV = "CQRS_PG_BIN"
STEP_TIMEOUT = 40.0  # seconds initdb or one pg_ctl step may take


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server binaries (initdb, pg_ctl) to start a cluster with."""


def find_bin_dir() -> Path:
    """The directory holding `initdb` and `pg_ctl`: $CQRS_PG_BIN, Debian's, or the PATH."""
    candidates: list[str] = []
    if os.environ.get(PG_BIN_ENV):
        candidates.append(os.environ[PG_BIN_ENV])
    debian = Path("/usr/lib/postgresql").glob("*/bin")  # /usr/lib/postgresql/15/bin
    candidates.extend(
        str(path)
        for path in sorted(
            debian,
            key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
            reverse=True,
        )
    )
    found = shutil.which("initdb")
    if found:
        candidates.append(str(Path(found).parent))
    for candidate in candidates:
        directory = Path(candidate)
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    msg = (
        "no PostgreSQL server binaries (initdb and pg_ctl) in $CQRS_PG_BIN, "
        "/usr/lib/postgresql/*/bin or the PATH"
    )
    raise PostgresUnavailableError(msg)


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class PostgresCluster:
    """One PostgreSQL cluster in a temporary directory (see the module docstring).

    `prepare()` (fast: checks, a directory), then `initialize()` (initdb and start, a few
    seconds: run it in a thread), and `destroy()` in a `finally` whatever happened.
    """

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.sockets = root / "sockets"
        self.log = root / "server.log"
        self.port = 0

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the cluster's `postgres` database (trust auth, over TCP)."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    @classmethod
    def prepare(cls) -> PostgresCluster:
        """Find the binaries, make the directory; `PostgresUnavailableError` if we cannot."""
        bin_dir = find_bin_dir()
        if os.geteuid() == 0 and not (shutil.which("runuser") and _has_user("postgres")):
            msg = "running as root, initdb needs the `postgres` user and runuser to run as it"
            raise PostgresUnavailableError(msg)
        # As root the cluster belongs to postgres, who must reach it: under /tmp, not
        # under a $TMPDIR only root may enter.
        parent = "/tmp" if os.geteuid() == 0 and Path("/tmp").is_dir() else None  # noqa: S108
        cluster = cls(bin_dir, Path(tempfile.mkdtemp(prefix="cqrs-fault-pg-", dir=parent)))
        cluster.sockets.mkdir()
        if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to postgres
            for path in (cluster.root, cluster.sockets):
                shutil.chown(path, "postgres", "postgres")
        return cluster

    def initialize(self) -> None:
        """initdb, then start the server on a spare port."""
        self.run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        # A port found free can be taken before the server binds it: try a few.
        for attempt in range(1, 6):
            self.port = spare_port()
            try:
                self.start()
                break
            except subprocess.CalledProcessError:
                if attempt == 5:
                    raise

    def run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a server program as the cluster's owner; raise with its output on failure."""
        command = [str(self.bin_dir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(  # noqa: S603 - our own paths and arguments, no shell
            command,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise subprocess.CalledProcessError(
                done.returncode, command, output=done.stdout, stderr=done.stderr
            )
        return done

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.sockets} -c max_connections=50"
        )
        self.run("pg_ctl", "start", "-w", "-t", "30", *self._where(), "-o", options)

    def restart(self) -> float:
        """`pg_ctl restart -m immediate -w`; the seconds it took."""
        started = time.monotonic()
        # -l as for start: without it the server would keep pg_ctl's output pipe open.
        self.run("pg_ctl", "restart", "-m", "immediate", "-w", "-t", "30", *self._where())
        return time.monotonic() - started

    def _where(self) -> tuple[str, ...]:
        return ("-D", str(self.data), "-l", str(self.log))

    def destroy(self) -> None:
        """Stop the server (if it runs) and remove the directory."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self.run(
                    "pg_ctl", "stop", "-m", "immediate", "-w", "-t", "30", "-D", str(self.data)
                )
        shutil.rmtree(self.root, ignore_errors=True)
