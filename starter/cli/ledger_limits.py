"""`payouts ledger limits`: every spending limit the policy sets, with what the ledger has
counted toward it now and the headroom left. Read-only; the policy is PAYOUTS_POLICY's file."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer
from pydantic import BaseModel

from activities.policy import Policy, load_policy
from starter.cli.common import CliError, JsonFlag
from starter.cli.ledger_books import Books, books_at, with_ledger
from starter.cli.output import console, emit_json
from starter.service.settings import Settings


class LimitView(BaseModel):
    sub_account: str
    currency: str
    limit: str  # "24h", "30d", or "per payout"
    max: Decimal
    used: Decimal | None = None  # None for a per-payout maximum: nothing accumulates
    headroom: Decimal | None = None
    over_limit: str  # reject | approval


class Limits(BaseModel):
    policy_version: str | None
    limits: list[LimitView]


def limits(
    account: Annotated[str | None, typer.Option("--account", help="Only this sub-account.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Spending limits per sub-account and currency: the maximum, what the last window has
    used (reserved and settled) and the headroom. A sub-account without a section of its own
    shows the default's limits."""
    settings = Settings.from_env()
    if settings.policy_path is None:
        raise CliError("PAYOUTS_POLICY is not set: no spending limits apply")
    policy = load_policy(settings.policy_path)
    accounts = [account] if account else ["default", *sorted(policy.accounts)]
    books = books_at()
    views = with_ledger(books, lambda ledger: _views(ledger, books.exists(), policy, accounts))
    found = Limits(policy_version=policy.version, limits=views)
    if as_json:
        emit_json(found)
        return
    console.print(f"policy {found.policy_version}")
    if not found.limits:
        console.print("no spending limits")
    for view in found.limits:
        usage = (
            f"used {view.used}, headroom {view.headroom}" if view.used is not None else "per payout"
        )
        console.print(
            f"{view.sub_account:<12} {view.currency:<10} {view.limit:<10} max {view.max}  "
            f"{usage}  (over: {view.over_limit})",
            highlight=False,
        )


async def _views(
    ledger: Books, funded: bool, policy: Policy, accounts: list[str]
) -> list[LimitView]:
    """Every limit of `accounts`; a window's usage from the books (none before any funding:
    reading never creates the file)."""
    views: list[LimitView] = []
    for sub_account in accounts:
        rules = policy.rules_for(sub_account).limits
        for currency, most in sorted(rules.per_payout.items()):
            views.append(
                LimitView(
                    sub_account=sub_account,
                    currency=currency,
                    limit="per payout",
                    max=most,
                    over_limit=rules.over_limit,
                )
            )
        for window in rules.window:
            seconds = window.as_ledger_limit().window_seconds
            used = (
                await ledger.usage(sub_account, window.currency, seconds) if funded else Decimal(0)
            )
            views.append(
                LimitView(
                    sub_account=sub_account,
                    currency=window.currency,
                    limit=window.name,
                    max=window.max,
                    used=used,
                    headroom=max(window.max - used, Decimal(0)),
                    over_limit=rules.over_limit,
                )
            )
    return views
