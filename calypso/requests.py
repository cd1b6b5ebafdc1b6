"""The request bodies of the Calypso payout, account, tariff and webhook-subscription API, as this
client sends them (docs/provider-api.md §3, §5, §6): camelCase on the wire, no unset optionals,
amounts as exact Decimals. The responses and states are in `calypso/models.py`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from calypso.models import IsoDatetime, Money, UuidStr, WireModel


class CreatePayoutRequest(WireModel):
    deposit_address: str
    amount: Money
    currency: str
    idempotency_key: UuidStr
    comment: str | None = None
    execution_date: IsoDatetime | None = None
    external_id: str | None = None


class PayoutLookup(WireModel):
    """Find a payout (or mass payout) by provider id or by our idempotency key."""

    id: str | None = None
    idempotency_key: UuidStr | None = None


class CancelPayoutRequest(WireModel):
    deal_id: str
    idempotency_key: UuidStr | None = None
    message: str | None = None


class ListPayoutsRequest(WireModel):
    state_names: list[str] | None = None
    is_execution_date_in_future: bool | None = None
    page_number: int = 1
    size: int = 50


class MassAddress(WireModel):
    deposit_address: str
    amount: Money
    comment: str | None = None


class CreateMassPayoutRequest(WireModel):
    currency: str
    mass_addresses: list[MassAddress]
    idempotency_key: UuidStr
    name: str | None = None
    comment: str | None = None
    execution_date: IsoDatetime | None = None
    external_id: str | None = None


class WithdrawalLookup(WireModel):
    request_id: str


class ListWithdrawalsRequest(WireModel):
    state_names: list[str] | None = None
    page_number: int = 1
    page_size: int = 100
    deal_id: str | None = None
    idempotency_key: UuidStr | None = None


class FeeQuoteItem(WireModel):
    base_amount: Money
    currency: str
    op_type: Literal["WITHDRAWAL"] = "WITHDRAWAL"
    fee_type: str | None = None


class FeeQuoteRequest(WireModel):
    items: list[FeeQuoteItem]


class CreateWebhookSubscriptionRequest(WireModel):
    request_id: UuidStr
    notification_event_types: list[str] = Field(default_factory=list)
    notification_service_types: list[str] = Field(default_factory=lambda: ["PAYOUT"])
    url: str


class DeleteWebhookSubscriptionRequest(WireModel):
    request_id: UuidStr
