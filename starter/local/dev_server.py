"""The Temporal dev server of the local stack: a child process that ends with the stack.

`payouts dev` keeps its state in a SQLite file under PAYOUTS_HOME, so a restart finds every saga
again (their ledger reservations live under the same home); `payouts demo` runs it in memory.
The server gets a session of its own: a Ctrl-C in the terminal reaches only us, and we stop the
stack in order (worker first, server last) from the exit stack. SIGTERM, SIGINT and SIGHUP are
turned into that orderly exit (`starter.local.stop_signals`); only SIGKILL leaves it behind, and
the next `payouts dev` then reuses it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import structlog

from starter.service.binaries import installed_binary
from starter.service.search_attribute_setup import dev_server_flags

log = structlog.get_logger()
STOP_DEADLINE_SECONDS = 10.0


@dataclass(frozen=True)
class DevServer:
    """How to run it: where it listens, and where it keeps its state (None: in memory)."""

    address: str
    namespace: str
    ui_port: int
    log_file: Path
    db_file: Path | None = None

    def command(self) -> list[str]:
        host, _, port = self.address.rpartition(":")
        persistence = ["--db-filename", str(self.db_file)] if self.db_file else []
        return [
            installed_binary("temporal"), "server", "start-dev",
            "--ip", host, "--port", port, "--ui-port", str(self.ui_port),
            "--namespace", self.namespace, "--log-level", "error",
            *persistence, *dev_server_flags(),
        ]  # fmt: skip


@contextlib.contextmanager
def running_dev_server(server: DevServer) -> Iterator[subprocess.Popen[bytes]]:
    """Start the server, and stop it (its whole process group) however the block ends."""
    server.log_file.parent.mkdir(parents=True, exist_ok=True)
    if server.db_file is not None:
        server.db_file.parent.mkdir(parents=True, exist_ok=True)
    with server.log_file.open("wb") as log_file:
        process = subprocess.Popen(  # noqa: S603 - our installed binary, fixed arguments
            server.command(),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (it flushes its SQLite state), SIGKILL if it has
    not gone within STOP_DEADLINE_SECONDS."""
    if process.poll() is None:
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
    log.info("temporal.stopped", pid=process.pid, exit_code=process.returncode)


def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        # start_new_session made the server the leader of a group whose id is its pid.
        os.killpg(process.pid, signum)
