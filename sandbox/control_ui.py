"""Control API, part 3: what happens at the provider without the signed API — payouts an operator
makes in the provider's web UI, and a payout's state changed by its back office (a reversal, a late
completion) — so that tests can produce every discrepancy a reconciliation looks for.

A UI payout takes the fields of the API's create (the same checks, in the same order), is never in
the request log, and carries the provider's own idempotencyKey: a fresh UUID unless the body names
one (`"idempotencyKey": "<uuid>"`), or none at all with `"idempotencyKey": null`. It then lives like
any payout: state machine, balances, webhooks."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from sandbox import money, wire
from sandbox.control_input import ControlConflict, ControlInputError, ControlNotFound, read_text
from sandbox.control_settings import read_body
from sandbox.errors import ApiError, ErrorCode
from sandbox.jsonwire import json_response
from sandbox.payout_requests import mass_payout_from, single_payout_from
from sandbox.records import (
    Cancellation,
    Deal,
    DealKind,
    FundsStatus,
    PayoutState,
    Withdrawal,
    WithdrawalError,
    WithdrawalState,
)
from sandbox.runtime import SandboxRuntime

FORCED_FAILURE_MESSAGE = "failed by the provider's back office"
# What a forced state does to each withdrawal; PARTIAL would need to say which items failed.
_FORCED_WITHDRAWAL_STATES = {
    PayoutState.COMPLETED: WithdrawalState.COMPLETED,
    PayoutState.FAILED: WithdrawalState.FAILED,
    PayoutState.CANCELED: WithdrawalState.CANCELED,
}
_DEBITED = frozenset({WithdrawalState.IN_PROGRESS, WithdrawalState.COMPLETED})


def ui_router(runtime: SandboxRuntime) -> APIRouter:
    router = APIRouter(prefix="/sandbox")
    state = runtime.state

    def create(body: dict[str, Any], kind: DealKind) -> Response:
        payload = dict(body)
        if "idempotencyKey" not in payload:
            payload["idempotencyKey"] = str(uuid.uuid4())  # the provider's own, not ours
        account = runtime.settings.account
        try:
            if kind is DealKind.SINGLE:
                deal = single_payout_from(state, account, payload)
            else:
                deal = mass_payout_from(state, account, payload)
        except ApiError as exc:  # the API's checks; the control API names fields bare
            message = exc.message.removeprefix("payload.")
            if exc.code is ErrorCode.DUPLICATE:
                raise ControlConflict(message) from None
            raise ControlInputError(message) from None
        runtime.engine.admit(deal)
        return json_response(_view(deal))

    @router.post("/ui/payouts")
    async def ui_payout(request: Request) -> Response:
        return create(await read_body(request), DealKind.SINGLE)

    @router.post("/ui/mass-payouts")
    async def ui_mass_payout(request: Request) -> Response:
        return create(await read_body(request), DealKind.MASS)

    @router.post("/payouts/{payout_id}/force")
    async def force(payout_id: str, request: Request) -> Response:
        deal = state.deals.get(payout_id)
        if deal is None:
            raise ControlNotFound(f"no payout or mass payout with id {payout_id}")
        target = _forced_state(await read_body(request))
        if deal.state is target:
            raise ControlConflict(f"payout {deal.id} is {target.value} already")
        for item in deal.withdrawals:
            _force_withdrawal(runtime, item, _FORCED_WITHDRAWAL_STATES[target])
        if target is PayoutState.CANCELED:
            deal.cancellation = Cancellation(
                message="canceled in the provider's UI", by_user_id="ui"
            )
        runtime.engine.force(deal, target)
        return json_response(_view(deal))

    return router


def _forced_state(body: dict[str, Any]) -> PayoutState:
    unknown = set(body) - {"state"}
    if unknown:
        raise ControlInputError(f"unknown field(s): {', '.join(sorted(unknown))}")
    text = read_text(body, "state")
    allowed = ", ".join(state.value for state in _FORCED_WITHDRAWAL_STATES)
    try:
        target = PayoutState(text)
    except ValueError:
        raise ControlInputError(f"state: must be one of {allowed}, got {text!r}") from None
    if target not in _FORCED_WITHDRAWAL_STATES:
        raise ControlInputError(f"state: must be one of {allowed}, got {text!r}")
    return target


def _force_withdrawal(runtime: SandboxRuntime, item: Withdrawal, target: WithdrawalState) -> None:
    """Move one withdrawal, and the balance with it: paying debits amount + fee, un-paying (a
    reversal, a cancel of what was debited) refunds it."""
    needed = money.add(item.amount, item.fee)
    was_debited, is_debited = item.state in _DEBITED, target in _DEBITED
    if is_debited and not was_debited:
        runtime.state.change_balance(item.account, item.currency, -needed)
    elif was_debited and not is_debited:
        runtime.state.change_balance(item.account, item.currency, needed)
    item.state = target
    item.network_answer_at = None
    if target is WithdrawalState.COMPLETED and item.transaction_hash is None:
        digest = hashlib.sha256(f"calypso-sandbox-forced:{item.id}".encode()).hexdigest()
        item.transaction_hash = "0x" + digest
    if target is WithdrawalState.FAILED:
        error = WithdrawalError(runtime.state.new_id(), FundsStatus.SUCCESS, FORCED_FAILURE_MESSAGE)
        item.errors.append(error)


def _view(deal: Deal) -> dict[str, Any]:
    single = deal.kind is DealKind.SINGLE
    return {**(wire.payout(deal) if single else wire.mass_payout(deal)), "kind": deal.kind.value}
