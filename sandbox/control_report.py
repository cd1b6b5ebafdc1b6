"""Control API: make the provider's API *report* a state it does not hold — a word the client
does not know, or a withdrawal state that contradicts its payout's — while the state machine goes
on as before. Tests use it to show that only known outcomes move money.

    POST /sandbox/payouts/{id}/report
      {"state": "ON_HOLD"}                  the payout's reported state
      {"withdrawals": {"<position>": "X"}}  its items', by position in the list
      {"state": null}, {"withdrawals": {"0": null}}   the truth again
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from sandbox import wire
from sandbox.control_input import ControlInputError, ControlNotFound
from sandbox.control_settings import read_body
from sandbox.jsonwire import json_response
from sandbox.records import Deal, DealKind
from sandbox.runtime import SandboxRuntime


def report_router(runtime: SandboxRuntime) -> APIRouter:
    router = APIRouter(prefix="/sandbox")

    @router.post("/payouts/{payout_id}/report")
    async def report(payout_id: str, request: Request) -> Response:
        deal = runtime.state.deals.get(payout_id)
        if deal is None:
            raise ControlNotFound(f"no payout or mass payout with id {payout_id}")
        _apply(deal, await read_body(request))
        single = deal.kind is DealKind.SINGLE
        view = wire.payout(deal) if single else wire.mass_payout(deal)
        return json_response(
            {**view, "withdrawals": [wire.withdrawal(w) for w in deal.withdrawals]}
        )

    return router


def _apply(deal: Deal, body: dict[str, Any]) -> None:
    unknown = set(body) - {"state", "withdrawals"}
    if unknown:
        raise ControlInputError(f"unknown field(s): {', '.join(sorted(unknown))}")
    if "state" in body:
        deal.reported_state = _word("state", body["state"])
    items = body.get("withdrawals", {})
    if not isinstance(items, dict):
        raise ControlInputError("withdrawals: must be an object of position → state")
    for position, state in items.items():
        if not str(position).isdigit() or int(position) >= len(deal.withdrawals):
            raise ControlInputError(f"withdrawals: no item at position {position!r}")
        deal.withdrawals[int(position)].reported_state = _word(f"withdrawals.{position}", state)


def _word(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ControlInputError(f"{name}: must be a non-empty string or null")
    return value.strip()
