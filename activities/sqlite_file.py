"""One SQLite file that several worker processes and the CLI share: the plumbing the embedded
ledger and the callback store have in common.

One connection per instance, opened on first use in WAL mode (readers carry on while a writer
writes), used by one thread at a time: sqlite3 blocks, so every operation runs in a thread
(`asyncio.to_thread`), and a connection must not run two transactions at once. A write is one
`BEGIN IMMEDIATE` transaction, so the write lock is taken before anything is read; a read is a
plain `BEGIN` snapshot. The schema only ever adds (`IF NOT EXISTS`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

ResultT = TypeVar("ResultT")
MEMORY = ":memory:"  # a private database, for tests


class SqliteFile:
    def __init__(
        self,
        path: str | os.PathLike[str],
        schema: str,
        *,
        name: str,
        unavailable: Callable[[str], Exception],
        busy_timeout_seconds: float = 5.0,
        durable: bool = False,
    ) -> None:
        """`name` says what the file is in messages; `unavailable` builds the (retryable) error
        for a file that cannot be used now; `durable` makes a commit survive power loss."""
        self.path = path
        self._schema = schema
        self._name = name
        self._unavailable = unavailable
        self._busy_timeout_seconds = busy_timeout_seconds
        self._durable = durable
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._closed = False

    async def run(
        self, operation: Callable[[sqlite3.Connection], ResultT], *, write: bool = True
    ) -> ResultT:
        """`operation` inside one transaction, committed, or rolled back if it raises."""
        return await asyncio.to_thread(self._run_blocking, operation, write)

    async def close(self) -> None:
        await asyncio.to_thread(self._close_blocking)

    def _run_blocking(
        self, operation: Callable[[sqlite3.Connection], ResultT], write: bool
    ) -> ResultT:
        with self._lock:
            try:
                conn = self._open()
                with _transaction(conn, "BEGIN IMMEDIATE" if write else "BEGIN"):
                    return operation(conn)
            except (sqlite3.Error, OSError) as exc:
                # Locked past the busy timeout, disk full, unreadable file or directory: an
                # operator or a moment later can fix it, so Temporal retries; nothing fails.
                raise self._unavailable(f"{self._name} {self.path}: {exc}") from exc

    def _open(self) -> sqlite3.Connection:
        if self._closed:
            # Retryable on purpose: an activity caught by a worker shutdown runs again elsewhere.
            raise self._unavailable(f"{self._name} {self.path} is closed")
        if self._connection is None:
            if str(self.path) != MEMORY:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout_seconds,
                isolation_level=None,  # we issue BEGIN / COMMIT ourselves
                check_same_thread=False,  # guarded by self._lock instead
            )
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                if self._durable:
                    conn.execute("PRAGMA synchronous=FULL")
                conn.executescript(self._schema)
            except sqlite3.Error:
                conn.close()  # the next attempt opens afresh
                raise
            self._connection = conn
        return self._connection

    def _close_blocking(self) -> None:
        with self._lock:
            self._closed = True
            if self._connection is not None:
                self._connection.close()
                self._connection = None


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection, begin: str) -> Iterator[None]:
    conn.execute(begin)
    try:
        yield
    except BaseException:
        if conn.in_transaction:  # SQLite may have rolled back already (e.g. on disk I/O error)
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
