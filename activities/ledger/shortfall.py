"""What a refused reservation lacked, and the one line that tells an operator how to fund it.

The activity boundary attaches an `InsufficientLedgerFundsError`'s numbers to its
`ApplicationError` (`failure_details`); `shortfall_of` reads them back in the workflow, and
`refusal_text` is the reason a saga ends REJECTED with. The mass preview uses the same text.
Pure and deterministic: runs in workflows.
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
