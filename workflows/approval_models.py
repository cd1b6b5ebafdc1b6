"""The approval step's updates (`approve`, `deny`) and what the status shows of it.
Imports no other saga model: the status models of both sagas include `ApprovalStatus`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class ApproveInput(BaseModel):
    by: str = Field(min_length=1)
    comment: str | None = None


class DenyInput(BaseModel):
    by: str = Field(min_length=1)
    reason: str = Field(min_length=1)


class ApprovalDecision(BaseModel):
    decision: Literal["approved", "denied"]
    by: str
    at: datetime
    note: str | None = None


class ApprovalResult(BaseModel):
    accepted: bool
    state: str  # the saga's state when the decision was taken
    message: str


class ApprovalStatus(BaseModel):
    """What the payout waits for (or waited for): approvers needed, why, until when, and the
    decisions so far."""

    approvers: int
    reasons: list[str]
    expires_at: datetime
    decisions: list[ApprovalDecision] = Field(default_factory=list)
    requested_by: str | None = None
