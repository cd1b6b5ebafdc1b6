"""Provider endpoints: account balance and fee tariff (§5), webhook subscriptions (§6)."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

import structlog
from fastapi import FastAPI

from sandbox import fields, money, wire
from sandbox.auth import ApiCall
from sandbox.errors import ApiError, ErrorCode, bad_request
from sandbox.gateway import add_api_route
from sandbox.records import EventType, Subscription
from sandbox.runtime import SandboxRuntime

log = structlog.get_logger("sandbox.api")

ACCOUNT_NAME = "Sandbox account"
OWNER_ID = "sandbox-owner"
_EVENT_TYPES = {event.value for event in EventType}
# The sandbox only emulates payouts, so PAYOUT is the only service one can subscribe to.
_SERVICE_TYPES = {"PAYOUT"}


class AccountApi:
    def __init__(self, runtime: SandboxRuntime) -> None:
        self._runtime = runtime
        self._state = runtime.state

    def register(self, app: FastAPI) -> None:
        add = add_api_route
        add(app, self._runtime, "/api/v1/account", self.account)
        add(app, self._runtime, "/api/v1/tariff/extended-fee", self.fees, account_required=False)
        add(app, self._runtime, "/api/v1/subscription/webhook/create", self.subscribe)
        add(app, self._runtime, "/api/v1/subscription/webhook", self.subscriptions)
        add(app, self._runtime, "/api/v1/subscription/webhook", self.unsubscribe, method="DELETE")

    def account(self, call: ApiCall) -> dict[str, Any]:
        balances = self._state.balances_of(call.account)
        return {
            "account": call.account,
            "name": ACCOUNT_NAME,
            "ownerId": OWNER_ID,
            "balances": [{"currency": code, "amount": amount} for code, amount in balances.items()],
        }

    def fees(self, call: ApiCall) -> dict[str, Any]:
        items = call.payload.get("items")
        if not isinstance(items, list) or not items:
            raise bad_request("payload.items", "must be a non-empty array")
        return {"items": [self._quote(item, index) for index, item in enumerate(items)]}

    def _quote(self, item: Any, index: int) -> dict[str, Any]:
        where = f"payload.items[{index}]"
        if not isinstance(item, dict):
            raise bad_request(where, "must be an object")
        fields.number(item, "baseAmount", where)
        currency = fields.currency(item, "currency", where)
        base = fields.amount_for(item, "baseAmount", where, currency, zero_ok=True)
        op_type = fields.optional_text(item, "opType", where)
        if op_type != "WITHDRAWAL":
            raise bad_request(f"{where}.opType", "must be WITHDRAWAL")
        fields.optional_text(item, "feeType", where)  # accepted; one tariff per currency here
        fee = self._state.fee_for(currency, base)
        return {
            "amount": base,
            "currency": currency.code,
            "opType": op_type,
            "feeReceiver": {"amount": money.subtract(base, fee), "fee": fee},
            "feeSender": {"amount": money.add(base, fee), "fee": fee},
        }

    def subscribe(self, call: ApiCall) -> dict[str, Any]:
        payload = call.payload
        request_id = fields.optional_uuid(payload, "requestId", "payload")
        if request_id is None:
            raise bad_request("payload.requestId", "is required")
        events = fields.optional_text_list(
            payload, "notificationEventTypes", "payload", _EVENT_TYPES
        )
        services = fields.optional_text_list(
            payload, "notificationServiceTypes", "payload", _SERVICE_TYPES
        )
        if not events and not services:
            raise bad_request(
                "payload.notificationEventTypes", "or notificationServiceTypes must not be empty"
            )
        url = fields.required_text(payload, "url", "payload")
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise bad_request("payload.url", f"must be an absolute http(s) URL, got {url!r}")
        if request_id in self._state.subscriptions:
            raise ApiError(ErrorCode.DUPLICATE, f"payload.requestId: {request_id} already exists")
        sub = Subscription(
            request_id=request_id,
            account=call.account,
            event_types=events,
            service_types=services,
            url=url,
            public_key=secrets.token_hex(16),
            secret_key=secrets.token_hex(16),
        )
        self._state.subscriptions[request_id] = sub
        log.info("sandbox.subscription.created", request_id=request_id, url=url)
        return wire.subscription(sub, with_secret=True)

    def subscriptions(self, call: ApiCall) -> list[dict[str, Any]]:
        return [
            wire.subscription(sub, with_secret=False)
            for sub in self._state.subscriptions.values()
            if sub.account == call.account
        ]

    def unsubscribe(self, call: ApiCall) -> dict[str, Any]:
        request_id = fields.required_text(call.payload, "requestId", "payload")
        sub = self._state.subscriptions.get(request_id)
        if sub is None or sub.account != call.account:
            raise ApiError(ErrorCode.NOT_FOUND, f"subscription {request_id} not found")
        del self._state.subscriptions[request_id]
        self._runtime.webhooks.forget(request_id)
        log.info("sandbox.subscription.deleted", request_id=request_id)
        return wire.subscription(sub, with_secret=False)
