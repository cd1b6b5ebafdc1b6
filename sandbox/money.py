"""Decimal arithmetic for amounts: wide precision so 18-decimal sums are never rounded."""

from __future__ import annotations

from decimal import ROUND_CEILING, Context, Decimal, InvalidOperation, localcontext

# 60 digits hold 10^15 with 18 decimals plus headroom; the default 28 would round silently.
_MONEY = Context(prec=60, traps=[InvalidOperation])
MAX_AMOUNT = Decimal("1e15")


def add(a: Decimal, b: Decimal) -> Decimal:
    return _MONEY.add(a, b)


def subtract(a: Decimal, b: Decimal) -> Decimal:
    return _MONEY.subtract(a, b)


def total(values: list[Decimal]) -> Decimal:
    result = Decimal(0)
    for value in values:
        result = _MONEY.add(result, value)
    return result


def fits_scale(amount: Decimal, scale: int) -> bool:
    """True when the amount needs no more than `scale` decimals (trailing zeros are fine)."""
    with localcontext(_MONEY):
        return amount == amount.quantize(Decimal(1).scaleb(-scale))


def fee_for(base: Decimal, percent: Decimal, fixed: Decimal, scale: int) -> Decimal:
    """base * percent / 100 + fixed, rounded up to the currency scale (the provider never
    undercharges), with trailing zeros dropped so 0.005 does not print as 0.005000000000000000."""
    with localcontext(_MONEY):
        raw = base * percent / 100 + fixed
        rounded = raw.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_CEILING)
        return rounded.normalize() if rounded else Decimal(0)
