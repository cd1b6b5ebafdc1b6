"""What a refused reservation lacked, and the one line that tells an operator how to fund it.

The activity boundary attaches an `InsufficientLedgerFundsError`'s numbers to its
`ApplicationError` (`failure_details`); `shortfall_of` reads them back in the workflow, and
`refusal_text` is the reason a saga ends REJECTED with. The mass preview uses the same text.
A `SpendingLimitExceededError` travels the same way; `limit_of` reads it back as a
`SpendingLimitHit`. Pure and deterministic: runs in workflows.
"""

from __future__ import annotations

import decimal
import shlex
from decimal import ROUND_CEILING, Decimal

from pydantic import BaseModel, ValidationError
from temporalio.exceptions import ActivityError, ApplicationError

from calypso.currencies import CURRENCIES, decimals_of

# Enough digits for any sum of amounts; Inexact is not trapped: rounding up a suggestion is fine.
_WIDE = decimal.Context(prec=200)


class LedgerShortfall(BaseModel):
    """The numbers of an `InsufficientLedgerFundsError`, as the workflow receives them."""

    sub_account: str
    currency: str
    needed: Decimal
    available: Decimal | None = None
    ledger: str = "sqlite"
    reserved_in_batch: int = 0


def shortfall_of(error: BaseException) -> LedgerShortfall | None:
    """The shortfall an activity's failure carries; None for any other failure (or a history
    recorded before refusals carried their numbers)."""
    cause = error.cause if isinstance(error, ActivityError) else error
    if not isinstance(cause, ApplicationError) or cause.type != "InsufficientLedgerFundsError":
        return None
    if not cause.details or not isinstance(cause.details[0], dict):
        return None
    try:
        return LedgerShortfall.model_validate(cause.details[0])
    except ValidationError:
        return None


class SpendingLimitHit(BaseModel):
    """The numbers of a `SpendingLimitExceededError`, as the workflow receives them: the window
    held `usage` of `max_amount` already, and the refused reservation (or batch of `items`
    reservations) needed `amount`."""

    sub_account: str
    currency: str
    limit_name: str | None = None
    window_seconds: int
    max_amount: Decimal
    usage: Decimal
    amount: Decimal
    items: int = 1
    ledger: str = "sqlite"

    @property
    def label(self) -> str:
        """The limit's name, or its window's length ("86400s") when it has none."""
        return self.limit_name or f"{self.window_seconds}s"

    @property
    def remaining(self) -> Decimal:
        """What the window could still take (0 when it is used up, or past its maximum)."""
        with decimal.localcontext(_WIDE):
            return max(self.max_amount - self.usage, Decimal(0))

    def text(self) -> str:
        """`spending limit 24h on 'treasury' USDT_TRX: 9000 used of 10000, this payout needs
        2000` (the error's own message)."""
        needs = "this payout needs" if self.items == 1 else f"these {self.items} payouts need"
        return (
            f"spending limit {self.label} on {self.sub_account!r} {self.currency}:"
            f" {plain(self.usage)} used of {plain(self.max_amount)}, {needs} {plain(self.amount)}"
        )


def limit_of(error: BaseException) -> SpendingLimitHit | None:
    """The spending limit an activity's failure (an `ActivityError`, or its `ApplicationError`
    cause) says was hit; None for any other failure."""
    cause = error.cause if isinstance(error, ActivityError) else error
    if not isinstance(cause, ApplicationError) or cause.type != "SpendingLimitExceededError":
        return None
    if not cause.details or not isinstance(cause.details[0], dict):
        return None
    try:
        return SpendingLimitHit.model_validate(cause.details[0])
    except ValidationError:
        return None


def total_of(amounts: list[Decimal]) -> Decimal:
    """An exact sum, however many digits the amounts have."""
    with decimal.localcontext(_WIDE):
        return sum(amounts, Decimal(0))


def plain(amount: Decimal) -> str:
    """An amount as people and the CLI read it: never in exponent notation."""
    return format(amount, "f")


def missing_amount(needed: Decimal, available: Decimal, currency: str) -> Decimal:
    """How much to fund so `available` covers `needed`, rounded up to the currency's decimals
    (the fund verb refuses more decimals than the currency has)."""
    with decimal.localcontext(_WIDE):
        missing = needed - available
        spec = CURRENCIES.get(currency)
        if spec is not None and decimals_of(missing) > spec.scale:
            missing = missing.quantize(Decimal(1).scaleb(-spec.scale), rounding=ROUND_CEILING)
    return missing


def fund_command(sub_account: str, currency: str, amount: Decimal, reference: str) -> str:
    words = ["payouts", "ledger", "fund", sub_account, currency, plain(amount), "--reference"]
    return shlex.join([*words, reference])


def refusal_text(
    *,
    sub_account: str,
    currency: str,
    available: Decimal | None,
    needed: Decimal,
    reference: str,
    embedded: bool = True,
    needed_for: str = "",
) -> str:
    """`sub-account 'default' has 100 USDT_TRX available, needs 148.00 for all 3 items; fund it:
    payouts ledger fund default USDT_TRX 48.00 --reference topup-…` (with an HTTP ledger, or an
    unknown available amount, it says where to fund instead of a command)."""
    has = "an unknown amount of" if available is None else plain(available)
    text = f"sub-account {sub_account!r} has {has} {currency} available, needs {plain(needed)}"
    text += f" {needed_for}" if needed_for else ""
    if not embedded:
        return f"{text}; fund it in the merchant's ledger"
    if available is None:
        return f"{text}; fund it with `payouts ledger fund`"
    missing = missing_amount(needed, available, currency)
    return f"{text}; fund it: {fund_command(sub_account, currency, missing, reference)}"
