"""The running totals of a mass payout: every deal's state, item counts by state, amounts paid,
failed, released and in fees, provider deals sent, items a cancel came too late for.

Carried into the next run when the saga continues as new (`MassResume`).
Deterministic: runs in workflows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.mass_models import (
        DealResult,
        DealSummary,
        ItemOutcome,
        ItemState,
        MassResume,
    )
    from workflows.payout_models import TimelineEntry


class MassTally:
    def __init__(self, deals: list[DealSummary], items: int) -> None:
        self.deals = deals
        self.counts: Counter[ItemState] = Counter({ItemState.PENDING: items})
        self.amounts: defaultdict[str, Decimal] = defaultdict(Decimal)
        self.sent = 0  # provider deals created, resends included
        self.not_cancelable: list[int] = []
        self.refused: set[int] = set()  # items the controls refused: never sent to the provider

    @classmethod
    def resumed(cls, resume: MassResume) -> MassTally:
        tally = cls(resume.deals, 0)
        tally.counts = Counter(resume.counts)
        tally.amounts.update(resume.amounts)
        tally.sent = resume.sent
        tally.not_cancelable = resume.not_cancelable
        tally.refused = set(resume.refused)
        return tally

    def resume(self, timeline: list[TimelineEntry]) -> MassResume:
        return MassResume(
            deals=self.deals,
            counts=dict(self.counts),
            amounts=dict(self.amounts),
            sent=self.sent,
            not_cancelable=self.not_cancelable,
            timeline=timeline,
            refused=sorted(self.refused),
        )

    @property
    def pending_deals(self) -> list[DealSummary]:
        return [deal for deal in self.deals if deal.state == "PENDING"]

    def record(self, deal: DealSummary, result: DealResult) -> None:
        """A deal has ended: its state, its attempts and each item's outcome."""
        deal.state, deal.attempts = result.state, len(result.attempts)
        self.sent += sum(1 for attempt in result.attempts if attempt.provider_id)
        for outcome in result.outcomes:
            self.count(outcome)
        if result.cancel_refused:
            self.not_cancelable += [
                o.index for o in result.outcomes if o.state != ItemState.CANCELED
            ]

    def refuse(self, outcome: ItemOutcome, *, reserved: bool) -> None:
        """An item the controls refused before anything was sent (REJECTED)."""
        self.refused.add(outcome.index)
        self.count(outcome, reserved=reserved)

    def count(self, outcome: ItemOutcome, *, reserved: bool = True) -> None:
        """One item's end. An unpaid item's amount counts as released only if it had been
        `reserved`: after a refused reservation, the items it never reached had nothing held."""
        self.counts[ItemState.PENDING] -= 1
        self.counts[outcome.state] += 1
        if outcome.state == ItemState.COMPLETED:
            self.amounts["paid"] += outcome.amount
            self.amounts["fees"] += outcome.fee or Decimal(0)
        else:
            if reserved:
                self.amounts["released"] += outcome.amount
            if outcome.state == ItemState.FAILED:
                self.amounts["failed"] += outcome.amount
