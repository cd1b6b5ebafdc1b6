"""`payouts approve` and `payouts deny`: four eyes on a payout waiting for approval."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError

from starter.api import Payouts
from starter.api.approvals import ApprovalRefusedError
from starter.cli import exit_codes
from starter.cli.common import (
    CliError,
    JsonFlag,
    KeyArgument,
    key_of,
    needs_worker,
    require_worker,
    run_with_payouts,
)
from starter.cli.output import console, emit_json
from workflows.approval_models import ApprovalResult, ApproveInput, DenyInput

M = TypeVar("M", bound=BaseModel)
ByOption = Annotated[
    str, typer.Option("--by", help="Who decides (kept in the timeline); not the requester.")
]


def register(app: typer.Typer) -> None:
    app.command(name="approve")(approve)
    app.command(name="deny")(deny)


def approve(
    key: KeyArgument,
    by: ByOption,
    comment: Annotated[str | None, typer.Option(help="Why, for the timeline.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Approve a payout (single or mass) WAITING_FOR_APPROVAL. Its requester may not approve it;
    where the policy asks two approvers, a second, different person approves too."""
    decision = _decision(ApproveInput, {"by": by, "comment": comment})
    _decide(key, decision, lambda payouts, k: payouts.approve(k, decision), as_json)


def deny(
    key: KeyArgument,
    by: ByOption,
    reason: Annotated[str, typer.Option(help="Why (kept in the timeline and the callback).")],
    as_json: JsonFlag = False,
) -> None:
    """Deny a payout WAITING_FOR_APPROVAL: it ends REJECTED and its reservation is released."""
    decision = _decision(DenyInput, {"by": by, "reason": reason})
    _decide(key, decision, lambda payouts, k: payouts.deny(k, decision), as_json)


def _decision(model: type[M], fields: dict[str, Any]) -> M:
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "input"
        raise CliError(f"{field}: {first['msg']}") from None


def _decide(
    key: str,
    decision: BaseModel,
    send: Callable[[Payouts, Any], Any],
    as_json: bool,
) -> None:
    payout_key = key_of(key)

    async def decide(payouts: Payouts) -> ApprovalResult:
        await require_worker(payouts, "nothing was decided")
        try:
            result: ApprovalResult = await needs_worker(payouts, send(payouts, payout_key))
        except ApprovalRefusedError as refused:
            raise CliError(str(refused), exit_code=exit_codes.OPERATIONAL_FAILURE) from None
        return result

    result = run_with_payouts(decide)
    if as_json:
        emit_json(result)
    else:
        console.print(f"{result.message} ({result.state})")
