"""The ledger's side of a reconciliation: entries by key, and every reservation still held.

Only a ledger that can be listed takes part (the embedded SQLite one); with the HTTP ledger or
none, the report says `ledger_checked: false` and compares the provider with the sagas alone.
Keys are the sagas' own: a single payout's idempotency key, a mass item's `<mass key>/item/<n>`.
Both start with a hex digit, so the reservations are read a first digit at a time.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from activities.ledger import LedgerEntry, LedgerRecord
from activities.reconcile_findings import beat
from workflows.keys import mass_payout_workflow_id, single_payout_workflow_id

HEX_DIGITS = "0123456789abcdef"
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_SINGLE_KEY = re.compile(rf"^({_UUID})$")
_ITEM_KEY = re.compile(rf"^({_UUID})/item/(\d+)$")


@runtime_checkable
class ListableLedger(Protocol):
    async def entry(self, key: str) -> LedgerEntry | None: ...

    async def reserved_under(self, prefix: str) -> list[LedgerRecord]: ...


@dataclass
class HeldReservation:
    """What one saga still holds: a single payout's entry, or a mass payout's reserved items."""

    workflow_id: str
    key: str
    currency: str | None
    amount: Decimal
    items: list[int]
    latest: datetime  # when the newest of its entries was reserved


def listable(ledger: object) -> ListableLedger | None:
    return ledger if isinstance(ledger, ListableLedger) else None


def item_key(mass_key: str, index: int) -> str:
    return f"{mass_key}/item/{index}"


async def held_reservations(ledger: ListableLedger) -> tuple[int, list[HeldReservation]]:
    """Every RESERVED entry (how many), grouped by the saga that reserved it. Entries whose key
    no saga of ours writes are left out."""
    records: list[LedgerRecord] = []
    for digit in HEX_DIGITS:
        records += await ledger.reserved_under(digit)
        beat(f"reservations read: {len(records)}")
    held: dict[str, HeldReservation] = {}
    for record in records:
        owner = _owner(record.key)
        if owner is None:
            continue
        workflow_id, key, index = owner
        group = held.setdefault(
            workflow_id,
            HeldReservation(workflow_id, key, None, Decimal(0), [], record.updated_at),
        )
        group.currency = group.currency or record.currency
        group.amount += record.amount
        group.latest = max(group.latest, record.updated_at)
        if index is not None:
            group.items.append(index)
    for group in held.values():
        group.items.sort()
    return len(records), list(held.values())


def _owner(key: str) -> tuple[str, str, int | None] | None:
    """(the saga's workflow id, its key, the item index) of a ledger key of ours."""
    if single := _SINGLE_KEY.match(key):
        return single_payout_workflow_id(uuid.UUID(single.group(1))), single.group(1), None
    if item := _ITEM_KEY.match(key):
        owner = mass_payout_workflow_id(uuid.UUID(item.group(1)))
        return owner, item.group(1), int(item.group(2))
    return None
