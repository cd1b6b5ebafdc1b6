"""Control API, part 2: inspect payouts and logs, confirm / decline, and fault injection.

Listings stay small whatever a test run did: `GET /sandbox/payouts` summarises each payout's
withdrawals (a 100,000-recipient run has 100,000 of them) and they are read one payout at a
time, a page at a time, from `GET /sandbox/payouts/{id}/withdrawals`."""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from sandbox import control_query, wire
from sandbox.clock import iso_utc
from sandbox.control_input import ControlNotFound
from sandbox.control_settings import read_body
from sandbox.jsonwire import json_response
from sandbox.records import Deal, DealKind, PayoutState, WithdrawalState
from sandbox.runtime import SandboxRuntime
from sandbox.state import LOG_LIMIT

WITHDRAWAL_PAGE_DEFAULT = 100
# The provider's own page limit, and the default mass item limit of the EVM tokens.
WITHDRAWAL_PAGE_MAX = 1000
_KINDS = [kind.value for kind in DealKind]
_PAYOUT_STATES = [state.value for state in PayoutState]


def _summary(deal: Deal) -> dict[str, Any]:
    """The provider's view of the payout, plus what only the sandbox knows; the withdrawals
    only as a count and a count per state (non-zero states only, in lifecycle order)."""
    single = deal.kind is DealKind.SINGLE
    states = Counter(item.state for item in deal.withdrawals)
    return {
        **(wire.payout(deal) if single else wire.mass_payout(deal)),
        "kind": deal.kind.value,
        "history": [{"state": state.value, "at": iso_utc(at)} for state, at in deal.history],
        "withdrawalCount": len(deal.withdrawals),
        "withdrawalStates": {s.value: states[s] for s in WithdrawalState if states[s]},
    }


def _describe(deal: Deal) -> dict[str, Any]:
    """One payout in full: the summary and every withdrawal (bounded by the item limit)."""
    return {**_summary(deal), "withdrawals": [wire.withdrawal(item) for item in deal.withdrawals]}


def _latest(entries: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """`limit=N`: only the N most recent of the matching log entries (still oldest first)."""
    return entries if limit is None else entries[-limit:]


def inspect_router(runtime: SandboxRuntime) -> APIRouter:
    router = APIRouter(prefix="/sandbox")
    state = runtime.state

    def find(payout_id: str) -> Deal:
        deal = state.deals.get(payout_id)
        if deal is None:
            raise ControlNotFound(f"no payout or mass payout with id {payout_id}")
        return deal

    @router.get("/payouts")
    async def list_payouts(request: Request) -> Response:
        params = request.query_params
        control_query.reject_unknown(params, ["kind", "idempotencyKey", "state"])
        kinds = control_query.any_of(params, "kind", _KINDS)
        key = control_query.uuid_text(params, "idempotencyKey")
        states = control_query.any_of(params, "state", _PAYOUT_STATES)
        deals = [
            deal
            for deal in state.deals.values()
            if (kinds is None or deal.kind.value in kinds)
            and (key is None or deal.idempotency_key == key)
            and (states is None or deal.state.value in states)
        ]
        return json_response([_summary(deal) for deal in deals])

    @router.get("/payouts/{payout_id}")
    async def get_payout(payout_id: str, request: Request) -> Response:
        control_query.reject_unknown(request.query_params, [])
        return json_response(_describe(find(payout_id)))

    @router.get("/payouts/{payout_id}/withdrawals")
    async def list_withdrawals(payout_id: str, request: Request) -> Response:
        params = request.query_params
        control_query.reject_unknown(params, ["pageNumber", "size"])
        page_number = control_query.bounded_int(params, "pageNumber", 1, 1_000_000)
        size = control_query.bounded_int(
            params, "size", WITHDRAWAL_PAGE_DEFAULT, WITHDRAWAL_PAGE_MAX
        )
        deal = find(payout_id)
        return json_response(wire.page(deal.withdrawals, page_number, size, wire.withdrawal))

    @router.post("/payouts/{payout_id}/confirm")
    async def confirm(payout_id: str) -> Response:
        deal = find(payout_id)
        runtime.engine.confirm(deal)
        return json_response(_describe(deal))

    @router.post("/payouts/{payout_id}/decline")
    async def decline(payout_id: str, request: Request) -> Response:
        deal = find(payout_id)
        message = (await read_body(request)).get("message")
        runtime.engine.decline(deal, message if isinstance(message, str) else "declined")
        return json_response(_describe(deal))

    @router.get("/requests")
    async def requests(request: Request) -> Response:
        params = request.query_params
        control_query.reject_unknown(params, ["path", "idempotencyKey", "limit"])
        path = control_query.single(params, "path")
        key = control_query.single(params, "idempotencyKey")
        limit = control_query.optional_int(params, "limit", LOG_LIMIT)
        entries = [
            e
            for e in state.request_log
            if (path is None or e["path"] == path) and (key is None or e["idempotencyKey"] == key)
        ]
        return json_response(_latest(entries, limit))

    @router.get("/webhooks")
    async def webhooks(request: Request) -> Response:
        params = request.query_params
        control_query.reject_unknown(params, ["payoutId", "limit"])
        payout_id = control_query.single(params, "payoutId")
        limit = control_query.optional_int(params, "limit", LOG_LIMIT)
        entries = [
            e
            for e in state.webhook_log
            if payout_id is None or e["event"]["parentExternalId"] == payout_id
        ]
        return json_response(_latest(entries, limit))

    @router.post("/webhooks/release")
    async def release_held() -> Response:
        return json_response({"released": runtime.webhooks.release_held()})

    @router.get("/faults")
    async def get_faults() -> Response:
        return json_response(state.faults.describe())

    @router.post("/faults")
    async def set_faults(request: Request) -> Response:
        state.faults.update(await read_body(request))
        if not state.faults.plan.webhook_reorder:
            runtime.webhooks.release_held()
        return json_response(state.faults.describe())

    @router.delete("/faults")
    async def clear_faults() -> Response:
        state.faults.reset()
        runtime.webhooks.release_held()
        return json_response(state.faults.describe())

    return router
