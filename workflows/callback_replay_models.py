"""Input and result of the callback replay workflow (`workflows/callback_replay.py`).

The input is the activities' `CallbackSelection`: event ids, a payout key, undelivered only.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.callback_outbox import RedeliveryOutcome
    from activities.callback_store import CallbackSelection

__all__ = ["CallbackReplayReport", "CallbackSelection", "RedeliveryOutcome"]

REPLAY_WORKFLOW_PREFIX = "callback-replay-"  # + a fresh UUID: every replay is its own run


class CallbackReplayReport(BaseModel):
    """What a replay did: one outcome per event sent, oldest first."""

    outcomes: list[RedeliveryOutcome] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)  # named event ids the store does not have
    more: bool = False  # more events matched than the selection's limit: run it again

    @property
    def delivered(self) -> list[str]:
        return [outcome.event_id for outcome in self.outcomes if outcome.delivered]

    @property
    def complete(self) -> bool:
        """Every event named or matched was delivered."""
        return not self.missing and not self.more and all(o.delivered for o in self.outcomes)
