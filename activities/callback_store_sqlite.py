"""The embedded callback store: one SQLite file (PAYOUTS_CALLBACK_STORE), shared by the worker
processes of one machine and the CLI.

Two tables: `callback_events` (one row per event: the exact event, its delivery state and
counters) and `callback_attempts` (one row per POST). Each write is one `BEGIN IMMEDIATE`
transaction in WAL mode, in a thread (`asyncio.to_thread`), as the embedded ledger does. The
schema only ever adds (`IF NOT EXISTS`). `":memory:"` keeps a private store, for tests.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from datetime import datetime
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
from activities.sqlite_file import MEMORY as MEMORY  # part of this module's API
from activities.sqlite_file import SqliteFile

ResultT = TypeVar("ResultT")


class SqliteCallbackStore:
    """A `CallbackStore` in the SQLite file at `path` (parent directories are created)."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_seconds: float = 5.0) -> None:
        self.path = str(path)
        self._file = SqliteFile(
            self.path,
            SCHEMA,
            name="callback store",
            unavailable=CallbackStoreUnavailableError,
            busy_timeout_seconds=busy_timeout_seconds,
        )

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
        await self._file.close()

    async def _run(
        self, operation: Callable[[sqlite3.Connection], ResultT], *, write: bool = True
    ) -> ResultT:
        return await self._file.run(operation, write=write)


def _existing(conn: sqlite3.Connection, event_id: str) -> StoredCallback:
    stored = read_event(conn, event_id)
    if stored is None:  # record() before open(): a bug of the caller, not of the merchant
        raise LookupError(f"callback {event_id!r} is not in the store")
    return stored
