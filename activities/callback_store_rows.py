"""The callback store's SQLite tables and the code that reads and writes their rows.

Times are UTC ISO-8601 TEXT with microseconds, so they sort as text; the event is kept as the
exact JSON body the merchant receives, and a replay sends the same event again.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from activities.callback_store import (
    AttemptResult,
    CallbackSelection,
    DeliveryAttempt,
    DeliveryState,
    StoredCallback,
)
from activities.callbacks import CallbackEvent
from calypso import wire

SCHEMA = """
CREATE TABLE IF NOT EXISTS callback_events (
    event_id       TEXT PRIMARY KEY,
    payout_key     TEXT NOT NULL,
    kind           TEXT NOT NULL,
    state          TEXT NOT NULL,
    occurred_at    TEXT NOT NULL,
    body           TEXT NOT NULL,
    delivery       TEXT NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    first_seen_at  TEXT NOT NULL,
    last_attempt_at TEXT,
    delivered_at   TEXT,
    undelivered_at TEXT,
    last_error     TEXT
);
CREATE INDEX IF NOT EXISTS callback_events_by_key ON callback_events (payout_key, occurred_at);
CREATE INDEX IF NOT EXISTS callback_events_by_delivery ON callback_events (delivery, occurred_at);
CREATE TABLE IF NOT EXISTS callback_attempts (
    event_id    TEXT NOT NULL REFERENCES callback_events (event_id),
    number      INTEGER NOT NULL,
    at          TEXT NOT NULL,
    via         TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    http_status INTEGER,
    error       TEXT,
    PRIMARY KEY (event_id, number)
);
"""

EVENT_COLUMNS = (
    "event_id, payout_key, kind, state, occurred_at, body, delivery, attempts, first_seen_at, "
    "last_attempt_at, delivered_at, undelivered_at, last_error"
)
ERROR_KEPT = 500  # characters of an error message kept per attempt


def insert_event(conn: sqlite3.Connection, event: CallbackEvent, now: datetime) -> None:
    """Add the event as PENDING; an event already there is left as it is."""
    conn.execute(
        "INSERT INTO callback_events (event_id, payout_key, kind, state, occurred_at, body, "
        "delivery, first_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            event.event_id,
            event.payout_key,
            event.kind,
            event.state,
            _text(event.occurred_at),
            event.to_body().decode(),
            DeliveryState.PENDING,
            _text(now),
        ),
    )


def append_attempt(
    conn: sqlite3.Connection,
    stored: StoredCallback,
    attempt: AttemptResult,
    final: DeliveryState | None,
) -> None:
    number = stored.attempts + 1
    error = attempt.error[:ERROR_KEPT] if attempt.error else None
    conn.execute(
        "INSERT INTO callback_attempts (event_id, number, at, via, outcome, http_status, error) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (stored.event_id, number, _text(attempt.at), attempt.via, attempt.outcome,
         attempt.http_status, error),
    )  # fmt: skip
    delivery = _next_delivery(stored.delivery, final)
    undelivered_at = stored.undelivered_at
    if final is DeliveryState.UNDELIVERED and delivery is DeliveryState.UNDELIVERED:
        undelivered_at = attempt.at
    conn.execute(
        "UPDATE callback_events SET attempts = ?, last_attempt_at = ?, last_error = ?, "
        "delivery = ?, delivered_at = COALESCE(delivered_at, ?), undelivered_at = ? "
        "WHERE event_id = ?",
        (
            number,
            _text(attempt.at),
            error,
            delivery,
            _text(attempt.at) if delivery is DeliveryState.DELIVERED else None,
            _text(undelivered_at) if undelivered_at is not None else None,
            stored.event_id,
        ),
    )


def _next_delivery(current: DeliveryState, final: DeliveryState | None) -> DeliveryState:
    """DELIVERED is final; anything may become DELIVERED; UNDELIVERED only what is not."""
    if final is None or current is DeliveryState.DELIVERED:
        return current
    return final


def read_event(conn: sqlite3.Connection, event_id: str) -> StoredCallback | None:
    query = f"SELECT {EVENT_COLUMNS} FROM callback_events WHERE event_id = ?"  # noqa: S608
    row = conn.execute(query, (event_id,)).fetchone()
    return _stored(row) if row else None


def select_events(
    conn: sqlite3.Connection,
    selection: CallbackSelection | None,
    limit: int,
    newest_first: bool,
) -> list[StoredCallback]:
    where, params = _where(selection)
    order = "DESC" if newest_first else "ASC"
    rows = conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM callback_events {where} "  # noqa: S608 - values are bound
        f"ORDER BY occurred_at {order}, rowid {order} LIMIT ?",
        (*params, limit),
    ).fetchall()
    return [_stored(row) for row in rows]


def read_attempts(conn: sqlite3.Connection, event_id: str) -> list[DeliveryAttempt]:
    rows = conn.execute(
        "SELECT number, at, via, outcome, http_status, error FROM callback_attempts "
        "WHERE event_id = ? ORDER BY number",
        (event_id,),
    ).fetchall()
    return [
        DeliveryAttempt(
            event_id=event_id,
            number=number,
            at=datetime.fromisoformat(at),
            via=via,
            outcome=outcome,
            http_status=http_status,
            error=error,
        )
        for number, at, via, outcome, http_status, error in rows
    ]


def _where(selection: CallbackSelection | None) -> tuple[str, list[Any]]:
    if selection is None:
        return "", []
    clauses: list[str] = []
    params: list[Any] = []
    if selection.event_ids:
        clauses.append(f"event_id IN ({', '.join('?' * len(selection.event_ids))})")
        params += selection.event_ids
    if selection.payout_key:
        clauses.append("payout_key = ?")
        params.append(selection.payout_key)
    if selection.undelivered_only:
        clauses.append("delivery = ?")
        params.append(DeliveryState.UNDELIVERED.value)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def _stored(row: tuple[Any, ...]) -> StoredCallback:
    (event_id, payout_key, kind, state, occurred_at, body, delivery, attempts, first_seen_at,
     last_attempt_at, delivered_at, undelivered_at, last_error) = row  # fmt: skip
    return StoredCallback(
        event_id=event_id,
        payout_key=payout_key,
        kind=kind,
        state=state,
        occurred_at=datetime.fromisoformat(occurred_at),
        delivery=DeliveryState(delivery),
        attempts=attempts,
        first_seen_at=datetime.fromisoformat(first_seen_at),
        last_attempt_at=_time(last_attempt_at),
        delivered_at=_time(delivered_at),
        undelivered_at=_time(undelivered_at),
        last_error=last_error,
        event=CallbackEvent.model_validate(wire.loads(body.encode())),
    )


def _text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None
