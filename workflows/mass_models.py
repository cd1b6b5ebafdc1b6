"""Inputs, outputs and queries of the mass payout saga and its per-deal child workflows.

A 100,000-recipient list travels as columns (one list per field) rather than 100,000 objects:
it is a fraction of the memory in the worker, and the payload converter offloads it whole to
external storage. Deals get their slice as ordinary items.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, Field, model_validator
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.mass_items import ItemOutcome, ItemState, MassItem

from workflows.approval_models import ApprovalStatus
from workflows.payout_models import (
    Attempt,
    ResendPolicy,
    SagaKnobs,
    SagaOptions,
    SagaState,
    TimelineEntry,
)

__all__ = ["ItemOutcome", "ItemState", "MassItem"]  # re-exported: part of the saga's contract


class Recipients(BaseModel):
    """The list, column by column; position i of every column is recipient i."""

    addresses: list[str]
    amounts: list[Decimal]
    comments: list[str | None]
    references: list[str | None]

    @model_validator(mode="after")
    def _same_length(self) -> Recipients:
        lengths = {len(self.addresses), len(self.amounts), len(self.comments), len(self.references)}
        if len(lengths) != 1:
            raise ValueError("recipient columns must have the same length")
        return self

    def __len__(self) -> int:
        return len(self.addresses)

    def items(self, start: int, stop: int) -> list[MassItem]:
        return [
            MassItem(
                index=i,
                address=self.addresses[i],
                amount=self.amounts[i],
                comment=self.comments[i],
                reference=self.references[i],
            )
            for i in range(start, min(stop, len(self)))
        ]


class MassPayoutRequest(SagaOptions):
    """A mass payout as a backend service asks for it: one currency, a list checked row by row
    when it was built (`starter.api.recipients_from_rows`, `parse_mass_csv`)."""

    currency: str
    recipients: Recipients
    name: str | None = None
    items_per_deal: int | None = Field(default=None, ge=1)  # None: the currency's default
    max_parallel_deals: int = Field(default=10, ge=1)
    # Each deal costs the parent about ten history events: after this many deals the run
    # continues as new, so no run comes near Temporal's 10,240-event warning.
    deals_per_run: int = Field(default=500, ge=1)


class MassPayoutInput(MassPayoutRequest, SagaKnobs):
    """The mass payout saga's input: its request with the key settled, and the knobs."""

    idempotency_key: UUID
    resume: MassResume | None = None  # set by continue-as-new: where the previous run stopped


class MassResume(BaseModel):
    """What a mass payout's next run needs from the one before: the tallies so far."""

    deals: list[DealSummary]
    counts: dict[ItemState, int]
    amounts: dict[str, Decimal]
    sent: int
    not_cancelable: list[int]
    timeline: list[TimelineEntry]
    refused: list[int] = Field(default_factory=list)  # items the controls refused (never paid)


class DealInput(BaseModel):
    mass_key: UUID
    deal_index: int
    deal_key: UUID  # the provider idempotency key of the deal's first attempt
    currency: str
    items: list[MassItem]
    name: str | None = None
    comment: str | None = None
    ledger_account: str = "default"
    resend: ResendPolicy = Field(default_factory=ResendPolicy)
    poll_interval_seconds: float = 30.0
    confirmation_wait_seconds: float = 86400.0


class DealReview(BaseModel):
    """A deal tells its mass payout that it waits for review (`note`), or no longer does (None)."""

    deal_index: int
    note: str | None = None


class DealResult(BaseModel):
    deal_index: int
    state: SagaState
    attempts: list[Attempt] = Field(default_factory=list)
    outcomes: list[ItemOutcome] = Field(default_factory=list)
    cancel_refused: bool = False  # a cancel came too late for some items


class DealCancelInput(BaseModel):
    reason: str


class DealSummary(BaseModel):
    index: int
    workflow_id: str
    first_item: int
    items: int
    state: str  # PENDING, RUNNING, or the deal's final SagaState
    attempts: int = 0


class MassProgress(BaseModel):
    """Query `progress`: counts and amounts by item state, and every deal's state."""

    key: UUID
    state: SagaState
    currency: str
    items: int
    total: Decimal
    counts: dict[ItemState, int]
    paid: Decimal
    failed: Decimal
    released: Decimal
    fees: Decimal
    provider_deals_sent: int
    deals: list[DealSummary]
    reason: str | None = None
    execution_date: datetime | None = None
    timeline: list[TimelineEntry] = Field(default_factory=list)
    undelivered_callbacks: list[str] = Field(default_factory=list)  # as PayoutStatus's
    policy_version: str | None = None  # as PayoutStatus's
    requested_by: str | None = None
    approval: ApprovalStatus | None = None


class MassPayoutResult(BaseModel):
    key: UUID
    state: SagaState
    reason: str | None = None
    counts: dict[ItemState, int]
    paid: Decimal
    released: Decimal
    fees: Decimal
    deals: list[DealSummary]
    not_cancelable: list[int] = Field(default_factory=list)  # items a cancel came too late for


class MassCancelResult(BaseModel):
    accepted: bool
    state: SagaState
    message: str
    not_cancelable: list[int] = Field(default_factory=list)


MassPayoutInput.model_rebuild()
