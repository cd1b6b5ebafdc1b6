"""Provider endpoints for single and mass payouts and withdrawals (docs/provider-api.md §3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from sandbox import fields, wire
from sandbox.auth import ApiCall
from sandbox.errors import ApiError, ErrorCode, bad_request
from sandbox.gateway import add_api_route
from sandbox.payout_requests import mass_payout_from, single_payout_from
from sandbox.records import Deal, DealKind, PayoutState, WithdrawalState
from sandbox.runtime import SandboxRuntime

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000
_PAYOUT_STATES = {state.value for state in PayoutState}
_WITHDRAWAL_STATES = {state.value for state in WithdrawalState}


class PayoutApi:
    def __init__(self, runtime: SandboxRuntime) -> None:
        self._runtime = runtime
        self._state = runtime.state

    def register(self, app: FastAPI) -> None:
        routes: list[tuple[str, Callable[[ApiCall], Any], bool]] = [
            ("/api/v1/payout/create", self.create_single, True),
            ("/api/v1/payout", self.get_single, False),
            ("/api/v1/payout/cancel", self.cancel_single, True),
            ("/api/v1/payout/all", self.list_single, False),
            ("/api/v1/payout/mass/create", self.create_mass, True),
            ("/api/v1/payout/mass", self.get_mass, False),
            ("/api/v1/payout/mass/cancel", self.cancel_mass, True),
            ("/api/v1/payout/mass/all", self.list_mass, False),
            ("/api/v1/payout/withdrawal", self.get_withdrawal, False),
            ("/api/v1/payout/withdrawal/all", self.list_withdrawals, False),
        ]
        for path, handler, state_changing in routes:
            add_api_route(app, self._runtime, path, handler, state_changing=state_changing)

    # --- single payouts ------------------------------------------------------------------
    def create_single(self, call: ApiCall) -> dict[str, Any]:
        deal = single_payout_from(self._state, call.account, call.payload)
        self._runtime.engine.admit(deal)
        return wire.payout(deal)

    def get_single(self, call: ApiCall) -> dict[str, Any]:
        return wire.payout(self._lookup(call, DealKind.SINGLE, "id"))

    def cancel_single(self, call: ApiCall) -> dict[str, Any]:
        return wire.payout(self._cancel(call, DealKind.SINGLE))

    def list_single(self, call: ApiCall) -> dict[str, Any]:
        return self._list(call, DealKind.SINGLE, "size", wire.payout)

    # --- mass payouts --------------------------------------------------------------------
    def create_mass(self, call: ApiCall) -> dict[str, Any]:
        deal = mass_payout_from(self._state, call.account, call.payload)
        self._runtime.engine.admit(deal)
        return wire.mass_payout(deal)

    def get_mass(self, call: ApiCall) -> dict[str, Any]:
        return wire.mass_payout(self._lookup(call, DealKind.MASS, "id"))

    def cancel_mass(self, call: ApiCall) -> dict[str, Any]:
        return wire.mass_payout(self._cancel(call, DealKind.MASS))

    def list_mass(self, call: ApiCall) -> dict[str, Any]:
        return self._list(call, DealKind.MASS, "size", wire.mass_payout)

    # --- withdrawals ---------------------------------------------------------------------
    def get_withdrawal(self, call: ApiCall) -> dict[str, Any]:
        request_id = fields.optional_id(call.payload, "requestId", "payload")
        if request_id is None:
            raise bad_request("payload.requestId", "is required")
        item = self._state.withdrawals.get(request_id)
        if item is None or item.account != call.account:
            raise ApiError(ErrorCode.NOT_FOUND, f"withdrawal {request_id} not found")
        return wire.withdrawal(item)

    def list_withdrawals(self, call: ApiCall) -> dict[str, Any]:
        payload = call.payload
        deal_id = fields.optional_id(payload, "dealId", "payload")
        key = fields.optional_text(payload, "idempotencyKey", "payload")
        states = fields.optional_text_list(payload, "stateNames", "payload", _WITHDRAWAL_STATES)
        page_number, size = _paging(payload, "pageSize")
        if deal_id is None and key is None:
            deals = [d for d in self._state.deals.values() if d.account == call.account]
        else:
            # Both filters given must both match; an unknown deal is an empty page, not 004.
            found = self._state.find_deal(call.account, None, deal_id, key)
            keep = found is not None and (key is None or found.idempotency_key == key)
            deals = [found] if found is not None and keep else []
        items = [w for deal in deals for w in deal.withdrawals]
        if states:
            items = [w for w in items if w.state.value in states]
        items.sort(key=lambda w: int(w.id))  # item order of a mass payout
        return wire.page(items, page_number, size, wire.withdrawal)

    # --- shared --------------------------------------------------------------------------
    def _lookup(self, call: ApiCall, kind: DealKind, id_field: str) -> Deal:
        deal_id = fields.optional_id(call.payload, id_field, "payload")
        key = fields.optional_text(call.payload, "idempotencyKey", "payload")
        if deal_id is None and key is None:
            raise bad_request(f"payload.{id_field}", "or payload.idempotencyKey is required")
        deal = self._state.find_deal(call.account, kind, deal_id, key)
        if deal is None:
            what = f"id {deal_id}" if deal_id is not None else f"idempotencyKey {key}"
            raise ApiError(ErrorCode.NOT_FOUND, f"{_noun(kind)} with {what} not found")
        return deal

    def _cancel(self, call: ApiCall, kind: DealKind) -> Deal:
        # dealId names the payout; without it, the idempotencyKey does.
        deal = self._lookup(call, kind, "dealId")
        message = fields.optional_text(call.payload, "message", "payload")
        self._runtime.engine.cancel(deal, message)
        return deal

    def _list(
        self,
        call: ApiCall,
        kind: DealKind,
        size_field: str,
        render: Callable[[Deal], dict[str, Any]],
    ) -> dict[str, Any]:
        payload = call.payload
        states = fields.optional_text_list(payload, "stateNames", "payload", _PAYOUT_STATES)
        in_future = fields.optional_bool(payload, "isExecutionDateInFuture", "payload")
        page_number, size = _paging(payload, size_field)
        now = self._state.clock.now()
        deals = self._state.deals_of(call.account, kind)
        if states:
            deals = [d for d in deals if d.state.value in states]
        if in_future is not None:
            deals = [
                d
                for d in deals
                if (d.execution_date is not None and d.execution_date > now) == in_future
            ]
        deals.sort(key=lambda d: int(d.id), reverse=True)  # newest first
        return wire.page(deals, page_number, size, render)


def _paging(payload: dict[str, Any], size_field: str) -> tuple[int, int]:
    page_number = fields.optional_int(payload, "pageNumber", "payload", 1, 1_000_000)
    size = fields.optional_int(payload, size_field, "payload", 1, MAX_PAGE_SIZE)
    return page_number or 1, size or DEFAULT_PAGE_SIZE


def _noun(kind: DealKind) -> str:
    return "payout" if kind is DealKind.SINGLE else "mass payout"
