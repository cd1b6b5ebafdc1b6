"""Currencies the sandbox accepts (docs/provider-api.md §7): decimals, address shape, limits."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BASE58 = "1-9A-HJ-NP-Za-km-z"

_ADDRESS_SHAPES: dict[str, tuple[re.Pattern[str], str]] = {
    "evm": (re.compile(r"0x[0-9a-fA-F]{40}"), "0x followed by 40 hex digits"),
    "tron": (re.compile(rf"T[{_BASE58}]{{33}}"), "T followed by 33 base58 characters"),
    "bitcoin": (
        re.compile(
            rf"[13][{_BASE58}]{{25,34}}"  # legacy P2PKH / P2SH
            r"|bc1[ac-hj-np-z02-9]{11,71}|BC1[AC-HJ-NP-Z02-9]{11,71}"  # bech32, one case only
        ),
        "a base58 address starting with 1 or 3, or a bech32 address starting with bc1",
    ),
    "dogecoin": (re.compile(rf"D[{_BASE58}]{{33}}"), "D followed by 33 base58 characters"),
}


@dataclass(frozen=True)
class Currency:
    code: str
    scale: int
    blockchain: str
    address_kind: str
    default_item_limit: int

    def address_problem(self, address: str) -> str | None:
        """Why the address cannot belong to this currency's chain, or None when it can."""
        pattern, expected = _ADDRESS_SHAPES[self.address_kind]
        if pattern.fullmatch(address):
            return None
        return f"not a {self.blockchain} address for {self.code} (expected {expected})"


# The older guide allows 1000 items for ETH and its ERC-20 tokens, 100 for everything else.
_CURRENCIES = (
    Currency("BTC", 8, "Bitcoin", "bitcoin", 100),
    Currency("ETH", 18, "Ethereum", "evm", 1000),
    Currency("USDT", 6, "Ethereum", "evm", 1000),
    Currency("FRAX", 18, "Ethereum", "evm", 1000),
    Currency("BUSD_ETH", 18, "Ethereum", "evm", 1000),
    Currency("USDC", 6, "Ethereum", "evm", 1000),
    Currency("DAI", 18, "Ethereum", "evm", 1000),
    Currency("TRX", 6, "Tron", "tron", 100),
    Currency("USDT_TRX", 6, "Tron", "tron", 100),
    Currency("BNB", 18, "BNB Smart Chain", "evm", 100),
    Currency("BUSD", 18, "BNB Smart Chain", "evm", 100),
    Currency("MATIC", 18, "Polygon", "evm", 100),
    Currency("USDT_MATIC", 6, "Polygon", "evm", 100),
    Currency("XDG", 8, "Dogecoin", "dogecoin", 100),
)

CURRENCIES: dict[str, Currency] = {currency.code: currency for currency in _CURRENCIES}
