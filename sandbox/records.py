"""What the sandbox remembers: payouts ("deals"), their withdrawals and webhook subscriptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sandbox.currencies import Currency


class DealKind(StrEnum):
    SINGLE = "single"
    MASS = "mass"


class PayoutState(StrEnum):
    CREATION_IN_PROGRESS = "CREATION_IN_PROGRESS"
    CREATED = "CREATED"
    PENDING_CONFIRMATION = "PENDING_CONFIRMATION"
    CONFIRMED = "CONFIRMED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    PARTIAL = "PARTIAL"


TERMINAL_STATES = frozenset(
    {PayoutState.COMPLETED, PayoutState.FAILED, PayoutState.CANCELED, PayoutState.PARTIAL}
)
# Before the payout is handed to the network it can still be called back (docs/provider-api.md §4).
CANCELLABLE_STATES = frozenset(
    {
        PayoutState.CREATED,
        PayoutState.CREATION_IN_PROGRESS,
        PayoutState.PENDING_CONFIRMATION,
        PayoutState.CONFIRMED,
    }
)


class WithdrawalState(StrEnum):
    DRAFT = "DRAFT"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


class EventType(StrEnum):
    CHANGE_STATUS = "PAYOUT_CHANGE_STATUS"
    CONFIRMED = "PAYOUT_CONFIRMED"
    HASH_RECEIVED = "PAYOUT_HASH_RECEIVED"
    VALIDATION_ERROR = "PAYOUT_VALIDATION_ERROR"


class FundsStatus(StrEnum):
    """The documented error `status` values are outcomes of the funds check; other failures
    (scenario addresses) keep `SUCCESS` there and explain themselves in `errorMessage`."""

    SUCCESS = "SUCCESS"
    NOT_ENOUGH_FUNDS = "NOT_ENOUGH_FUNDS"


@dataclass
class WithdrawalError:
    id: str
    status: FundsStatus
    message: str
    resolved: bool = False


@dataclass
class Withdrawal:
    id: str
    deal_id: str
    account: str
    currency: Currency
    amount: Decimal
    fee: Decimal
    deposit_address: str
    comment: str | None
    created_at: datetime
    state: WithdrawalState = WithdrawalState.DRAFT
    transaction_hash: str | None = None
    errors: list[WithdrawalError] = field(default_factory=list)
    # Event-loop time at which the (emulated) network answers for this transaction.
    network_answer_at: float | None = None
    # What the API says the state is, when a test makes it say something else (any word):
    # the real provider documents only DRAFT for a withdrawal. None: the true state.
    reported_state: str | None = None


@dataclass
class Cancellation:
    message: str | None
    by_user_id: str


@dataclass
class Deal:
    """A single payout (one withdrawal) or a mass payout (one withdrawal per item)."""

    id: str
    kind: DealKind
    account: str
    currency: Currency
    state: PayoutState
    created_at: datetime
    fee_percentage: Decimal
    withdrawals: list[Withdrawal]
    idempotency_key: str | None = None
    external_id: str | None = None
    comment: str | None = None
    name: str | None = None
    execution_date: datetime | None = None
    cancellation: Cancellation | None = None
    history: list[tuple[PayoutState, datetime]] = field(default_factory=list)
    # Event-loop time of the next automatic step; None while waiting for someone else
    # (a confirmation, or nothing at all once terminal).
    next_step_at: float | None = None
    reported_state: str | None = None  # as on Withdrawal: what the API says instead of `state`

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def transaction_hash(self) -> str | None:
        return self.withdrawals[0].transaction_hash if self.kind is DealKind.SINGLE else None


@dataclass
class Subscription:
    request_id: str
    account: str
    event_types: list[str]
    service_types: list[str]
    url: str
    public_key: str
    secret_key: str

    def wants(self, event_type: EventType) -> bool:
        return event_type.value in self.event_types or "PAYOUT" in self.service_types
