"""pydantic v2 models of every Calypso response, webhook message and state; the requests are in
`calypso/requests.py`.

Field names are snake_case in Python and camelCase on the wire. Responses ignore unknown fields and
accept both fee namings (`fee` and the older `calypsoFee`). States stay plain strings on responses
so that a state the provider adds later does not break parsing; `PayoutState` names the known ones.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel

from calypso.errors import UnexpectedResponseError


def _reject_float(value: Any) -> Any:
    # A float has already lost the exact amount; refuse it instead of carrying the error along.
    if isinstance(value, float):
        raise ValueError("amounts must be Decimal, int or str, never float")
    return value


def _int_to_str(value: Any) -> Any:
    # Ids are strings in the docs, but an integer from the field must not fail a whole response.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Money = Annotated[Decimal, BeforeValidator(_reject_float)]
IdStr = Annotated[str, BeforeValidator(_int_to_str)]
IsoDatetime = Annotated[datetime, PlainSerializer(lambda value: value.isoformat(), return_type=str)]
UuidStr = Annotated[UUID, PlainSerializer(str, return_type=str)]


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


# Every state the client knows; anything else the provider says is unknown, and unknown never
# moves money (docs/provider-api.md §8).
KNOWN_PAYOUT_STATES = frozenset(PayoutState)
# The states after which the provider does nothing more with a payout.
FINAL_PAYOUT_STATES = frozenset(
    {PayoutState.COMPLETED, PayoutState.FAILED, PayoutState.CANCELED, PayoutState.PARTIAL}
)


class WithdrawalState(StrEnum):
    """A withdrawal's (a mass item's) states: the provider documents only DRAFT; the others are
    the sandbox's reading of the docs (docs/provider-api.md §4). Anything else is unknown."""

    DRAFT = "DRAFT"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


class WebhookEventType(StrEnum):
    PAYOUT_CHANGE_STATUS = "PAYOUT_CHANGE_STATUS"
    PAYOUT_CONFIRMED = "PAYOUT_CONFIRMED"
    PAYOUT_HASH_RECEIVED = "PAYOUT_HASH_RECEIVED"
    PAYOUT_VALIDATION_ERROR = "PAYOUT_VALIDATION_ERROR"


class WireModel(BaseModel):
    """Base: camelCase aliases, construction by Python name, unknown response fields ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def to_wire(self) -> dict[str, Any]:
        """The payload as sent: camelCase, no unset optionals, Decimals kept exact."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="python")


# --- requests (docs/provider-api.md §3, §5, §6) ---------------------------------------------------


# --- responses ------------------------------------------------------------------------------------


class WithdrawalError(WireModel):
    id: IdStr | None = None
    status: str | None = None
    error_resolved: bool | None = None
    error_message: str | None = None


class WithdrawalErrors(WireModel):
    withdrawal_id: IdStr | None = None
    errors: list[WithdrawalError] = Field(default_factory=list)


class PayoutErrors(WireModel):
    withdrawal_errors: list[WithdrawalErrors] = Field(default_factory=list)


class Cancellation(WireModel):
    canceled_by_user_id: str | None = None
    canceled_by_firstname: str | None = None
    canceled_by_lastname: str | None = None
    cancel_message: str | None = None


class Payout(WireModel):
    id: IdStr
    state: str
    account: str | None = None
    deposit_address: str | None = None
    amount: Money | None = None
    currency: str | None = None
    fee: Money | None = Field(default=None, validation_alias=AliasChoices("fee", "calypsoFee"))
    fee_percentage: Money | None = Field(
        default=None, validation_alias=AliasChoices("feePercentage", "calypsoFeePercentage")
    )
    created_date: datetime | None = None
    transaction_hash: str | None = None
    comment: str | None = None
    execution_date: datetime | None = None
    idempotency_key: str | None = None
    errors: PayoutErrors | None = None
    cancellation: Cancellation | None = None
    belonging_type: str | None = None
    external_id: str | None = None


class MassPayout(WireModel):
    id: IdStr
    state: str
    idempotency_key: str | None = None
    company_id: str | None = None
    account: str | None = None
    comment: str | None = None
    name: str | None = None
    currency: str | None = None
    total_withdrawal_amount: Money | None = None
    total_fee: Money | None = Field(
        default=None, validation_alias=AliasChoices("totalFee", "totalCalypsoFee")
    )
    total_fee_percentage: Money | None = Field(
        default=None,
        validation_alias=AliasChoices("totalFeePercentage", "totalCalypsoFeePercentage"),
    )
    execution_date: datetime | None = None
    errors: PayoutErrors | None = None
    external_id: str | None = None


class Withdrawal(WireModel):
    id: IdStr
    state: str
    account: str | None = None
    company_name: str | None = None
    amount: Money | None = None
    currency: str | None = None
    calypso_fee: Money | None = Field(
        default=None, validation_alias=AliasChoices("calypsoFee", "fee")
    )
    transaction_hash: str | None = None
    deposit_address: str | None = None
    comment: str | None = None
    created_date: datetime | None = None
    withdrawal_errors: list[WithdrawalError] = Field(default_factory=list)
    belonging_type: str | None = None


ItemT = TypeVar("ItemT", bound=WireModel)


class Page(WireModel, Generic[ItemT]):
    result: list[ItemT] = Field(default_factory=list)
    page: int | None = None
    size: int | None = None
    total: int | None = None
    total_elements: int | None = None


class Balance(WireModel):
    currency: str
    amount: Money


class Account(WireModel):
    account: str | None = None
    name: str | None = None
    owner_id: str | None = None
    balances: list[Balance] = Field(default_factory=list)

    def balance_of(self, currency: str) -> Decimal:
        """The balance in `currency`, zero when the account holds none."""
        return next((b.amount for b in self.balances if b.currency == currency), Decimal(0))


class FeeSide(WireModel):
    amount: Money
    fee: Money


class FeeQuote(WireModel):
    amount: Money
    currency: str
    op_type: str | None = None
    fee_receiver: FeeSide | None = None
    fee_sender: FeeSide | None = None


class FeeQuoteResult(WireModel):
    items: list[FeeQuote] = Field(default_factory=list)

    def sender_fees(self, expected: int) -> list[Decimal]:
        """The fee added on top of each quoted item, in order; every item must have one."""
        fees = [item.fee_sender.fee for item in self.items if item.fee_sender is not None]
        if len(self.items) != expected or len(fees) != expected:
            raise UnexpectedResponseError(
                f"the tariff quoted {len(fees)} sender fees for {expected} items"
            )
        return fees


class WebhookSubscription(WireModel):
    request_id: str
    url: str
    notification_event_types: list[str] = Field(default_factory=list)
    notification_service_types: list[str] = Field(default_factory=list)
    public_key: str | None = None
    secret_key: str | None = Field(default=None, repr=False)


class WebhookEvent(WireModel):
    """A payout notification as the provider delivers it (docs/provider-api.md §6)."""

    type: str
    parent_external_id: IdStr | None = None
    payout_status: str | None = None
    hash: str | None = None
    created_date: datetime | None = None
    idempotency_key: str | None = None
    currency: str | None = None
    external_id: str | None = None
