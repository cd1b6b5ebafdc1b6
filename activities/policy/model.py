"""What a policy file may say, as pydantic models: one `AccountRules` per ledger sub-account,
each group (approval, limits, recipients, screening) inherited from `[default]` unless the
sub-account's own section names it.

Amounts are `Decimal` per currency (the file is parsed with exact decimals); unknown keys are
errors, so a misspelt rule never silently does nothing.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from activities.ledger.models import SpendingLimit
from calypso.currencies import CURRENCIES

PositiveAmount = Annotated[Decimal, Field(gt=0)]
PerCurrency = dict[str, PositiveAmount]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_currencies(amounts: PerCurrency) -> PerCurrency:
    unknown = sorted(set(amounts) - set(CURRENCIES))
    if unknown:
        raise ValueError(f"unknown currency {', '.join(unknown)}")
    return amounts


class ApprovalRules(Strict):
    """When a payout waits for people, and how long it may wait."""

    always: bool = False
    # An amount (a mass payout's total) above this, per currency, needs one approver ...
    above: PerCurrency = Field(default_factory=dict)
    # ... and above this, two different ones.
    second_approver_above: PerCurrency = Field(default_factory=dict)
    new_recipient: bool = False  # an address this sub-account has never paid
    execution_date_beyond_days: int | None = Field(default=None, ge=0)
    expires_after_hours: float = Field(default=72.0, gt=0)

    _currencies = field_validator("above", "second_approver_above")(_known_currencies)

    @property
    def expires_after(self) -> timedelta:
        return timedelta(hours=self.expires_after_hours)


class WindowLimit(Strict):
    """At most `max` of `currency` reserved or paid from the sub-account in any `hours`."""

    currency: str
    hours: float = Field(gt=0)
    max: PositiveAmount

    @field_validator("currency")
    @classmethod
    def _known(cls, currency: str) -> str:
        if currency not in CURRENCIES:
            raise ValueError(f"unknown currency {currency}")
        return currency

    @property
    def name(self) -> str:
        hours = self.hours
        if hours % 24 == 0:
            return f"{int(hours // 24)}d"
        return f"{hours:g}h"

    def as_ledger_limit(self) -> SpendingLimit:
        return SpendingLimit(
            name=self.name, window_seconds=int(self.hours * 3600), max_amount=self.max
        )


class LimitRules(Strict):
    per_payout: PerCurrency = Field(default_factory=dict)  # one payout, or one mass item
    window: list[WindowLimit] = Field(default_factory=list)
    # Over a limit: the saga ends REJECTED, or waits for approval instead.
    over_limit: Literal["reject", "approval"] = "reject"

    _currencies = field_validator("per_payout")(_known_currencies)

    def windows_for(self, currency: str) -> list[WindowLimit]:
        return [limit for limit in self.window if limit.currency == currency]


class RecipientRules(Strict):
    """`allow_list`: only `allow` may be paid; `any`: anyone but `deny`. Deny always wins."""

    mode: Literal["any", "allow_list"] = "any"
    allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _allow_list_needs_entries(self) -> RecipientRules:
        if self.mode == "allow_list" and not self.allow:
            raise ValueError("mode allow_list needs at least one address in allow")
        return self

    def refusal(self, address: str) -> str | None:
        """Why `address` may not be paid; None when it may."""
        if address in self.deny:
            return "recipient is on the deny list"
        if self.mode == "allow_list" and address not in self.allow:
            return "recipient is not on the allow list"
        return None


class ScreeningRules(Strict):
    """A signed POST to a screening endpoint before anything is sent (docs/screening.md)."""

    url: str = Field(pattern=r"^https?://")
    secret_env: str = Field(default="PAYOUTS_SCREENING_SECRET", min_length=1)
    # Each POST's limit; under the activity's heartbeat timeout (2 min) with room to spare.
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    chunk_size: int = Field(default=500, ge=1, le=5000)
    # A mass payout with denied items: the rest proceed, or the whole list waits for approval
    # (the denied items end REJECTED either way).
    list_with_denied: Literal["proceed", "approval"] = "proceed"


class AccountRules(Strict):
    approval: ApprovalRules = Field(default_factory=ApprovalRules)
    limits: LimitRules = Field(default_factory=LimitRules)
    recipients: RecipientRules = Field(default_factory=RecipientRules)
    screening: ScreeningRules | None = None


class AccountSection(Strict):
    """A sub-account's section: only the groups it names replace the default's."""

    approval: ApprovalRules | None = None
    limits: LimitRules | None = None
    recipients: RecipientRules | None = None
    screening: ScreeningRules | None = None


class Policy(Strict):
    version: str | None = Field(default=None, min_length=1)  # None: a hash of the file
    default: AccountRules = Field(default_factory=AccountRules)
    accounts: dict[str, AccountSection] = Field(default_factory=dict)

    def rules_for(self, sub_account: str) -> AccountRules:
        section = self.accounts.get(sub_account)
        if section is None:
            return self.default
        named = {name: value for name, value in section if value is not None}
        return self.default.model_copy(update=named)

    @property
    def every_rules(self) -> list[AccountRules]:
        return [self.default, *(self.rules_for(name) for name in self.accounts)]

    @property
    def uses_paid_history(self) -> bool:
        """Whether a rule asks the ledger whom a sub-account has paid before."""
        return any(rules.approval.new_recipient for rules in self.every_rules)

    @property
    def uses_window_limits(self) -> bool:
        return any(rules.limits.window for rules in self.every_rules)


NO_POLICY = Policy(version="none")
