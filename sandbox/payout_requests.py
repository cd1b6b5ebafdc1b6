"""Turn a create / mass-create payload into a new deal, validating like the provider.

Checks run in a fixed order so one request always earns the same error: required fields and
types (001), currency (014), item limit (001, mass), amount sign and scale (001), address
shape (015), optional fields (001), then the idempotencyKey (016)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox import fields
from sandbox.currencies import Currency
from sandbox.errors import ApiError, ErrorCode, bad_request
from sandbox.records import Deal, DealKind, PayoutState, Withdrawal
from sandbox.state import SandboxState

JsonObject = dict[str, Any]


def single_payout_from(state: SandboxState, account: str, payload: JsonObject) -> Deal:
    fields.required_text(payload, "depositAddress", "payload")
    fields.number(payload, "amount", "payload")
    currency = fields.currency(payload, "currency", "payload")
    amount = fields.amount_for(payload, "amount", "payload", currency)
    address = fields.deposit_address(payload, "depositAddress", "payload", currency)
    deal = _new_deal(state, account, payload, DealKind.SINGLE, currency, PayoutState.CREATED)
    deal.withdrawals.append(_withdrawal(state, deal, address, amount, deal.comment))
    return deal


def mass_payout_from(state: SandboxState, account: str, payload: JsonObject) -> Deal:
    currency = fields.currency(payload, "currency", "payload")
    items = payload.get("massAddresses")
    if not isinstance(items, list) or not items:
        raise bad_request("payload.massAddresses", "must be a non-empty array")
    limit = state.config.item_limits[currency.code]
    if len(items) > limit:
        raise bad_request(
            "payload.massAddresses",
            f"{len(items)} items exceed the limit of {limit} per mass payout for {currency.code}",
        )
    recipients = [_mass_item(item, index, currency) for index, item in enumerate(items)]
    name = fields.optional_text(payload, "name", "payload")
    deal = _new_deal(
        state, account, payload, DealKind.MASS, currency, PayoutState.CREATION_IN_PROGRESS
    )
    deal.name = name
    for address, amount, comment in recipients:
        deal.withdrawals.append(_withdrawal(state, deal, address, amount, comment))
    return deal


def _mass_item(item: Any, index: int, currency: Currency) -> tuple[str, Decimal, str | None]:
    where = f"payload.massAddresses[{index}]"
    if not isinstance(item, dict):
        raise bad_request(where, "must be an object with depositAddress and amount")
    fields.required_text(item, "depositAddress", where)
    amount = fields.amount_for(item, "amount", where, currency)
    address = fields.deposit_address(item, "depositAddress", where, currency)
    return address, amount, fields.optional_text(item, "comment", where)


def _new_deal(
    state: SandboxState,
    account: str,
    payload: JsonObject,
    kind: DealKind,
    currency: Currency,
    initial: PayoutState,
) -> Deal:
    comment = fields.optional_text(payload, "comment", "payload")
    external_id = fields.optional_text(payload, "externalId", "payload")
    execution_date = fields.optional_datetime(payload, "executionDate", "payload")
    key = fields.optional_uuid(payload, "idempotencyKey", "payload")
    if key is not None and state.idempotency_key_taken(account, key):
        raise ApiError(
            ErrorCode.DUPLICATE,
            f"payload.idempotencyKey: {key} already exists (payout not created)",
        )
    return Deal(
        id=state.new_id(),
        kind=kind,
        account=account,
        currency=currency,
        state=initial,
        created_at=state.clock.now(),
        fee_percentage=state.tariffs[currency.code].percent,
        withdrawals=[],
        idempotency_key=key,
        external_id=external_id,
        comment=comment,
        execution_date=execution_date,
    )


def _withdrawal(
    state: SandboxState, deal: Deal, address: str, amount: Decimal, comment: str | None
) -> Withdrawal:
    return Withdrawal(
        id=state.new_id(),
        deal_id=deal.id,
        account=deal.account,
        currency=deal.currency,
        amount=amount,
        fee=state.fee_for(deal.currency, amount),
        deposit_address=address,
        comment=comment,
        created_at=deal.created_at,
    )
