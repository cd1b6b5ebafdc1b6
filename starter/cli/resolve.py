"""`payouts resolve`: an operator's decision on a payout, or a mass item, held for review."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from starter.api import Payouts
from starter.api.resolve import ResolveRefusedError
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
from workflows.payout_models import ResolveInput, ResolveResult


def register(app: typer.Typer) -> None:
    app.command(name="resolve")(resolve)


def resolve(
    key: KeyArgument,
    outcome: Annotated[
        str, typer.Option("--as", help="What happened: paid (settle) or failed (release).")
    ],
    by: Annotated[str, typer.Option("--by", help="Who decides (kept in the timeline).")],
    reason: Annotated[str, typer.Option(help="Why, e.g. what the provider confirmed.")],
    item: Annotated[
        int | None, typer.Option(help="Mass payouts: the item's index in the list (from 0).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Decide a payout held for review (NEEDS_REVIEW): the saga settles it as paid or releases it
    as failed, and records who decided and why. Refused unless the payout (or item) is held."""
    payout_key = key_of(key)
    try:
        decision = ResolveInput.model_validate(
            {"outcome": outcome, "by": by, "reason": reason, "item": item}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "input"
        field = "as" if field == "outcome" else field
        raise CliError(f"{field}: {first['msg']}") from None

    async def decide(payouts: Payouts) -> ResolveResult:
        await require_worker(payouts, "nothing was decided")
        try:
            return await needs_worker(payouts, payouts.resolve(payout_key, decision))
        except ResolveRefusedError as refused:
            raise CliError(str(refused), exit_code=exit_codes.OPERATIONAL_FAILURE) from None

    result = run_with_payouts(decide)
    if as_json:
        emit_json(result)
    else:
        console.print(f"resolved: {result.message} ({result.state})")
