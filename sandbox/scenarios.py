"""Test cards: recipient-address suffixes that make the emulated network misbehave on cue.

Suffixes are matched case-insensitively and work on every chain: the address shape check
skips a test-card suffix (see `shape_of`), because `5104` is not base58 (no 0) and `fa11` /
`bad1` are not bech32. `sLow` is an alias of `5104` that is genuinely base58."""

from __future__ import annotations

from enum import StrEnum


class Scenario(StrEnum):
    NORMAL = "normal"
    NETWORK_FAILURE = "network-failure"
    VALIDATION_FAILURE = "validation-failure"
    SLOW = "slow"
    FAILS_ONCE = "fails-once"


_BY_SUFFIX = {
    "fa11": Scenario.NETWORK_FAILURE,
    "bad1": Scenario.VALIDATION_FAILURE,
    "5104": Scenario.SLOW,
    "slow": Scenario.SLOW,
    "f1a1": Scenario.FAILS_ONCE,
}

SLOW_FACTOR = 10
NETWORK_FAILURE_MESSAGE = "network rejected the transaction"
VALIDATION_FAILURE_MESSAGE = "recipient address rejected by validation"


def scenario_for(address: str) -> Scenario:
    tail = address[-4:].lower()
    return _BY_SUFFIX.get(tail, Scenario.NORMAL)


def shape_of(address: str) -> str:
    """The address as the shape check should see it: a test-card suffix stands in for four
    characters every address alphabet has ("a" is hex, base58 and bech32), so that any
    otherwise valid address of any chain can carry any test card."""
    if scenario_for(address) is Scenario.NORMAL:
        return address
    return address[:-4] + "aaaa"
