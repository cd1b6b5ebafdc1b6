"""What the admission step takes and returns (`activities/admission.py`): the policy's verdict on
a payout or one batch of a mass payout's items, with the reservations it made.
Shared by activities and workflows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from activities.policy.model import ScreeningRules


class AdmitItem(BaseModel):
    index: int  # 0 for a single payout; the item's position in a mass payout's list
    ledger_key: str
    address: str
    amount: Decimal


class AdmitInput(BaseModel):
    kind: Literal["single", "mass"]
    payout_key: str
    sub_account: str
    currency: str
    total: Decimal  # the payout's amount, or the whole list's total (thresholds apply to it)
    item_count: int  # the whole list's, not this batch's
    execution_date: datetime | None = None
    items: list[AdmitItem]  # this batch


class ApprovalNeed(BaseModel):
    approvers: int = Field(ge=1, le=2)
    reasons: list[str]
    expires_after_seconds: float

    def merged(self, other: ApprovalNeed | None) -> ApprovalNeed:
        if other is None:
            return self
        reasons = self.reasons + [r for r in other.reasons if r not in self.reasons]
        return ApprovalNeed(
            approvers=max(self.approvers, other.approvers),
            reasons=reasons,
            expires_after_seconds=min(self.expires_after_seconds, other.expires_after_seconds),
        )


class Admission(BaseModel):
    """`rejected`: the whole payout may not proceed (nothing of this batch stays reserved).
    Otherwise every item of the batch is reserved except `denied` (index → why), and the
    payout waits for `approval` (None: it need not) after `screening` (None: no hook)."""

    policy_version: str
    rejected: str | None = None
    denied: dict[int, str] = Field(default_factory=dict)
    approval: ApprovalNeed | None = None
    approval_expires_after_seconds: float = 72 * 3600.0  # also for a screening review
    screening: ScreeningRules | None = None
