"""Input and report of a reconciliation: the provider, the sagas and the ledger over a window.

The report is the `Reconcile` workflow's result, `payouts reconcile --json` prints it, and
`--output` writes it as JSON or as CSV (one row per discrepancy, `CSV_COLUMNS`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

DEFAULT_WINDOW_SECONDS = 86400.0  # a day back, unless --since says otherwise
# A saga still running this long after its provider payout was created, while the provider has
# finished it, is reported; younger ones are in flight and only counted.
DEFAULT_STALE_AFTER_SECONDS = 3600.0
MAX_LISTED = 2000  # discrepancies listed in one report; `omitted` counts the rest


class DiscrepancyKind(StrEnum):
    PAID_NOT_COMPLETED = "paid_not_completed"
    COMPLETED_NOT_PAID = "completed_not_paid"
    UNKNOWN_PROVIDER_PAYOUT = "unknown_provider_payout"
    RESERVATION_HELD_BY_ENDED_SAGA = "reservation_held_by_ended_saga"
    MISMATCH = "mismatch"


class ReconcileInput(BaseModel):
    """`since` (timezone-aware) or, when absent, `window_seconds` back from the run's start: a
    schedule's runs each look back the same span."""

    since: datetime | None = None
    window_seconds: float = Field(default=DEFAULT_WINDOW_SECONDS, gt=0)
    stale_after_seconds: float = Field(default=DEFAULT_STALE_AFTER_SECONDS, ge=0)


class ReconcileRequest(BaseModel):
    """What the workflow asks its activity: the window settled, and whose sagas to compare."""

    since: datetime
    task_queue: str
    stale_after_seconds: float = DEFAULT_STALE_AFTER_SECONDS


class Discrepancy(BaseModel):
    """One thing that does not agree. Which fields are set depends on the kind: a provider payout
    nobody started has no saga; a held reservation has no provider payout."""

    kind: DiscrepancyKind
    detail: str  # one sentence for people
    workflow_id: str | None = None  # payout-<key>, mass-deal-<deal key>, mass-payout-<key>
    key: str | None = None  # the saga's key, or the provider's idempotencyKey when no saga has it
    provider_id: str | None = None
    provider_kind: Literal["single", "mass"] | None = None
    provider_state: str | None = None
    saga_state: str | None = None  # PayoutState, or the workflow's status when it says more
    # mismatch: what differs — with the saga `amount`, `currency`, `address`, `fee` (a mass
    # deal's items); with the ledger `ledger.amount`, `ledger.fee`, `ledger.currency`,
    # `ledger.state` (not settled although paid), `ledger.items` (a mass deal's paid items)
    field: str | None = None
    provider_value: str | None = None
    our_value: str | None = None  # the saga's or the ledger's
    currency: str | None = None
    amount: Decimal | None = None  # the money concerned
    items: list[int] = Field(default_factory=list)  # mass payouts: the item indexes concerned


class ReconcileReport(BaseModel):
    since: datetime
    generated_at: datetime
    task_queue: str
    provider_payouts: int = 0  # single payouts at the provider in the window
    provider_mass_payouts: int = 0
    sagas: int = 0  # single payouts and mass deals of the task queue in the window
    reservations_checked: int = 0  # RESERVED ledger entries looked at
    in_flight: int = 0  # provider payouts whose saga is still following them
    ledger_checked: bool = True  # False when the ledger cannot be listed (http, none)
    discrepancies: list[Discrepancy] = Field(default_factory=list)
    omitted: int = 0  # beyond MAX_LISTED

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> int:
        return len(self.discrepancies) + self.omitted

    @computed_field  # type: ignore[prop-decorator]
    @property
    def counts(self) -> dict[str, int]:
        """Discrepancies per kind, every kind present (listed ones only when some are omitted)."""
        counted = {kind.value: 0 for kind in DiscrepancyKind}
        for found in self.discrepancies:
            counted[found.kind.value] += 1
        return counted

    @property
    def clean(self) -> bool:
        return self.total == 0


CSV_COLUMNS = (
    "kind",
    "workflow_id",
    "key",
    "provider_kind",
    "provider_id",
    "provider_state",
    "saga_state",
    "field",
    "provider_value",
    "our_value",
    "currency",
    "amount",
    "items",
    "detail",
)


def csv_row(found: Discrepancy) -> dict[str, Any]:
    """One CSV row: plain text, item indexes space-separated, empty for what is not set."""
    row = found.model_dump(mode="python")
    row["items"] = " ".join(str(index) for index in found.items)
    return {column: "" if row[column] is None else str(row[column]) for column in CSV_COLUMNS}
