"""Currencies we can pay in: decimal scale and recipient address shape (docs/provider-api.md §7).

Pure and deterministic, so the Python API, the CLI and the workflow all validate with the same
rules before anything starts. The provider validates again on its side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
EVM = re.compile(r"^0x[0-9a-fA-F]{40}$")
TRON = re.compile(rf"^T[{_BASE58}]{{33}}$")
BTC = re.compile(rf"^(?:[13][{_BASE58}]{{25,34}}|bc1[02-9ac-hj-np-z]{{11,71}})$")
DOGE = re.compile(rf"^D[{_BASE58}]{{33}}$")


@dataclass(frozen=True)
class Currency:
    code: str
    scale: int
    address: re.Pattern[str]
    chain: str
    items_per_mass_payout: int


def _currency(code: str, scale: int, address: re.Pattern[str], chain: str) -> Currency:
    # Older provider guide: 1000 items per mass payout on Ethereum, 100 elsewhere.
    return Currency(code, scale, address, chain, 1000 if chain == "Ethereum" else 100)


CURRENCIES: dict[str, Currency] = {
    c.code: c
    for c in (
        _currency("BTC", 8, BTC, "Bitcoin"),
        _currency("ETH", 18, EVM, "Ethereum"),
        _currency("USDT", 6, EVM, "Ethereum"),
        _currency("FRAX", 18, EVM, "Ethereum"),
        _currency("BUSD_ETH", 18, EVM, "Ethereum"),
        _currency("USDC", 6, EVM, "Ethereum"),
        _currency("DAI", 18, EVM, "Ethereum"),
        _currency("TRX", 6, TRON, "Tron"),
        _currency("USDT_TRX", 6, TRON, "Tron"),
        _currency("BNB", 18, EVM, "BNB Smart Chain"),
        _currency("BUSD", 18, EVM, "BNB Smart Chain"),
        _currency("MATIC", 18, EVM, "Polygon"),
        _currency("USDT_MATIC", 6, EVM, "Polygon"),
        _currency("XDG", 8, DOGE, "Dogecoin"),
    )
}


@dataclass(frozen=True)
class FieldProblem:
    """One reason an input is refused: the field and why, e.g. `amount: must be > 0`."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


def decimals_of(amount: Decimal) -> int:
    exponent = amount.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def parse_amount(text: str) -> Decimal:
    """Parse a user-typed amount exactly; raises ValueError on anything that is not a number.

    Exponent notation (`1e3`) is refused: Decimal keeps it as `1E+3`, which is how it would then
    be shown, sent and reported; money is written out in plain digits."""
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not amount.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    if "e" in text.lower():
        raise ValueError(f"{text!r}: write the amount in plain digits, e.g. {amount:f}")
    return amount


def check_payment(
    *, currency: str, address: str, amount: Decimal, prefix: str = ""
) -> list[FieldProblem]:
    """Every problem with one recipient line; empty when it can be paid."""
    problems: list[FieldProblem] = []
    spec = CURRENCIES.get(currency)
    if spec is None:
        known = ", ".join(CURRENCIES)
        problems.append(
            FieldProblem(f"{prefix}currency", f"unknown currency {currency!r} (known: {known})")
        )
    elif not spec.address.match(address):
        problems.append(
            FieldProblem(f"{prefix}address", f"{address!r} is not a {spec.chain} address")
        )
    if not amount.is_finite() or amount <= 0:
        problems.append(FieldProblem(f"{prefix}amount", "must be greater than 0"))
    elif spec is not None and decimals_of(amount) > spec.scale:
        problems.append(
            FieldProblem(
                f"{prefix}amount",
                f"{amount} has more than the {spec.scale} decimals {currency} allows",
            )
        )
    return problems


def check_execution_date(value: datetime | None) -> list[FieldProblem]:
    """An execution date must carry a timezone; a past date means 'now' and is accepted."""
    if value is not None and value.tzinfo is None:
        return [FieldProblem("execution_date", "must include a timezone, e.g. 2026-12-01T09:00Z")]
    return []
