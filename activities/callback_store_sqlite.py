"""The embedded callback store: one SQLite file (PAYOUTS_CALLBACK_STORE), shared by the worker
processes of one machine and the CLI.

Two tables: `callback_events` (one row per event: the exact event, its delivery state and
counters) and `callback_attempts` (one row per POST). Each write is one `BEGIN IMMEDIATE`
transaction in WAL mode, in a thread (`asyncio.to_thread`), as the embedded ledger does. The
schema only ever adds (`IF NOT EXISTS`). `":memory:"` keeps a private store, for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from activities.callback_store import (
    AttemptResult,
    CallbackSelection,
    CallbackStoreUnavailableError,
    DeliveryState,
    StoredCallback,
)
from activities.callback_store_rows import (
    SCHEMA,
    append_attempt,
    insert_event,
    read_attempts,
    read_event,
    select_events,
)
from activities.callbacks import CallbackEvent

ResultT = TypeVar("ResultT")
MEMORY = ":memory:"


class SqliteCallbackStore:
    """A `CallbackStore` in the SQLite file at `path` (parent directories are created)."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_seconds: float = 5.0) -> None:
        self.path = str(path)
        self._busy_timeout_seconds = busy_timeout_seconds
        # One connection, used by one thread at a time (to_thread may pick any pool thread).
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._closed = False

    async def open(self, event: CallbackEvent, now: datetime) -> StoredCallback:
        def add(conn: sqlite3.Connection) -> StoredCallback:
            insert_event(conn, event, now)
            return _existing(conn, event.event_id)

        return await self._run(add)

    async def record(
        self, event_id: str, attempt: AttemptResult, final: DeliveryState | None
    ) -> StoredCallback:
        def add(conn: sqlite3.Connection) -> StoredCallback:
            append_attempt(conn, _existing(conn, event_id), attempt, final)
            return _existing(conn, event_id)

        return await self._run(add)

    async def get(self, event_id: str) -> StoredCallback | None:
        return await self._run(lambda conn: read_event(conn, event_id), write=False)

    async def find(
        self,
        selection: CallbackSelection | None = None,
        *,
        limit: int = 50,
        newest_first: bool = False,
        with_attempts: bool = False,
    ) -> list[StoredCallback]:
        def select(conn: sqlite3.Connection) -> list[StoredCallback]:
            found = select_events(conn, selection, limit, newest_first)
            if with_attempts:
                for stored in found:
                    stored.attempt_log = read_attempts(conn, stored.event_id)
            return found

        return await self._run(select, write=False)

    async def close(self) -> None:
        await asyncio.to_thread(self._close_blocking)

    async def _run(
        self, operation: Callable[[sqlite3.Connection], ResultT], *, write: bool = True
    ) -> ResultT:
        return await asyncio.to_thread(self._run_blocking, operation, write)

    def _run_blocking(
        self, operation: Callable[[sqlite3.Connection], ResultT], write: bool
    ) -> ResultT:
        with self._lock:
            try:
                conn = self._open()
                with _transaction(conn, "BEGIN IMMEDIATE" if write else "BEGIN"):
                    return operation(conn)
            except (sqlite3.Error, OSError) as exc:
                # Locked past the busy timeout, disk full, unreadable file: a moment or an
                # operator fixes it, so the activity is retried, never the payout failed.
                raise CallbackStoreUnavailableError(f"callback store {self.path}: {exc}") from exc

    def _open(self) -> sqlite3.Connection:
        if self._closed:
            raise CallbackStoreUnavailableError(f"callback store {self.path} is closed")
        if self._connection is None:
            if self.path != MEMORY:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout_seconds,
                isolation_level=None,  # BEGIN / COMMIT are ours
                check_same_thread=False,  # guarded by self._lock instead
            )
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(SCHEMA)
            except sqlite3.Error:
                conn.close()  # the next call opens afresh
                raise
            self._connection = conn
        return self._connection

    def _close_blocking(self) -> None:
        with self._lock:
            self._closed = True
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def _existing(conn: sqlite3.Connection, event_id: str) -> StoredCallback:
    stored = read_event(conn, event_id)
    if stored is None:  # record() before open(): a bug of the caller, not of the merchant
        raise LookupError(f"callback {event_id!r} is not in the store")
    return stored


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection, begin: str) -> Iterator[None]:
    conn.execute(begin)
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
