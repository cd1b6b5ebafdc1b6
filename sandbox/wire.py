"""Provider-shaped JSON (camelCase, docs/provider-api.md §3) for the sandbox's records."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sandbox import money
from sandbox.clock import iso_utc
from sandbox.records import Deal, Subscription, Withdrawal, WithdrawalError

COMPANY_ID = "sandbox-company"
COMPANY_NAME = "Sandbox Company"
BELONGING_TYPE = "EXTERNAL"

T = TypeVar("T")


def _error(error: WithdrawalError) -> dict[str, Any]:
    return {
        "id": error.id,
        "status": error.status.value,
        "errorResolved": error.resolved,
        "errorMessage": error.message,
    }


def _deal_errors(deal: Deal) -> dict[str, Any]:
    return {
        "withdrawalErrors": [
            {"withdrawalId": w.id, "errors": [_error(e) for e in w.errors]}
            for w in deal.withdrawals
            if w.errors
        ]
    }


def _cancellation(deal: Deal) -> dict[str, Any] | None:
    if deal.cancellation is None:
        return None
    return {
        "canceledByUserId": deal.cancellation.by_user_id,
        "canceledByFirstname": None,
        "canceledByLastname": None,
        "cancelMessage": deal.cancellation.message,
    }


def payout(deal: Deal) -> dict[str, Any]:
    only = deal.withdrawals[0]
    return {
        "id": deal.id,
        "account": deal.account,
        "depositAddress": only.deposit_address,
        "amount": only.amount,
        "currency": deal.currency.code,
        "fee": only.fee,
        "feePercentage": deal.fee_percentage,
        "state": deal.reported_state or deal.state.value,
        "createdDate": iso_utc(deal.created_at),
        "transactionHash": only.transaction_hash,
        "comment": deal.comment,
        "executionDate": iso_utc(deal.execution_date) if deal.execution_date else None,
        "idempotencyKey": deal.idempotency_key,
        "errors": _deal_errors(deal),
        "cancellation": _cancellation(deal),
        "belongingType": BELONGING_TYPE,
        "externalId": deal.external_id,
    }


def mass_payout(deal: Deal) -> dict[str, Any]:
    return {
        "id": deal.id,
        "idempotencyKey": deal.idempotency_key,
        "companyId": COMPANY_ID,
        "account": deal.account,
        "state": deal.reported_state or deal.state.value,
        "comment": deal.comment,
        "name": deal.name,
        "currency": deal.currency.code,
        "totalWithdrawalAmount": money.total([w.amount for w in deal.withdrawals]),
        "totalFee": money.total([w.fee for w in deal.withdrawals]),
        "totalFeePercentage": deal.fee_percentage,
        "executionDate": iso_utc(deal.execution_date) if deal.execution_date else None,
        "errors": _deal_errors(deal),
        "externalId": deal.external_id,
    }


def withdrawal(item: Withdrawal) -> dict[str, Any]:
    return {
        "id": item.id,
        "account": item.account,
        "companyName": COMPANY_NAME,
        "amount": item.amount,
        "currency": item.currency.code,
        "state": item.reported_state or item.state.value,
        "calypsoFee": item.fee,
        "transactionHash": item.transaction_hash,
        "depositAddress": item.deposit_address,
        "comment": item.comment,
        "createdDate": iso_utc(item.created_at),
        "withdrawalErrors": [_error(e) for e in item.errors],
        "belongingType": BELONGING_TYPE,
    }


def subscription(sub: Subscription, *, with_secret: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "requestId": sub.request_id,
        "notificationEventTypes": sub.event_types,
        "notificationServiceTypes": sub.service_types,
        "url": sub.url,
        "publicKey": sub.public_key,
    }
    if with_secret:
        body["secretKey"] = sub.secret_key
    return body


def page(
    records: Sequence[T], page_number: int, size: int, render: Callable[[T], dict[str, Any]]
) -> dict[str, Any]:
    """pageNumber starts at 1; `total` is the number of pages, `totalElements` of items."""
    start = (page_number - 1) * size
    return {
        "result": [render(record) for record in records[start : start + size]],
        "page": page_number,
        "size": size,
        "total": math.ceil(len(records) / size),
        "totalElements": len(records),
    }
