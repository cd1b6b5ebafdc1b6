"""Control API, part 2: inspect payouts and logs, confirm / decline, and fault injection."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from sandbox import wire
from sandbox.clock import iso_utc
from sandbox.control_input import ControlNotFound
from sandbox.control_settings import read_body
from sandbox.jsonwire import json_response
from sandbox.records import Deal, DealKind
from sandbox.runtime import SandboxRuntime


def _describe(deal: Deal) -> dict[str, Any]:
    """The provider's view of the payout, plus what only the sandbox knows."""
    single = deal.kind is DealKind.SINGLE
    return {
        **(wire.payout(deal) if single else wire.mass_payout(deal)),
        "kind": deal.kind.value,
        "history": [{"state": state.value, "at": iso_utc(at)} for state, at in deal.history],
        "withdrawals": [wire.withdrawal(item) for item in deal.withdrawals],
    }


def inspect_router(runtime: SandboxRuntime) -> APIRouter:
    router = APIRouter(prefix="/sandbox")
    state = runtime.state

    def find(payout_id: str) -> Deal:
        deal = state.deals.get(payout_id)
        if deal is None:
            raise ControlNotFound(f"no payout or mass payout with id {payout_id}")
        return deal

    @router.get("/payouts")
    async def list_payouts() -> Response:
        return json_response([_describe(deal) for deal in state.deals.values()])

    @router.get("/payouts/{payout_id}")
    async def get_payout(payout_id: str) -> Response:
        return json_response(_describe(find(payout_id)))

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
    async def requests(path: Annotated[str | None, Query()] = None) -> Response:
        entries = [e for e in state.request_log if path is None or e["path"] == path]
        return json_response(entries)

    @router.get("/webhooks")
    async def webhooks(
        payout_id: Annotated[str | None, Query(alias="payoutId")] = None,
    ) -> Response:
        entries = [
            e
            for e in state.webhook_log
            if payout_id is None or e["event"]["parentExternalId"] == payout_id
        ]
        return json_response(entries)

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
