"""Inputs, outputs, signals, updates and the query result of the single payout saga.

Each workflow, signal, update and activity takes one model and returns one. These models travel
through Temporal's pydantic data converter; they never hold credentials.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field, PrivateAttr

from calypso.currencies import FieldProblem, check_execution_date, check_payment
from workflows.approval_models import ApprovalStatus


class SagaState(StrEnum):
    """Where the saga is. The four last ones are final."""

    RECEIVED = "RECEIVED"
    SCHEDULED = "SCHEDULED"  # waiting for the execution date
    CHECKING_FUNDS = "CHECKING_FUNDS"
    WAITING_FOR_FUNDS = "WAITING_FOR_FUNDS"
    # The policy (or its screening) asks people to approve: `payouts approve` / `payouts deny`.
    WAITING_FOR_APPROVAL = "WAITING_FOR_APPROVAL"
    CREATING = "CREATING"
    SUBMITTED = "SUBMITTED"  # the provider has it; following webhooks and polls
    PAYING = "PAYING"  # mass payouts: deals running
    WAITING_TO_RESEND = "WAITING_TO_RESEND"
    # The provider said something we do not know, or has not confirmed in time: the money is
    # held, the saga keeps checking, and an operator may decide (`payouts resolve`).
    NEEDS_REVIEW = "NEEDS_REVIEW"
    COMPLETED = "COMPLETED"
    PARTIAL = "PARTIAL"  # mass payouts: some items paid, some not
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"


FINAL_SAGA_STATES = frozenset(
    {
        SagaState.COMPLETED,
        SagaState.PARTIAL,
        SagaState.FAILED,
        SagaState.CANCELED,
        SagaState.REJECTED,
    }
)


class ResendPolicy(BaseModel):
    """Resend a FAILED payout as a new provider payout (derived key), a bounded number of times."""

    max_resends: int = Field(default=0, ge=0, le=9)
    delay_seconds: float = Field(default=300.0, gt=0)


class SagaOptions(BaseModel):
    """What every saga request takes besides what to pay: when, from which ledger sub-account,
    how to resend, how long to wait for funds, and its idempotency key.

    The public requests extend it (`PayoutRequest`, `MassPayoutRequest`; `starter.api` exports
    them) and each saga's input extends its request with `SagaKnobs`. An input's JSON without the
    knobs is the request fingerprint kept in the saga's memo (`starter.api.idempotent_start`).
    """

    comment: str | None = None
    external_id: str | None = None
    execution_date: datetime | None = None
    ledger_account: str = "default"
    resend: ResendPolicy = Field(default_factory=ResendPolicy)
    # How long to keep re-checking a short balance before giving up as insufficient_funds.
    funds_wait_seconds: float = Field(default=3600.0, ge=0)
    idempotency_key: UUID | None = None  # the API generates one when absent
    # Who asks for this payout (recorded; they may not approve it). Not part of the fingerprint:
    # the same request from another person is still the same payout.
    requested_by: str | None = None
    # Set by `starter.api.checked`: the API checks a request once, however many calls it passes.
    _checked: bool = PrivateAttr(default=False)

    def problems(self) -> list[FieldProblem]:
        """Every reason the API refuses this request before anything starts (empty: none).

        Pure: no network. The workflow checks its own input again."""
        return check_execution_date(self.execution_date)


class SagaKnobs(BaseModel):
    """How this deployment runs a saga, set by the API from its settings: not part of the
    public request, nor of its fingerprint."""

    poll_interval_seconds: float = Field(default=30.0, gt=0)
    notify_merchant: bool = False
    # How long a payout may wait for confirmation at the provider (PENDING_CONFIRMATION) before
    # the saga asks for review; it keeps following and never releases on its own.
    confirmation_wait_seconds: float = Field(default=86400.0, gt=0)


class PayoutRequest(SagaOptions):
    """One payout as a backend service asks for it."""

    deposit_address: str
    amount: Decimal
    currency: str
    max_fee: Decimal | None = None

    def problems(self) -> list[FieldProblem]:
        problems = check_payment(
            currency=self.currency, address=self.deposit_address, amount=self.amount
        )
        problems += super().problems()
        if self.max_fee is not None and self.max_fee < 0:
            problems.append(FieldProblem("max_fee", "must not be negative"))
        if not self.ledger_account.strip():
            problems.append(FieldProblem("ledger_account", "must not be empty"))
        return problems


class PayoutInput(PayoutRequest, SagaKnobs):
    """The single payout saga's input: its request with the key settled, and the knobs."""

    idempotency_key: UUID


class ProviderEvent(BaseModel):
    """A webhook, as the receiver hands it to the saga (signal `provider_event`)."""

    type: str
    provider_key: UUID | None = None
    provider_id: str | None = None
    status: str | None = None
    tx_hash: str | None = None
    occurred_at: datetime | None = None


class TimelineEntry(BaseModel):
    at: datetime
    source: str  # saga | webhook | poll | api | operator
    event: str
    state: str | None = None
    note: str | None = None


class Attempt(BaseModel):
    """One send to the provider (a payout, or a mass deal's items) under its own key."""

    number: int  # 0 = the first send; n > 0 = the n-th resend
    provider_key: UUID
    provider_id: str | None = None
    provider_state: str | None = None
    errors: list[str] = Field(default_factory=list)
    fee: Decimal | None = None
    tx_hash: str | None = None
    items: int | None = None  # mass deals: how many items this attempt sent


class PayoutStatus(BaseModel):
    """Query `status`: everything an operator needs to know where a payout is."""

    key: UUID
    state: SagaState
    provider_state: str | None = None
    provider_id: str | None = None
    amount: Decimal
    currency: str
    deposit_address: str
    fee: Decimal | None = None
    tx_hash: str | None = None
    reason: str | None = None
    detail: str | None = None  # why it is in its current state, e.g. the shortfall while waiting
    errors: list[str] = Field(default_factory=list)
    attempts: list[Attempt] = Field(default_factory=list)
    execution_date: datetime | None = None
    next_poll_at: datetime | None = None
    timeline: list[TimelineEntry] = Field(default_factory=list)
    # Merchant callbacks kept UNDELIVERED (refused, or the retry budget spent), as the saga learnt
    # it; `payouts callbacks list` has their state now, `payouts callbacks replay` resends them.
    undelivered_callbacks: list[str] = Field(default_factory=list)
    # The operator's controls: the policy version the saga was admitted under, who asked, and
    # the approval it waits for (or waited for).
    policy_version: str | None = None
    requested_by: str | None = None
    approval: ApprovalStatus | None = None


class PayoutResult(BaseModel):
    key: UUID
    state: SagaState
    reason: str | None = None
    provider_id: str | None = None
    fee: Decimal | None = None
    tx_hash: str | None = None
    attempts: int = 0


class CancelInput(BaseModel):
    reason: str = "canceled by the merchant"


class CancelResult(BaseModel):
    accepted: bool
    state: SagaState
    message: str


class RescheduleInput(BaseModel):
    execution_date: datetime


class RescheduleResult(BaseModel):
    execution_date: datetime
    message: str


class ResolveInput(BaseModel):
    """An operator's decision on a payout (or a mass item) held for review (update `resolve`)."""

    outcome: Literal["paid", "failed"]
    by: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    item: int | None = Field(default=None, ge=0)  # mass payouts: the item's index in the list


class ResolveResult(BaseModel):
    accepted: bool
    state: SagaState
    message: str
