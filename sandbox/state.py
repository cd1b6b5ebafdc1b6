"""Everything the sandbox holds in memory, and the one `reset()` that clears it to defaults.

Only ever touched from the server's event loop, so no locks: handlers and the engine
interleave at `await` points only, and every mutation here is synchronous."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox import money
from sandbox.clock import VirtualClock
from sandbox.currencies import CURRENCIES, Currency
from sandbox.faults import Faults
from sandbox.rate_limit import RateLimit
from sandbox.records import Deal, DealKind, Subscription, Withdrawal
from sandbox.settings import SandboxSettings

# Logs are for inspection, not an archive: a long demo must not grow memory without bound.
LOG_LIMIT = 10_000
FIRST_ID = 100_001
DEFAULT_FEE_PERCENT = Decimal("0.5")


@dataclass
class RuntimeConfig:
    step_delay_seconds: float
    verification: bool
    webhook_time_scale: float
    item_limits: dict[str, int]


@dataclass
class Tariff:
    percent: Decimal
    fixed: Decimal


class SandboxState:
    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.clock = VirtualClock()
        self.faults = Faults()
        self.rate = RateLimit()
        # Ids keep counting across resets so a client still polling an old id never finds
        # a different payout under it.
        self._last_id = FIRST_ID - 1
        self.reset()

    def reset(self) -> None:
        self.config = RuntimeConfig(
            step_delay_seconds=self.settings.step_delay_seconds,
            verification=self.settings.verification,
            webhook_time_scale=self.settings.webhook_time_scale,
            item_limits={code: c.default_item_limit for code, c in CURRENCIES.items()},
        )
        self.tariffs = {code: Tariff(DEFAULT_FEE_PERCENT, Decimal(0)) for code in CURRENCIES}
        self._balances: dict[str, dict[str, Decimal]] = {}
        self.deals: dict[str, Deal] = {}
        self.withdrawals: dict[str, Withdrawal] = {}
        self._deal_by_key: dict[tuple[str, str], Deal] = {}
        self._scheduled: dict[str, Deal] = {}
        self.subscriptions: dict[str, Subscription] = {}
        # Addresses the `f1a1` test card has already failed once; the next payment goes through.
        self.failed_once: set[str] = set()
        self.request_log: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self.webhook_log: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self.clock.reset()
        self.faults.reset()
        self.rate.set_limit(None)

    def new_id(self) -> str:
        self._last_id += 1
        return str(self._last_id)

    # --- balances and fees -------------------------------------------------------------
    def balances_of(self, account: str) -> dict[str, Decimal]:
        if account not in self._balances:
            self._balances[account] = {code: self.settings.initial_balance for code in CURRENCIES}
        return self._balances[account]

    def set_balance(self, account: str, currency: Currency, amount: Decimal) -> None:
        self.balances_of(account)[currency.code] = amount

    def change_balance(self, account: str, currency: Currency, delta: Decimal) -> None:
        balances = self.balances_of(account)
        balances[currency.code] = money.add(balances[currency.code], delta)

    def fee_for(self, currency: Currency, amount: Decimal) -> Decimal:
        tariff = self.tariffs[currency.code]
        return money.fee_for(amount, tariff.percent, tariff.fixed, currency.scale)

    # --- deals -------------------------------------------------------------------------
    def idempotency_key_taken(self, account: str, key: str) -> bool:
        return (account, key) in self._deal_by_key

    def add_deal(self, deal: Deal) -> None:
        self.deals[deal.id] = deal
        for item in deal.withdrawals:
            self.withdrawals[item.id] = item
        if deal.idempotency_key:
            self._deal_by_key[(deal.account, deal.idempotency_key)] = deal

    def find_deal(
        self, account: str, kind: DealKind | None, deal_id: str | None, key: str | None
    ) -> Deal | None:
        """Look a deal up by id, else by idempotencyKey; a deal of the other kind is absent."""
        if deal_id is not None:
            deal = self.deals.get(deal_id)
        elif key is not None:
            deal = self._deal_by_key.get((account, key))
        else:
            deal = None
        if deal is None or deal.account != account or (kind and deal.kind is not kind):
            return None
        return deal

    def deals_of(self, account: str, kind: DealKind) -> list[Deal]:
        return [d for d in self.deals.values() if d.account == account and d.kind is kind]

    def schedule(self, deal: Deal, at: float | None) -> None:
        """Set when the engine next moves this deal (None: nothing until someone acts)."""
        deal.next_step_at = at
        if at is None:
            self._scheduled.pop(deal.id, None)
        else:
            self._scheduled[deal.id] = deal

    def scheduled_deals(self) -> list[Deal]:
        # Indexed separately so the engine never scans finished payouts.
        return list(self._scheduled.values())
